"""vlearn portfolio [--out DIR] [--json]"""
from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("portfolio", help="a Markdown and HTML report of what you built and measured, "
                                         "from your own records only")
    p.add_argument("--out", metavar="DIR", help="folder for portfolio.md and portfolio.html "
                                               "(default: VLEARN_HOME/portfolio)")
    p.add_argument("--json", action="store_true", help="print the report's data as JSON and write nothing")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..core import portfolio
    from ..core.fsutil import atomic_path
    from ..core.paths import vlearn_home
    from ..core.store import os_error_line
    from .common import content_and_store

    catalog, db = content_and_store()
    try:
        data = portfolio.build(catalog, db)
    finally:
        db.close()
    if args.json:
        print(portfolio.to_json(data))
        return 0
    out = Path(args.out).expanduser() if args.out else vlearn_home() / "portfolio"
    markdown = portfolio.to_markdown(data)
    written = []
    try:
        out.mkdir(parents=True, exist_ok=True)
        for name, text in (("portfolio.md", markdown), ("portfolio.html", portfolio.to_html(data, markdown))):
            with atomic_path(out / name) as tmp:
                tmp.write_text(text, encoding="utf-8")
            written.append(out / name)
    except OSError as exc:
        print(f"error: {os_error_line(out, exc)}", file=sys.stderr)
        return 1
    for path in written:
        print(path)
    return 0
