"""`vlearn`: the engine without a screen.

Each module in this package that defines `register(subparsers)` adds its
subcommands; the parser is built from them in name order.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys


def build_parser() -> argparse.ArgumentParser:
    from .conventions import ENVIRONMENT, EXAMPLES, version_line

    parser = argparse.ArgumentParser(
        prog="vlearn", description="vlearn: learn LLM inference by studying vLLM 0.33.0 from the inside.",
        epilog=ENVIRONMENT + "\n" + EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=version_line("vlearn"))
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name == "__main__":
            continue  # importing it would run the command line
        module = importlib.import_module(f"{__name__}.{info.name}")
        if hasattr(module, "register"):
            module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .conventions import content_check, path_error

    status = content_check(args)
    if status is not None:
        return status
    try:
        return int(args.func(args) or 0)
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):
            return 0
        if exc.filename is None:
            raise
        # A path the learner named that is missing, read-only or a folder: one line.
        print(path_error(exc), file=sys.stderr)
        return 1
    except Exception as exc:
        # progress.db busy past the wait, read-only, full or damaged: one line, no
        # traceback. (Looked up lazily: a command that never opened the store
        # cannot raise its errors, and `vlearn --help` need not import sqlite-utils.)
        store = sys.modules.get("tui.core.store")
        if store is not None and isinstance(exc, store.StoreError):
            print(f"error: {exc}", file=sys.stderr)
            return 1
        raise
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
