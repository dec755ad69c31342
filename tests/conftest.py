"""Every test gets its own VLEARN_HOME; nothing touches the learner's real data."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    # Before any fixture (session- and module-scoped ones too, e.g. a warm lab
    # runner) or subprocess asks for it: a throwaway VLEARN_HOME, so a
    # learner's exported one is never written. Each test still gets its own
    # (vlearn_home below). Nor do tests reach a learner's remote GPU runner.
    home = tempfile.mkdtemp(prefix="vlearn-tests-")
    os.environ["VLEARN_HOME"] = home
    os.environ.pop("VLEARN_REMOTE_RUNNER", None)
    config.add_cleanup(lambda: shutil.rmtree(home, ignore_errors=True))


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
