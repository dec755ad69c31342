"""Export decks as an Anki package (.apkg) with genanki.

Every id is derived from a vlearn id: the note GUID from the card id, the
Anki deck id from the deck id, one fixed note type. Re-importing a newer
export into Anki therefore updates the learner's notes in place instead of
adding duplicates. Card text is Markdown; Anki shows HTML, so it is rendered
with markdown-it (already installed with rich/textual).
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import genanki
from markdown_it import MarkdownIt

from .content import Catalog

# Fixed forever: changing it would make Anki treat every note as a new type.
MODEL_ID = 1_734_915_210_433

CSS = """
.card { font-family: sans-serif; font-size: 18px; text-align: left; color: #222; background: #fff; }
pre { background: #f4f4f4; padding: 8px; border-radius: 4px; overflow-x: auto; }
code { font-family: "JetBrains Mono", Menlo, Consolas, monospace; font-size: 15px; }
.src { margin-top: 1.2em; font-size: 13px; color: #777; }
"""

MODEL = genanki.Model(
    MODEL_ID,
    "vlearn card",
    fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Source"}, {"name": "CardId"}],
    templates=[{
        "name": "Card 1",
        "qfmt": "{{Front}}",
        "afmt": '{{FrontSide}}<hr id="answer">{{Back}}<div class="src">{{Source}} · {{CardId}}</div>',
    }],
    css=CSS,
)

_md = MarkdownIt("commonmark", {"html": False}).enable("table")


def html(markdown: str) -> str:
    return _md.render(markdown).strip()


def deck_id(deck: str) -> int:
    """A stable positive 63-bit Anki deck id for a vlearn deck id."""
    return int.from_bytes(hashlib.blake2b(f"vlearn-deck:{deck}".encode(), digest_size=8).digest(), "big") >> 1


def guid(card_id: str) -> str:
    return genanki.guid_for(card_id)


def build_package(catalog: Catalog, decks: list[str] | None = None) -> genanki.Package:
    chosen = decks or list(catalog.decks)
    anki_decks = []
    for name in chosen:
        deck = catalog.decks[name]
        anki = genanki.Deck(deck_id(deck.id), f"vlearn::{deck.title}")
        for card_id in deck.cards:
            card = catalog.cards[card_id]
            anki.add_note(genanki.Note(
                model=MODEL,
                fields=[html(card.front), html(card.back), card.source, card.id],
                tags=[*card.tags, f"vlearn::{deck.id}"],
                guid=guid(card.id),
            ))
        anki_decks.append(anki)
    return genanki.Package(anki_decks)


def export_apkg(catalog: Catalog, path: Path | str, decks: list[str] | None = None) -> int:
    """Write the package; returns how many notes (one per card) it holds."""
    package = build_package(catalog, decks)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    package.write_to_file(str(path))
    return sum(len(d.notes) for d in package.decks)
