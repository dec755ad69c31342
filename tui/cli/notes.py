"""vlearn note day N | lesson ID [--print];  vlearn deliverables [--week N] [--tick DAY | --untick DAY]"""
from __future__ import annotations

import subprocess
import sys


def register(sub) -> None:
    p = sub.add_parser("note", help="open your note for a day or a lesson in $EDITOR (created on first open)")
    p.add_argument("kind", choices=["day", "lesson"], help="a day's note or a lesson's note")
    p.add_argument("ident", metavar="ID", help="the day number or the lesson id")
    p.add_argument("--print", dest="print_path", action="store_true",
                   help="print the note's path (creating it if needed) instead of opening an editor")
    p.set_defaults(func=run_note)

    d = sub.add_parser("deliverables", help="each day's deliverable: ticked, and written in its day note")
    d.add_argument("--week", type=int, metavar="N", help="only the deliverables of week N")
    group = d.add_mutually_exclusive_group()
    group.add_argument("--tick", type=int, metavar="DAY", help="tick a day's deliverable (done once its note has text)")
    group.add_argument("--untick", type=int, metavar="DAY", help="take the tick off a day's deliverable")
    d.set_defaults(func=run_deliverables)


def run_note(args) -> int:
    from ..core import notes
    from ..core.content import load_catalog_cached

    catalog = load_catalog_cached()
    try:
        note = notes.resolve(catalog, args.kind, args.ident)
    except notes.NoteError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    notes.ensure(note)
    if args.print_path:
        print(note.path)
        return 0
    argv = notes.editor_argv(note)
    if argv is None:
        print(f"error: no editor found (set $EDITOR); the note is {note.path}", file=sys.stderr)
        return 1
    try:
        return subprocess.call(argv)
    except FileNotFoundError:
        print(f"error: the editor {argv[0]!r} was not found; the note is {note.path}", file=sys.stderr)
        return 1


def run_deliverables(args) -> int:
    from ..core import deliverables, notes
    from .common import content_and_store

    catalog, db = content_and_store()
    try:
        if args.tick is not None or args.untick is not None:
            day = args.tick if args.tick is not None else args.untick
            try:
                item = deliverables.tick(catalog, db, day, args.tick is not None)
            except notes.NoteError as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            print(f"day {item.day}: {item.state}" + ("" if item.note_written or not item.ticked
                                                      else f" (write it in {item.note_path}: vlearn note day {day})"))
            return 0
        items = deliverables.listing(catalog, db, args.week)
    finally:
        db.close()
    if args.week is not None and not items:
        print(f"no deliverables in week {args.week}")
        return 0
    print(deliverables.report_text(items))
    return 0
