"""The learner's copy of each lab: VLEARN_HOME/workspace/<id>/.

Created from starter/ on first open; reset keeps the old copy as a
timestamped backup under VLEARN_HOME/backups/<id>/ (outside the watched
workspace, so a reset never triggers a run of a backup).
"""
from __future__ import annotations

import datetime as dt
import difflib
import shutil
from pathlib import Path

from ..paths import vlearn_home, workspace_dir

_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".hypothesis")


def workspace_path(item) -> Path:
    return workspace_dir() / item.id


def ensure_workspace(item) -> Path:
    """The lab's workspace folder, copied from starter/ the first time. Files
    added to the starter later are copied in; the learner's files are never
    overwritten."""
    target = workspace_path(item)
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{item.id}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(item.starter, tmp, ignore=_IGNORE)
        tmp.rename(target)  # whole or nothing: the watcher never sees half a copy
        return target
    for name in item.files:
        if not (target / name).exists() and (item.starter / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(item.starter / name, target / name)
    return target


def editable_files(item) -> list[Path]:
    """Full paths of the files the learner edits (what the UI shows)."""
    root = workspace_path(item)
    return [root / name for name in item.files]


def reset_workspace(item) -> Path | None:
    """Put starter/ back; return where the old copy was kept (None if there was none)."""
    target = workspace_path(item)
    backup = None
    if target.exists():
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
        backup = vlearn_home() / "backups" / item.id / stamp
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(target), str(backup))
    ensure_workspace(item)
    return backup


def diff_against_solution(item, directory: Path | None = None) -> str:
    """Unified diff, file by file, from the learner's files to solution/."""
    base = Path(directory) if directory else workspace_path(item)
    chunks = []
    for name in item.files:
        mine, theirs = base / name, item.solution / name
        a = mine.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True) if mine.is_file() else []
        b = theirs.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True) if theirs.is_file() else []
        chunks.append("".join(difflib.unified_diff(a, b, f"yours/{name}", f"solution/{name}")))
    return "".join(chunks)
