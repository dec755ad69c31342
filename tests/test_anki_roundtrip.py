"""Anki round trips that respect the learner: what the export promises, and
(with the real Anki backend, `pip install anki`) what Anki does with it.

The real-backend test imports with Anki's defaults (update notes if newer):
twice (no duplicates, nothing changed), after a content edit (that note
updates), and after the learner edited a note in Anki (re-importing unchanged
content keeps the edit and the added tag)."""
from __future__ import annotations

import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest

from tui.core import anki
from tui.core.content import load_catalog

FIXTURE = Path(__file__).parent / "fixtures" / "decks"


def _notes(apkg: Path, into: Path) -> dict:
    with zipfile.ZipFile(apkg) as z:
        z.extract("collection.anki2", into)
    conn = sqlite3.connect(into / "collection.anki2")
    try:
        notes = {g: (m, f, t) for g, m, f, t in conn.execute("select guid, mod, flds, tags from notes")}
        decks = conn.execute("select decks from col").fetchone()[0]
        return notes, decks
    finally:
        conn.close()


def _edited_copy(tmp_path: Path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    deck = root / "flashcards" / "alpha.yaml"
    deck.write_text(deck.read_text().replace("What is one?", "What is one, exactly?"))
    return root


def test_note_times_are_fixed_per_content_version(db, tmp_path):
    catalog = load_catalog(FIXTURE)
    anki.export_apkg(catalog, tmp_path / "a.apkg", db=db, now=1_000)
    first, decks = _notes(tmp_path / "a.apkg", tmp_path / "a")
    assert {m for m, _, _ in first.values()} == {1_000}
    anki.export_apkg(catalog, tmp_path / "b.apkg", db=db, now=2_000)
    assert _notes(tmp_path / "b.apkg", tmp_path / "b")[0] == first  # unchanged: same mod, same text

    edited = load_catalog(_edited_copy(tmp_path))
    anki.export_apkg(edited, tmp_path / "c.apkg", db=db, now=3_000)
    third, _ = _notes(tmp_path / "c.apkg", tmp_path / "c")
    changed = anki.guid("alpha-1")
    assert third[changed][0] == 3_000 and "exactly" in third[changed][1]
    assert all(third[g] == first[g] for g in first if g != changed)
    # A clock that went backwards still stamps the new version later than the old.
    anki.export_apkg(catalog, tmp_path / "d.apkg", db=db, now=500)
    assert _notes(tmp_path / "d.apkg", tmp_path / "d")[0][changed][0] == 3_001


def test_decks_named_by_id_tags_under_vlearn_code_highlighted(db, tmp_path):
    catalog = load_catalog(FIXTURE)
    anki.export_apkg(catalog, tmp_path / "a.apkg", db=db)
    notes, decks = _notes(tmp_path / "a.apkg", tmp_path / "a")
    for deck_id in catalog.decks:
        assert f'"name": "vlearn::{deck_id}"' in decks
    for _, _, tags in notes.values():
        assert tags.split() and all(t.startswith("vlearn::") for t in tags.split())
    front = notes[anki.guid("alpha-2")][1]
    assert '<pre class="highlight"><code class="language-python"><span class="nb">print</span>' in front
    assert ".nightMode" in anki.CSS and ".night_mode" in anki.CSS
    assert ".card .highlight .nb" in anki.CSS and ".nightMode .highlight .nb" in anki.CSS


@pytest.mark.slow
def test_real_anki_import_keeps_the_learners_edits(db, tmp_path):
    collection = pytest.importorskip("anki.collection", reason="the anki package is not installed")
    from anki.import_export_pb2 import IMPORT_ANKI_PACKAGE_UPDATE_CONDITION_IF_NEWER as if_newer  # the default

    catalog = load_catalog(FIXTURE)
    (tmp_path / "user").mkdir()
    col = collection.Collection(str(tmp_path / "user" / "collection.anki2"))

    def import_(path: Path):
        request = collection.ImportAnkiPackageRequest(
            package_path=str(path),
            options=collection.ImportAnkiPackageOptions(
                update_notes=if_newer, update_notetypes=if_newer, with_scheduling=False, merge_notetypes=False),
        )
        return col.import_anki_package(request)

    def note(card_id: str):
        return col.get_note(col.find_notes(f"CardId:{card_id}")[0])

    try:
        anki.export_apkg(catalog, tmp_path / "1.apkg", db=db, now=1_700_000_000)
        import_(tmp_path / "1.apkg")
        assert col.note_count() == len(catalog.cards)
        assert sorted(d.name for d in col.decks.all_names_and_ids() if d.name.startswith("vlearn")) == \
            sorted(["vlearn", *(f"vlearn::{d}" for d in catalog.decks)])

        # Import twice: no duplicates.
        anki.export_apkg(catalog, tmp_path / "2.apkg", db=db, now=1_700_000_100)
        import_(tmp_path / "2.apkg")
        assert col.note_count() == len(catalog.cards)

        # The learner edits a note in Anki: a line and a tag of their own.
        mine = note("alpha-2")
        mine["Back"] += "<br>my own mnemonic"
        mine.tags.append("my-tag")
        col.update_note(mine)

        # Re-importing unchanged content keeps both.
        anki.export_apkg(catalog, tmp_path / "3.apkg", db=db, now=1_700_000_200)
        import_(tmp_path / "3.apkg")
        kept = note("alpha-2")
        assert "my own mnemonic" in kept["Back"] and "my-tag" in kept.tags
        assert col.note_count() == len(catalog.cards)

        # An edited card updates (its version is newer than anything in Anki).
        edited = load_catalog(_edited_copy(tmp_path))
        anki.export_apkg(edited, tmp_path / "4.apkg", db=db, now=int(kept.mod) + 10)
        import_(tmp_path / "4.apkg")
        assert "exactly" in note("alpha-1")["Front"]
        assert "my own mnemonic" in note("alpha-2")["Back"]  # untouched card: still the learner's
        assert col.note_count() == len(catalog.cards)
    finally:
        col.close()
