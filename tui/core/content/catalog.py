"""The Catalog: every content item, typed and validated, plus the problems found.

Content kinds are plug-ins: every module in this package that defines
`load(ctx)` is called (in `ORDER`), then every `check(ctx)` for references
between kinds. Adding a kind means adding a module and a field here.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .base import LoadContext, Problem


@dataclass
class Catalog:
    root: Path
    days: dict = field(default_factory=dict)  # int -> Day
    weeks: dict = field(default_factory=dict)  # int -> title
    modules: dict = field(default_factory=dict)
    lessons: dict = field(default_factory=dict)
    day_pages: dict = field(default_factory=dict)  # int -> DayPage
    labs: dict = field(default_factory=dict)
    projects: dict = field(default_factory=dict)
    kernels: dict = field(default_factory=dict)
    decks: dict = field(default_factory=dict)
    cards: dict = field(default_factory=dict)
    questions: dict = field(default_factory=dict)
    interviewers: dict = field(default_factory=dict)
    rubric: Any = None
    roles: dict = field(default_factory=dict)
    milestones: dict = field(default_factory=dict)  # the roadmap's weekly milestones (data/milestones.yaml)
    gpus: dict = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def walkthroughs(self) -> dict:
        return {k: v for k, v in self.lessons.items() if v.kind == "walkthrough"}

    @property
    def comparisons(self) -> dict:
        return {k: v for k, v in self.lessons.items() if v.kind == "comparison"}

    def card_tags(self) -> set[str]:
        return {tag for card in self.cards.values() for tag in card.tags}

    def resolve(self, scheme: str, ident: str) -> Any:
        """The item a `scheme:id` reference names, or None."""
        if scheme == "day":
            return self.days.get(int(ident)) if ident.isdigit() else None
        if scheme == "lab":
            return self.labs.get(ident) or self.projects.get(ident)
        table = {
            "lesson": self.lessons,
            "project": self.projects,
            "deck": self.decks,
            "card": self.cards,
            "question": self.questions,
            "kernel": self.kernels,
            "interviewer": self.interviewers,
        }.get(scheme)
        return None if table is None else table.get(ident)


def _plugins() -> list:
    package = importlib.import_module(__package__)
    modules = []
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{__package__}.{info.name}")
        if hasattr(module, "load"):
            modules.append(module)
    return sorted(modules, key=lambda m: (getattr(m, "ORDER", 50), m.__name__))


def load_catalog(root: Path | None = None) -> Catalog:
    """Load all content under `root`. Never raises for bad content."""
    from ..paths import content_root

    root = Path(root) if root else content_root()
    catalog = Catalog(root=root)
    ctx = LoadContext(root=root, catalog=catalog, problems=catalog.problems)
    plugins = _plugins()
    for module in plugins:
        try:
            module.load(ctx)
        except Exception as exc:  # a loader bug must not take the app down
            ctx.problems.append(Problem(module.__name__, 0, f"loader crashed: {exc!r}"))
    for module in plugins:
        if hasattr(module, "check"):
            try:
                module.check(ctx)
            except Exception as exc:
                ctx.problems.append(Problem(module.__name__, 0, f"check crashed: {exc!r}"))
    return catalog


# ------------------------------------------------------------------ cache
# Parsing every YAML and Markdown file costs more than the app's whole start-up
# budget once the content grows, so the app keeps the last validated Catalog in
# VLEARN_HOME/cache, keyed by the name, size and mtime of every content file
# and of the loader code. Any edit changes the key and the content is re-read.

CONTENT_DIRS = ("curriculum", "labs", "kernels", "flashcards", "data")


def _fingerprint(root: Path) -> str:
    import hashlib
    import os
    import sys

    digest = hashlib.sha1(sys.version.encode())
    here = Path(__file__).parent
    for base in [root / d for d in CONTENT_DIRS] + [here, here.parent / "paths.py"]:
        if base.is_file():
            st = base.stat()
            digest.update(f"{base}|{st.st_size}|{st.st_mtime_ns}\n".encode())
            continue
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" and not d.startswith("."))
            for name in sorted(filenames):
                try:
                    st = os.stat(os.path.join(dirpath, name))
                    digest.update(f"{dirpath}/{name}|{st.st_size}|{st.st_mtime_ns}\n".encode())
                except OSError as exc:  # a symlink loop or dangling link: doctor reports it; keep going
                    digest.update(f"{dirpath}/{name}|{exc.errno}\n".encode())
    from ..paths import vllm_paths_file

    listing = vllm_paths_file()
    if listing:
        digest.update(f"{listing}|{listing.stat().st_mtime_ns}".encode())
    return digest.hexdigest()


def load_catalog_cached(root: Path | None = None) -> Catalog:
    """`load_catalog`, reusing the last result when no content file changed."""
    import hashlib
    import pickle

    from ..paths import content_root, vlearn_home

    root = Path(root) if root else content_root()
    key = _fingerprint(root)
    try:
        cache = vlearn_home() / "cache" / f"catalog-{hashlib.sha1(str(root).encode()).hexdigest()[:12]}.pickle"
        with cache.open("rb") as fh:
            stored_key, catalog = pickle.load(fh)
        if stored_key == key:
            return catalog
    except Exception:
        pass  # missing, stale or unreadable cache (or no usable home): rebuild it
    catalog = load_catalog(root)
    try:
        from ..fsutil import atomic_write_bytes

        cache = vlearn_home() / "cache" / f"catalog-{hashlib.sha1(str(root).encode()).hexdigest()[:12]}.pickle"
        cache.parent.mkdir(parents=True, exist_ok=True)
        # Temp file in the same folder, renamed into place; removed if the disk
        # is full or the folder read-only, so no partial cache is ever left.
        atomic_write_bytes(cache, pickle.dumps((key, catalog), protocol=pickle.HIGHEST_PROTOCOL))
    except Exception:
        pass  # a cache we cannot write only costs time
    return catalog
