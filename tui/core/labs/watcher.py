"""Re-run a lab when the learner saves one of its workspace files.

We watch the workspace root, not single files: editors save by writing a
temporary file and renaming it over the old one, which a watch on the file
itself would miss. Editor droppings are ignored. A changed path maps to its
lab by the first folder under workspace/, and only that lab runs. The same
function serves `vlearn watch` and the TUI (from a Textual worker thread).
"""
from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Collection
from pathlib import Path

from ..paths import workspace_dir

DEBOUNCE_MS = 25  # quiet time that ends a burst of events (one save = several, within a few ms)

IGNORED_NAMES = ("*.swp", "*.swx", "*.swo", "*~", "4913", "#*#", ".#*", "*___jb_tmp___",
                 "*___jb_old___", "*.pyc", ".DS_Store")
IGNORED_DIRS = {"__pycache__", ".pytest_cache", ".hypothesis", ".git", ".mypy_cache", ".ruff_cache"}


def ignored(path: str | Path) -> bool:
    """True for editor temp files, caches and anything inside cache folders."""
    p = Path(path)
    if any(part in IGNORED_DIRS for part in p.parts):
        return True
    return any(fnmatch.fnmatchcase(p.name, pattern) for pattern in IGNORED_NAMES)


def lab_of(path: str | Path, root: Path) -> str | None:
    """The lab id a changed path belongs to: the first folder under the root."""
    try:
        rel = Path(path).resolve().relative_to(root.resolve())
    except ValueError:
        return None
    if len(rel.parts) < 2 or rel.parts[0].startswith("."):  # a file directly in workspace/, or a temp copy
        return None
    return rel.parts[0]


def _wants(only) -> Callable[[str], bool]:
    if only is None:
        return lambda _lab: True
    if callable(only):
        return only
    return lambda lab: lab in only


def changed_labs(changes, root: Path, only=None) -> list[str]:
    wanted = _wants(only)
    labs: list[str] = []
    for _change, path in changes:
        lab = None if ignored(path) else lab_of(path, root)
        if lab and lab not in labs and wanted(lab):
            labs.append(lab)
    return labs


def watch_labs(
    catalog,
    on_result: Callable,
    stop: threading.Event,
    only: Collection[str] | Callable[[str], bool] | None = None,
    runner=None,
    on_start: Callable[[str], None] | None = None,
    on_ready: Callable[[], None] | None = None,
    root: Path | None = None,
    on_test: Callable | None = None,
) -> None:
    """Block until `stop` is set, running each saved lab and handing its
    RunResult to `on_result` (on this thread; record it with runner.record_run). `only` limits which labs run
    (a collection of ids, or a predicate checked on every change). `on_test`
    gets each test's result as it finishes (from a helper thread)."""
    import watchfiles

    from ..content.labs import find
    from .runner import shared_runner

    runner = runner or shared_runner()
    root = Path(root) if root else workspace_dir()
    root.mkdir(parents=True, exist_ok=True)
    # The worker warms up while we wait for the first save.
    if hasattr(runner, "warm_up"):
        runner.warm_up()
    events = watchfiles.watch(
        root, watch_filter=lambda _c, path: not ignored(path), debounce=1600, step=DEBOUNCE_MS,
        stop_event=stop, yield_on_timeout=True, rust_timeout=100, raise_interrupt=False,
    )
    for changes in events:
        if on_ready is not None:  # the first (empty) yield: the watch is in place
            on_ready()
            on_ready = None
        if stop.is_set():
            break
        for lab_id in changed_labs(changes, root, only):
            item = find(catalog, lab_id)
            if item is None:
                continue  # a folder for a lab this content does not have
            if on_start is not None:
                on_start(lab_id)
            # Not recorded here: the caller records on its own thread (SQLite).
            on_result(runner.run(item, "workspace", record=False, quick=True, on_test=on_test))


def start_watch_thread(catalog, on_result, only=None, runner=None, on_start=None,
                       on_test=None) -> tuple[threading.Thread, threading.Event, threading.Event]:
    """Run watch_labs on a daemon thread; returns (thread, stop event, ready event)."""
    stop, ready = threading.Event(), threading.Event()
    thread = threading.Thread(
        target=watch_labs, name="vlearn-watch", daemon=True,
        kwargs=dict(catalog=catalog, on_result=on_result, stop=stop, only=only, runner=runner,
                    on_start=on_start, on_ready=ready.set, on_test=on_test),
    )
    thread.start()
    return thread, stop, ready
