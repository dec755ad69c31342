"""The content tree itself: loops and files no loader could read.

Loaders read every file through `base.read_content_text`, so a broken file is a
`path:0` problem and never an exception. This walk, run after them, adds what
no loader sees: a directory that links back to one of its own ancestors (a
loop that would send any recursive tool round forever), and link loops,
dangling links, FIFOs or unreadable files in places no loader reads."""
from __future__ import annotations

import os

from .base import ContentReadError, LoadContext, Problem, read_content_text
from .catalog import CONTENT_DIRS

ORDER = 0
SKIP = {"__pycache__", ".git", ".pytest_cache", ".hypothesis", "node_modules"}
TEXT = (".md", ".yaml", ".yml")


def load(ctx: LoadContext) -> None:
    """Nothing to load: the walk runs in check(), after every loader has reported."""


def check(ctx: LoadContext) -> None:
    reported = {p.path for p in ctx.problems}
    root = ctx.root

    def rel(path: str) -> str:
        return os.path.relpath(path, root)

    def report(path: str, message: str) -> None:
        if rel(path) not in reported:
            ctx.problems.append(Problem(rel(path), 0, message))
            reported.add(rel(path))

    for top in CONTENT_DIRS:
        base = os.path.join(root, top)
        if not os.path.isdir(base):
            continue
        # Iterative walk that follows directory links but keeps, for each
        # directory, the real paths of its ancestors: a link to one of them is a loop.
        stack = [(base, (os.path.realpath(base),))]
        while stack:
            folder, ancestors = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name)
            except OSError as exc:
                report(folder, f"cannot list folder: {exc.strerror or exc}")
                continue
            for entry in entries:
                if entry.name in SKIP or entry.name.startswith("."):
                    continue
                path = entry.path
                try:
                    is_dir = entry.is_dir()  # follows links
                except OSError:
                    is_dir = False
                if is_dir:
                    real = os.path.realpath(path)
                    if real in ancestors:
                        report(path, f"directory loop: links back to {rel(real) or '.'}/ (remove the link)")
                        continue
                    stack.append((path, (*ancestors, real)))
                    continue
                if entry.is_symlink() or entry.name.endswith(TEXT):
                    try:
                        if entry.name.endswith(TEXT):
                            read_content_text(path)
                        else:
                            os.stat(path)  # a link loop or dangling link elsewhere
                    except ContentReadError as exc:
                        report(path, f"cannot read file: {exc}")
                    except OSError as exc:
                        report(path, f"cannot read file: {exc.strerror or exc}")
