"""Every test gets its own VLEARN_HOME; nothing touches the learner's real data."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_collection_modifyitems(config, items):
    from tui.core.labs.gpu import has_gpu, why_no_gpu

    if has_gpu():
        return
    skip = pytest.mark.skip(reason=f"needs an NVIDIA GPU: {why_no_gpu()}")
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
