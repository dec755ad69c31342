"""vlearn review [--deck D] [--limit N] [--optimize]; vlearn srs optimize|stats|config

Review in a plain terminal: the front is shown, Enter or space reveals the
back, 1-4 grades (Again, Hard, Good, Easy), u takes back the last grade, q
quits. With stdin piped, each line is one command (an empty line reveals; a
grade on an unrevealed card reveals and grades), so scripts can review too.
Every grade is committed before `graded ...` is printed.
"""
from __future__ import annotations

import os
import sys
import time

from ..core.text import plural
from .common import content_and_store


def register(sub) -> None:
    p = sub.add_parser("review", help="review due flashcards in the terminal")
    p.add_argument("--deck", action="append", default=[], metavar="D",
                   help="deck id or card tag to review (repeatable; default: all unlocked)")
    p.add_argument("--limit", type=int, metavar="N", help="at most N cards this session")
    p.add_argument("--optimize", action="store_true",
                   help="fit FSRS parameters to your review history and show before/after")
    p.set_defaults(func=run)

    s = sub.add_parser("srs", help="spaced repetition: statistics, settings, optimisation")
    actions = s.add_subparsers(dest="srs_action", metavar="ACTION", required=True)
    o = actions.add_parser("optimize", help="fit FSRS parameters to your review history")
    o.add_argument("--dry-run", action="store_true", help="show the fit, keep the current parameters")
    o.set_defaults(func=run_optimize)
    st = actions.add_parser("stats", help="due forecast, reviews per day, retention, maturity")
    st.set_defaults(func=run_stats)
    c = actions.add_parser("config", help="show or change the review settings")
    c.add_argument("--retention", type=float, help="desired retention, 0.70-0.99 (default 0.90)")
    c.add_argument("--new-per-day", type=int, help="new cards introduced per day (default 20)")
    c.add_argument("--review-limit", type=int, help="most reviews shown per day (default 200)")
    c.set_defaults(func=run_config)


class _Keys:
    """One command at a time: single keys on a terminal, lines from a pipe.

    On a terminal, cbreak mode is entered once for the whole session with
    TCSANOW (not per key, and never TCSAFLUSH): keys typed ahead are kept."""

    def __init__(self, stream):
        self.stream = stream
        self.tty = stream.isatty()
        self._saved = None

    def __enter__(self) -> _Keys:
        if self.tty:
            import termios
            import tty

            self._saved = termios.tcgetattr(self.stream.fileno())
            tty.setcbreak(self.stream.fileno(), termios.TCSANOW)
        return self

    def __exit__(self, *exc) -> None:
        if self._saved is not None:
            import termios

            termios.tcsetattr(self.stream.fileno(), termios.TCSANOW, self._saved)

    def read(self) -> str | None:
        if not self.tty:
            line = self.stream.readline()
            return None if line == "" else (line.strip()[:1] or " ")
        ch = os.read(self.stream.fileno(), 1).decode("utf-8", "replace")  # unbuffered: one key
        if ch in ("", "\x04"):
            return None
        return " " if ch in ("\n", "\r") else ch


def run(args) -> int:
    if args.optimize:
        return run_optimize(args)
    catalog, db = content_and_store()
    names = set(catalog.decks) | catalog.card_tags()
    unknown = [d for d in args.deck if d not in names]
    if unknown:
        print(f"error: no deck or card tag {', '.join(map(repr, unknown))} "
              f"(decks: {', '.join(sorted(catalog.decks)) or 'none'})", file=sys.stderr)
        return 2
    with _Keys(sys.stdin) as keys:
        return _review(args, catalog, db, keys)


def _review(args, catalog, db, keys) -> int:
    from rich.console import Console
    from rich.markdown import Markdown
    from rich.rule import Rule

    from ..core import srs

    out = Console(highlight=False)
    session = srs.Session(db, catalog, list(args.deck), limit=args.limit)
    new, learn, due = session.counts()
    out.print(f"{new} new · {learn} learning · {due} to review")
    quit_ = False
    while not quit_ and session.next() is not None:
        card = session.card()
        out.print(Rule(f"{card.deck} · {card.id}", style="dim"))
        out.print(Markdown(card.front))
        hint = "[dim]space/Enter: show answer · u: undo · q: quit[/dim]"
        out.print(hint if keys.tty else "")
        shown_at = time.monotonic()
        revealed = False
        while True:
            key = keys.read()
            if key is None or key == "q":
                quit_ = True
                break
            if key == "u":
                back = session.undo()
                out.print(f"undid the last grade ({back})" if back else "nothing to undo")
                if back:
                    break
                continue
            if key in "1234" and (revealed or not keys.tty) or key == " " and not revealed:
                if not revealed:
                    revealed = True
                    out.print(Rule(style="dim"))
                    out.print(Markdown(card.back))
                    out.print("  ".join(f"{r} {srs.RATING_NAMES[r]} [bold]{srs.format_interval(iv)}[/bold]"
                                        for r, iv in session.options.items()))
                if key == " ":
                    continue
                rating = int(key)
                graded = session.answer(rating, duration_ms=int((time.monotonic() - shown_at) * 1000))
                out.print(f"graded {graded.card_id}: {srs.RATING_NAMES[rating]}, "
                          f"next in {srs.format_interval(graded.interval)}", highlight=False)
                sys.stdout.flush()
                break
    summary = session.summary()
    out.print(Rule(style="dim"))
    out.print(f"Session: {summary.text()}")
    later = session.next_due_in()
    if later is not None:
        out.print(f"{plural(len(session.learning), 'card')} in learning come back in {srs.format_interval(later)}")
    elif not quit_ and not summary.cards:
        out.print("Nothing due. New cards unlock as you reach the plan's days.")
    return 0


def run_optimize(args) -> int:
    from ..core import srs

    _, db = content_and_store()
    print("fitting FSRS parameters to your review history ...", flush=True)
    try:
        fit = srs.optimize(db, apply=not getattr(args, "dry_run", False))
    except srs.OptimizeError as exc:
        print(exc)
        return 1
    print(fit.table())
    return 0


def run_stats(args) -> int:
    from ..core import srs

    catalog, db = content_and_store()
    print(srs.stats_text(db, catalog))
    return 0


def run_config(args) -> int:
    from ..core import srs

    _, db = content_and_store()
    try:
        if args.retention is not None:
            srs.set_retention(db, args.retention)
        if args.new_per_day is not None:
            srs.set_new_per_day(db, args.new_per_day)
        if args.review_limit is not None:
            srs.set_review_limit(db, args.review_limit)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    s = srs.settings(db)
    print(f"desired retention {s.retention:.2f}\nnew cards per day {s.new_per_day}\n"
          f"review limit {s.review_limit}\nparameters {'fitted' if s.parameters else 'fsrs defaults'}")
    return 0
