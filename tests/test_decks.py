"""Deck loading: fields, tags, duplicate ids, broken YAML at its line."""
from __future__ import annotations

import shutil
from pathlib import Path

from tui.core.content import load_catalog
from tui.core.content.vocab import COMPONENTS

FIXTURE = Path(__file__).parent / "fixtures" / "decks"


def content(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    return root


def test_fixture_decks_load_cleanly():
    catalog = load_catalog(FIXTURE)
    assert catalog.problems == []
    assert list(catalog.decks) == ["alpha", "beta", "gamma"]
    assert catalog.decks["alpha"].cards == ["alpha-1", "alpha-2", "alpha-3"]
    card = catalog.cards["alpha-2"]
    assert card.deck == "alpha" and card.source == "m01-one"
    assert card.tags == ["scheduler", "python"]  # a free topic tag beside the component
    assert card.components == ["scheduler"]
    assert "```python" in card.front
    assert card.origin == "flashcards/alpha.yaml:9"


def test_yaml_error_reported_at_its_line_and_other_decks_load(tmp_path):
    root = content(tmp_path)
    (root / "flashcards" / "broken.yaml").write_text(
        "id: broken\ntitle: Broken\ncards:\n  - id: b-1\n    front: [unclosed\n    back: x\n",
        encoding="utf-8",
    )
    catalog = load_catalog(root)
    errors = [p for p in catalog.errors if p.path == "flashcards/broken.yaml"]
    assert len(errors) == 1
    assert errors[0].line == 5 and "YAML error" in errors[0].message
    assert set(catalog.decks) == {"alpha", "beta", "gamma"}
    assert len(catalog.cards) == 7


def test_duplicate_card_ids_across_decks_are_errors(tmp_path):
    root = content(tmp_path)
    (root / "flashcards" / "zeta.yaml").write_text(
        "id: zeta\ntitle: Zeta\ncards:\n"
        "  - {id: zeta-1, front: Q, back: A, tags: [scheduler], source: m01-one}\n"
        "  - {id: alpha-1, front: Q, back: A, tags: [scheduler], source: m01-one}\n",
        encoding="utf-8",
    )
    catalog = load_catalog(root)
    (dup,) = [p for p in catalog.errors if "duplicate card id" in p.message]
    assert str(dup).startswith("flashcards/zeta.yaml:5:")
    assert "flashcards/alpha.yaml:4" in dup.message  # where the first one lives
    assert catalog.cards["alpha-1"].deck == "alpha"
    assert catalog.decks["zeta"].cards == ["zeta-1"]


def test_card_field_problems_skip_the_card_only(tmp_path):
    root = content(tmp_path)
    (root / "flashcards" / "bad.yaml").write_text(
        "id: bad\ntitle: Bad\ncards:\n"
        "  - {id: bad-1, front: Q, back: A, tags: [python], source: m01-one}\n"
        "  - {id: bad-2, front: Q, tags: [scheduler], source: m01-one}\n"
        "  - {id: Bad_3, front: Q, back: A, tags: [scheduler], source: m01-one}\n"
        "  - {id: bad-4, front: Q, back: A, tags: [scheduler], source: m99-nowhere}\n"
        "  - {id: bad-5, front: Q, back: '   ', tags: [scheduler], source: m01-one}\n",
        encoding="utf-8",
    )
    catalog = load_catalog(root)
    by_line = {p.line: p for p in catalog.problems if p.path == "flashcards/bad.yaml"}
    assert "rubric component" in by_line[4].message and by_line[4].severity == "error"
    assert "missing field 'back'" in by_line[5].message
    assert "lower-case" in by_line[6].message
    assert by_line[7].severity == "warning" and "m99-nowhere" in by_line[7].message
    assert "'back' is empty" in by_line[8].message
    assert catalog.decks["bad"].cards == ["bad-4"]  # unknown source warns, the card still loads


def test_plan_can_unlock_by_tag_without_warning():
    catalog = load_catalog(FIXTURE)
    assert "quantization" in catalog.card_tags()
    assert not [p for p in catalog.problems if "quantization" in p.message]


def test_repository_decks_are_valid(catalog):
    """The real flashcards/: no errors, every card tagged with a component."""
    errors = [str(p) for p in catalog.errors if p.path.startswith("flashcards/")]
    assert errors == []
    for card in catalog.cards.values():
        assert set(card.tags) & set(COMPONENTS), card.id
        assert card.front.strip() and card.back.strip(), card.id
