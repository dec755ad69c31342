"""The lab and project loader, on fixture labs and on deliberately broken copies."""
from __future__ import annotations

import shutil
from pathlib import Path

from test_lab_support import FIXTURES, fixture_catalog

from tui.core.content import load_catalog


def lab_problems(catalog):
    return [p for p in catalog.problems if p.path.startswith("labs/")]


def test_fixture_labs_and_project_load():
    catalog = fixture_catalog()
    assert lab_problems(catalog) == []
    assert {"fx-add", "fx-hang", "fx-crash", "fx-flood", "fx-orphan", "fx-gpu"} <= set(catalog.labs)
    add = catalog.labs["fx-add"]
    assert (add.track, add.day, add.files, add.gpu, add.timeout_s) == ("python", 3, ["add.py"], "none", 10.0)
    assert add.hints[0] == "Read the test."
    assert catalog.labs["fx-hang"].timeout_s == 1.5
    assert catalog.labs["fx-gpu"].gpu == "required"
    project = catalog.projects["fx-project"]
    assert [s.id for s in project.stages] == ["add", "mul"]
    assert [p.name for _s, p in project.test_runs()] == ["stage1", "stage2"]
    assert project.hints == ["add is a + b", "mul is a * b"]
    assert catalog.resolve("lab", "fx-project") is project


def _copy_lab(tmp_path: Path, lab: str = "fx-add") -> Path:
    target = tmp_path / "labs" / "python" / lab
    shutil.copytree(FIXTURES / "labs" / "python" / lab, target)
    return target


def test_broken_lab_is_reported_with_path_and_line_and_skipped(tmp_path):
    lab = _copy_lab(tmp_path)
    text = (lab / "lab.yaml").read_text()
    text = text.replace("id: fx-add", "id: fx-other").replace("gpu: none", "gpu: sometimes")
    (lab / "lab.yaml").write_text(text)
    shutil.rmtree(lab / "solution")
    catalog = load_catalog(tmp_path)
    assert "fx-other" not in catalog.labs and "fx-add" not in catalog.labs
    messages = [str(p) for p in lab_problems(catalog)]
    assert any(m.startswith("labs/python/fx-add/lab.yaml:1:") and "folder name" in m for m in messages), messages
    assert any(":10:" in m and "gpu" in m for m in messages), messages
    assert any("missing solution" in m for m in messages), messages


def test_listed_file_missing_from_starter_is_an_error(tmp_path):
    lab = _copy_lab(tmp_path)
    (lab / "starter" / "add.py").rename(lab / "starter" / "other.py")
    catalog = load_catalog(tmp_path)
    assert "fx-add" not in catalog.labs
    assert any("starter/add.py does not exist" in str(p) for p in lab_problems(catalog))


def test_project_stage_with_missing_tests_folder(tmp_path):
    target = tmp_path / "labs" / "projects" / "fx-project"
    shutil.copytree(FIXTURES / "labs" / "projects" / "fx-project", target)
    shutil.rmtree(target / "tests" / "stage2")
    catalog = load_catalog(tmp_path)
    assert "fx-project" not in catalog.projects
    problem = next(p for p in lab_problems(catalog) if "stage2" in p.message)
    assert problem.path == "labs/projects/fx-project/project.yaml" and problem.line > 1
