"""Flashcard decks: flashcards/<deck>.yaml -> Catalog.decks and Catalog.cards.

A deck file holds `id`, `title` and `cards`; each card has `id`, `front`,
`back` (Markdown), `tags` and `source` (the lesson the fact comes from).
Tags must name at least one rubric component; extra topic tags are allowed
(plan days may unlock cards by tag). Card ids are stable forever: the
learner's review history is keyed by them, so they are unique across decks.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from .base import Fields, LineDict, LoadContext, add_unique
from .curriculum import extract_links
from .vocab import COMPONENTS, LINK_SCHEMES

ORDER = 30

ID_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
TAG_RE = re.compile(r"[a-z0-9][a-z0-9_-]*")


@dataclass
class Card:
    id: str
    deck: str
    front: str
    back: str
    tags: list[str]
    source: str
    origin: str
    line: int = 0

    @property
    def components(self) -> list[str]:
        return [t for t in self.tags if t in COMPONENTS]


@dataclass
class Deck:
    id: str
    title: str
    path: Path
    origin: str
    cards: list[str] = field(default_factory=list)  # card ids, file order


def _build_card(f: Fields, deck: str) -> Card | None:
    ident = f.str("id")
    if ident is not None and not ID_RE.fullmatch(ident):
        f.error("id", f"card id {ident!r} must be lower-case letters, digits, '.', '_' or '-'")
    front, back = f.str("front"), f.str("back")
    for key, text in (("front", front), ("back", back)):
        if text is not None and not text.strip():
            f.error(key, f"'{key}' is empty")
    tags = f.str_list("tags")
    if "tags" in f.data:
        bad = [t for t in tags if not TAG_RE.fullmatch(t)]
        if bad:
            f.error("tags", f"tags must be lower-case slugs, not {', '.join(map(repr, bad))}")
        elif not any(t in COMPONENTS for t in tags):
            f.error("tags", f"tags must include a rubric component ({', '.join(COMPONENTS)})")
    return Card(
        id=ident,
        deck=deck,
        front=(front or "").strip(),
        back=(back or "").strip(),
        tags=list(dict.fromkeys(tags)),
        source=f.str("source"),
        origin=f"{f.source.rel}:{f.data.line_of('id')}",
        line=f.data.line_of("id"),
    )


def _load_deck(ctx: LoadContext, path: Path) -> None:
    src = ctx.source(path)
    data = src.read_mapping()
    if data is None:
        return  # a YAML error is already reported at its line; other decks still load
    f = Fields(src, data, "deck")
    deck = Deck(id=f.str("id"), title=f.str("title"), path=path, origin=f"{src.rel}:{data.line_of('id')}")
    cards = f.list("cards")
    if f.failed:
        return
    if deck.id != path.stem:
        src.warning(data.line_of("id"), f"deck id '{deck.id}' differs from its file name '{path.stem}'")
    if not add_unique(ctx.catalog.decks, deck, src, data.line_of("id"), "deck"):
        return
    for raw in cards:
        if not isinstance(raw, LineDict):
            src.error(getattr(cards, "line", data.line_of("cards")), "each card must be a mapping")
            continue
        cf = Fields(src, raw, f"card {raw.get('id', '?')}")
        card = _build_card(cf, deck.id)
        if cf.failed:
            continue
        if add_unique(ctx.catalog.cards, card, src, raw.line_of("id"), "card"):
            deck.cards.append(card.id)
    if not deck.cards:
        src.warning(data.line, f"deck '{deck.id}' has no cards")


def load(ctx: LoadContext) -> None:
    for path in ctx.files("flashcards", "*.yaml") + ctx.files("flashcards", "*.yml"):
        if not path.name.startswith("."):  # editors' lock and swap files
            _load_deck(ctx, path)


def check(ctx: LoadContext) -> None:
    """Sources must be lessons; links inside cards must resolve (warnings)."""
    catalog = ctx.catalog
    for card in catalog.cards.values():
        src = ctx.source(catalog.decks[card.deck].path)
        if card.source not in catalog.lessons:
            src.warning(card.line, f"card {card.id}: source lesson '{card.source}' is unknown")
        for text in (card.front, card.back):
            for link in extract_links(text, card.line):
                scheme, sep, ident = link.target.partition(":")
                if sep and scheme in LINK_SCHEMES and catalog.resolve(scheme, ident) is None:
                    src.warning(card.line, f"card {card.id}: link to unknown {scheme} '{ident}'")
