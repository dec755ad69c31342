"""vlearn week [N]: the weekly review (deliverables, milestones beside their evidence, weakest cards and drills)."""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("week", help="the weekly review: deliverables, milestones and their evidence, what was weakest")
    p.add_argument("week", nargs="?", type=int, help="1-4 (default: the week you are in)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..core import plan, weekly
    from ..core.content import load_catalog
    from .common import open_store_or_exit

    catalog = load_catalog()
    db = open_store_or_exit()
    try:
        week = args.week
        if week is None:
            day = catalog.days.get(plan.standing(catalog, db).current_day)
            week = day.week if day and day.week else 1
        if not weekly.week_days(catalog, week) or week < 1:
            print(f"error: week {week} is not in the plan (weeks 1-4)", file=sys.stderr)
            return 2
        print(weekly.review_markdown(catalog, db, week), end="")
    finally:
        db.close()
    return 0
