"""vlearn gaps [--json] [--role R] [--list-roles]"""
from __future__ import annotations

import json
import sys


def register(sub) -> None:
    p = sub.add_parser("gaps", help="self-ratings beside the evidence; ranked gaps and what to do next")
    p.add_argument("--json", action="store_true", help="print one JSON object (every number with its counts)")
    p.add_argument("--role", metavar="R", help="rank gaps against this target role (see --list-roles)")
    p.add_argument("--list-roles", action="store_true", help="list the target roles and exit")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..core.content import load_catalog
    from ..core.gaps import analyse, report_text
    from .common import open_store_or_exit

    catalog = load_catalog()
    if args.list_roles:
        for role in catalog.roles.values():
            print(f"{role.id:<32} {role.title}")
        return 0
    if args.role and args.role not in catalog.roles:
        known = ", ".join(sorted(catalog.roles)) or "none defined"
        print(f"error: unknown role {args.role!r} (known: {known})", file=sys.stderr)
        return 2
    db = open_store_or_exit()
    try:
        report = analyse(catalog, db, args.role)
    finally:
        db.close()
    print(json.dumps(report, indent=2) if args.json else report_text(report))
    return 0
