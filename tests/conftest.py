"""Every test gets its own VLEARN_HOME; nothing touches the learner's real data."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def has_gpu() -> bool:
    if not shutil.which("nvidia-smi"):
        return False
    try:
        import cupy

        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def pytest_collection_modifyitems(config, items):
    if has_gpu():
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU; none on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def vlearn_home(tmp_path_factory, monkeypatch) -> Path:
    home = tmp_path_factory.mktemp("vlearn_home")
    monkeypatch.setenv("VLEARN_HOME", str(home))
    monkeypatch.delenv("VLEARN_CONTENT", raising=False)
    return home


@pytest.fixture(scope="session")
def catalog():
    """The repository's real content, loaded once."""
    from tui.core.content import load_catalog

    return load_catalog(REPO)


@pytest.fixture
def db(vlearn_home):
    from tui.core.store import open_store

    database = open_store(vlearn_home / "progress.db")
    yield database
    database.close()
