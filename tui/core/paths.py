"""Where content and the learner's data live (DESIGN.md §2)."""
from __future__ import annotations

import os
from pathlib import Path


def content_root() -> Path:
    """The repository holding curriculum/, labs/, flashcards/, data/ ...

    `VLEARN_CONTENT` overrides it; otherwise it is the checkout the package
    was installed from (an editable install keeps `tui/` inside it).
    """
    env = os.environ.get("VLEARN_CONTENT")
    if env:
        return Path(env).expanduser().resolve()
    return Path(__file__).resolve().parents[2]


def vlearn_home() -> Path:
    """The learner's own data: progress.db and workspace/. Never content."""
    env = os.environ.get("VLEARN_HOME")
    if env:
        home = Path(env).expanduser()
    else:
        import platformdirs

        home = Path(platformdirs.user_data_dir("vlearn", appauthor=False))
    home.mkdir(parents=True, exist_ok=True)
    return home.resolve()


def workspace_dir() -> Path:
    return vlearn_home() / "workspace"


def database_path() -> Path:
    return vlearn_home() / "progress.db"


def vllm_paths_file() -> Path | None:
    """The list of every file in vLLM 0.33.0, when the shared reference is beside us."""
    env = os.environ.get("VLEARN_VLLM_PATHS")
    candidates = [Path(env)] if env else []
    # A copy of the shared reference list ships with the content (file names only).
    candidates.append(content_root() / "data" / "vllm-0.33.0-paths.txt")
    for path in candidates:
        if path.is_file():
            return path
    return None


FALLBACK_EDITORS = ("vim", "nano", "vi")


def editor() -> tuple[list[str], str] | None:
    """The editor the app's `e` opens, and where the choice came from:
    $VISUAL, then $EDITOR, then the first of vim, nano, vi on PATH."""
    import shlex
    import shutil

    for var in ("VISUAL", "EDITOR"):
        value = os.environ.get(var, "").strip()
        if value:
            return shlex.split(value), f"${var}"
    for name in FALLBACK_EDITORS:
        if shutil.which(name):
            return [name], "found on PATH; $EDITOR is not set"
    return None
