"""vlearn doctor [--json]"""
from __future__ import annotations

import json


def register(sub) -> None:
    p = sub.add_parser("doctor", help="validate all content and report what this machine can run")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-env", action="store_true", help="skip the environment checks")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..core.content import load_catalog
    from ..core.doctor import report
    from ..core.paths import content_source

    catalog = load_catalog()
    data = report(catalog, with_environment=not args.no_env)
    data["content_root"] = str(catalog.root)
    data["content_source"] = content_source()
    if args.json:
        print(json.dumps(data, indent=2))
        return 1 if data["errors"] else 0
    print(f"content: {catalog.root} ({data['content_source']})")
    for key in ("days", "modules", "lessons", "walkthroughs", "comparisons", "day_pages", "projects", "kernels",
                "decks", "cards", "interviewers", "roles"):
        print(f"  {key:<13} {data[key]}")
    print("  labs         ", ", ".join(f"{k} {v}" for k, v in data["labs"].items()))
    print("  questions    ", ", ".join(f"{k} {v}" for k, v in data["questions"].items()))
    if "environment" in data:
        print("environment:")
        for key, value in data["environment"].items():
            print(f"  {key:<13} {value if value else 'not found'}")
    for warning in catalog.warnings:
        print(f"warning: {warning}")
    unresolved = data["warnings"][len(catalog.warnings):]  # lesson references the fetched source does not have
    for warning in unresolved:
        print(f"warning: {warning['path']}: {warning['message']}")
    for error in catalog.errors:
        print(f"error: {error}")
    print(f"{len(catalog.errors)} errors, {len(data['warnings'])} warnings")
    return 1 if catalog.errors else 0
