"""The watcher on a real workspace: rename-saves run only their lab; editor temp files run nothing."""
from __future__ import annotations

import queue

import pytest
from test_lab_support import fixture_catalog, save_by_rename

from tui.core.labs.runner import LabRunner
from tui.core.labs.watcher import changed_labs, ignored, lab_of, start_watch_thread
from tui.core.labs.workspace import ensure_workspace
from tui.core.paths import workspace_dir


@pytest.mark.parametrize("name", [".add.py.swp", ".add.py.swx", "add.py~", "4913", "#add.py#", ".#add.py",
                                  "add.py___jb_tmp___", "add.py___jb_old___", "__pycache__/add.cpython-311.pyc"])
def test_editor_droppings_are_ignored(name):
    assert ignored(f"/w/fx-add/{name}")


def test_changed_paths_map_to_their_lab(tmp_path):
    root = tmp_path / "workspace"
    assert lab_of(root / "fx-add" / "add.py", root) == "fx-add"
    assert lab_of(root / "fx-add" / "sub" / "x.py", root) == "fx-add"
    assert lab_of(root / "loose.py", root) is None
    assert lab_of(root / ".fx-add.tmp" / "add.py", root) is None
    changes = {(1, str(root / "fx-add" / "add.py")), (2, str(root / "fx-crash" / ".it.py.swp")),
               (1, str(root / "fx-hang" / "it.py"))}
    assert sorted(changed_labs(changes, root)) == ["fx-add", "fx-hang"]
    assert changed_labs(changes, root, only={"fx-hang"}) == ["fx-hang"]


def test_rename_save_reruns_only_that_lab():
    catalog = fixture_catalog()
    for lab in ("fx-add", "fx-crash"):
        ensure_workspace(catalog.labs[lab])
    ensure_workspace(catalog.projects["fx-project"])
    results: queue.Queue = queue.Queue()
    runner = LabRunner()
    thread, stop, ready = start_watch_thread(catalog, results.put, runner=runner)
    try:
        assert ready.wait(30)
        root = workspace_dir()
        # Editor temp files in another lab must not start a run...
        for name in (".it.py.swp", "4913", "it.py~", ".#it.py"):
            (root / "fx-crash" / name).write_text("junk")
        # ...a rename-save must, and only for its own lab.
        save_by_rename(root / "fx-add" / "add.py", "def add(a, b):\n    return a + b\n")
        first = results.get(timeout=60)
        assert (first.lab_id, first.status, first.dir_kind) == ("fx-add", "passed", "workspace")
        save_by_rename(root / "fx-project" / "calc.py", "def add(a, b):\n    return a + b\n")
        second = results.get(timeout=60)
        assert (second.lab_id, second.stage, second.status) == ("fx-project", "mul", "failed")
    finally:
        stop.set()
        thread.join(timeout=10)
        runner.close()
    assert not thread.is_alive()
    assert results.empty()
