"""Shared helpers (no tests here) for tests/test_lab_*.py: fixture content root, editor-style saves."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def fixture_catalog():
    from tui.core.content import load_catalog

    return load_catalog(FIXTURES)


def save_by_rename(path: Path, text: str) -> None:
    """Save the way editors do: write a temporary file, then rename it over."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix="___jb_tmp___")
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


def alive(pid: int) -> bool:
    """True while `pid` is a live process (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        return True
    return stat[stat.rfind(b")") + 2 :].split()[0] not in (b"Z", b"X")
