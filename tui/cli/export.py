"""vlearn export anki FILE.apkg | vlearn export progress --format json|csv [--out FILE]"""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("export", help="export flashcards to Anki, or your progress as JSON/CSV")
    what = p.add_subparsers(dest="export_what", metavar="WHAT", required=True)
    a = what.add_parser("anki", help="write the decks as an Anki package (.apkg)")
    a.add_argument("file", metavar="FILE.apkg",
                   help="the package to write (its folder is created); import it in Anki with File > Import")
    a.add_argument("--deck", action="append", default=[], metavar="D", help="only this deck (repeatable)")
    a.set_defaults(func=run_anki)
    g = what.add_parser("progress", help="your progress as JSON, or as tidy CSV tables")
    g.add_argument("--format", choices=("json", "csv"), default="json",
                   help="json (default): the dashboard figures, rubric history and gap report; csv: one tidy "
                        "table per kind of record (reviews, lab_runs, drills, interviews, rubric_history)")
    g.add_argument("--out", metavar="PATH",
                   help="json: a file (default: standard output); csv: a folder or a .zip (required)")
    g.set_defaults(func=run_progress)


def run_anki(args) -> int:
    from ..core.anki import export_apkg
    from ..core.content import load_catalog

    catalog = load_catalog()
    unknown = [d for d in args.deck if d not in catalog.decks]
    if unknown:
        print(f"error: unknown deck {', '.join(map(repr, unknown))}", file=sys.stderr)
        return 2
    if not catalog.cards:
        print("error: there are no cards to export", file=sys.stderr)
        return 1
    from .common import open_store_or_exit

    db = open_store_or_exit()  # remembers each card's exported version (anki_notes)
    notes = export_apkg(catalog, args.file, args.deck or None, db=db)
    decks = len(args.deck or catalog.decks)
    print(f"wrote {args.file}: {notes} notes in {decks} decks (re-importing updates changed cards "
          "in place and leaves unchanged ones, and your edits to them, alone)")
    return 0


def run_progress(args) -> int:
    from ..core.content import load_catalog_cached
    from ..core.progress_export import export_progress
    from .common import open_store_or_exit

    db = open_store_or_exit()
    if args.format == "csv":
        from ..core.progress_export import write_tidy_csv

        if not args.out:
            print("error: --format csv writes one file per table: give --out FOLDER or --out FILE.zip", file=sys.stderr)
            return 2
        try:
            names = write_tidy_csv(db, args.out)
        except OSError as exc:
            print(f"error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
            return 1
        print(f"wrote {len(names)} tables to {args.out}: {', '.join(names)}")
        return 0
    text = export_progress(db, load_catalog_cached())
    if args.out:
        with open(args.out, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0
