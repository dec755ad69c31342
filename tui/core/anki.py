"""Export decks as an Anki package (.apkg) with genanki.

Round trips that respect the learner's own edits in Anki:
- Every id is derived from a vlearn id: the note GUID from the card id, one
  fixed note type. Decks are named by their stable id (`vlearn::<deck id>`, the
  title goes in the description), because Anki matches decks by name: renaming
  a deck's title must not leave an empty deck behind.
- A note's modification time is fixed per content version of its card
  (table `anki_notes`): Anki updates a note on import only when the incoming
  one is newer, so re-importing unchanged content changes nothing (an added
  line or tag survives), and an edited card, stamped later, updates.
- Every tag sits under `vlearn::` (`vlearn::deck::<id>`, `vlearn::component::<tag>`),
  so vlearn's tags never mix with the learner's.
- Card text is Markdown rendered to HTML with markdown-it; code blocks are
  highlighted by Pygments into CSS classes, with a light and a night-mode palette.
"""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import genanki
from markdown_it import MarkdownIt

from .content import Catalog

# Fixed forever: changing it would make Anki treat every note as a new type.
MODEL_ID = 1_734_915_210_433

LIGHT_STYLE = "default"
NIGHT_STYLE = "monokai"


def _code_css() -> str:
    from pygments.formatters import HtmlFormatter

    light = HtmlFormatter(style=LIGHT_STYLE).get_style_defs(".card .highlight")
    night = HtmlFormatter(style=NIGHT_STYLE).get_style_defs(
        [".nightMode .highlight", ".night_mode .highlight", ".card.nightMode .highlight"])
    return light + "\n" + night


CSS = """
.card { font-family: sans-serif; font-size: 18px; text-align: left; color: #222; background: #fff; }
pre { background: #f4f4f4; padding: 8px; border-radius: 4px; overflow-x: auto; }
code { font-family: "JetBrains Mono", Menlo, Consolas, monospace; font-size: 15px; }
.src { margin-top: 1.2em; font-size: 13px; color: #777; }
/* Anki's night mode puts nightMode (night_mode before 2.1.50) on the card. */
.card.nightMode, .nightMode .card, .night_mode .card { color: #ddd; background: #1e1e1e; }
.nightMode pre, .night_mode pre { background: #272822; }
.nightMode .src, .night_mode .src { color: #999; }
""" + _code_css()

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


def _highlight(code: str, lang: str, _attrs) -> str:
    from html import escape

    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import get_lexer_by_name
    from pygments.util import ClassNotFound

    try:
        lexer = get_lexer_by_name(lang) if lang else None
    except ClassNotFound:
        lexer = None
    body = highlight(code, lexer, HtmlFormatter(nowrap=True)) if lexer else escape(code)
    cls = f' class="language-{escape(lang)}"' if lang else ""
    return f'<pre class="highlight"><code{cls}>{body}</code></pre>\n'


_md = MarkdownIt("commonmark", {"html": False, "highlight": _highlight}).enable("table")


def html(markdown: str) -> str:
    return _md.render(markdown).strip()


def deck_id(deck: str) -> int:
    """A stable positive 63-bit Anki deck id for a vlearn deck id."""
    return int.from_bytes(hashlib.blake2b(f"vlearn-deck:{deck}".encode(), digest_size=8).digest(), "big") >> 1


def deck_name(deck: str) -> str:
    return f"vlearn::{deck}"


def guid(card_id: str) -> str:
    return genanki.guid_for(card_id)


def tags_for(card, deck) -> list[str]:
    return [f"vlearn::deck::{deck.id}", *(f"vlearn::component::{t}" for t in card.tags)]


class _Note(genanki.Note):
    """A note whose modification time is its content version's, not the export's."""

    mod: int = 0

    def write_to_db(self, cursor, timestamp, deck_id, id_gen):
        return super().write_to_db(cursor, self.mod or timestamp, deck_id, id_gen)


def _digest(fields: list[str], tags: list[str], deck: str) -> str:
    return hashlib.sha1("\x1f".join([*fields, " ".join(tags), deck]).encode()).hexdigest()


def note_times(db, digests: dict[str, str], now: int | None = None) -> dict[str, int]:
    """card id -> note mod time: the stored one while the digest is unchanged, else
    a new one later than any before (recorded). Without a db: now, for every card."""
    now = int(now if now is not None else time.time())
    if db is None:
        return dict.fromkeys(digests, now)
    known = {cid: (d, m) for cid, d, m in db.execute("select card_id, digest, mod from anki_notes")}
    times, changed = {}, []
    for card_id, digest in digests.items():
        old = known.get(card_id)
        if old and old[0] == digest:
            times[card_id] = old[1]
        else:
            times[card_id] = max(now, old[1] + 1) if old else now
            changed.append({"card_id": card_id, "digest": digest, "mod": times[card_id]})
    if changed:
        with db.atomic():
            db["anki_notes"].upsert_all(changed, pk="card_id")
    return times


def build_package(catalog: Catalog, decks: list[str] | None = None, db=None,
                  now: int | None = None) -> genanki.Package:
    chosen = decks or list(catalog.decks)
    planned = []
    for name in chosen:
        deck = catalog.decks[name]
        for card_id in deck.cards:
            card = catalog.cards[card_id]
            fields = [html(card.front), html(card.back), card.source, card.id]
            tags = tags_for(card, deck)
            planned.append((deck, card, fields, tags))
    times = note_times(db, {c.id: _digest(f, t, d.id) for d, c, f, t in planned}, now)
    anki_decks = {}
    for deck, card, fields, tags in planned:
        if deck.id not in anki_decks:
            anki_decks[deck.id] = genanki.Deck(deck_id(deck.id), deck_name(deck.id), description=deck.title)
        note = _Note(model=MODEL, fields=fields, tags=tags, guid=guid(card.id))
        note.mod = times[card.id]
        anki_decks[deck.id].add_note(note)
    for name in chosen:  # an empty deck still appears, as before
        anki_decks.setdefault(name, genanki.Deck(deck_id(name), deck_name(name),
                                                 description=catalog.decks[name].title))
    return genanki.Package([anki_decks[n] for n in chosen])


def export_apkg(catalog: Catalog, path: Path | str, decks: list[str] | None = None, db=None,
                now: int | None = None) -> int:
    """Write the package; returns how many notes (one per card) it holds. With `db`
    (progress.db) unchanged cards keep their note modification time."""
    package = build_package(catalog, decks, db, now)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    times = [n.mod for d in package.decks for n in d.notes]
    package.write_to_file(str(path), timestamp=max(times) if times else None)
    return sum(len(d.notes) for d in package.decks)
