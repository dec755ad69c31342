"""Loaders report every problem as path:line and skip only the broken item."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tui.core.content import load_catalog

FIXTURE = Path(__file__).parent / "fixtures" / "content"


@pytest.fixture
def content(tmp_path) -> Path:
    root = tmp_path / "content"
    shutil.copytree(FIXTURE, root)
    return root


def problems(catalog, severity="error"):
    return [str(p) for p in catalog.problems if p.severity == severity]


def test_fixture_loads_clean(content):
    catalog = load_catalog(content)
    assert problems(catalog) == []
    assert sorted(catalog.days) == [0, 1, 2]
    assert set(catalog.lessons) == {"t-intro", "t-paging"}
    assert catalog.modules["m01"].lessons == ["t-intro", "t-paging"]
    assert list(catalog.walkthroughs) == ["t-paging"]
    assert catalog.weeks == {0: "Before you begin", 1: "Basics"}
    day1 = catalog.days[1]
    assert [k for k, _ in day1.checklist()] == [
        "lesson:t-intro", "lesson:t-paging", "lab:t-lab-missing", "cards:t-deck", "drill:t-question",
    ]


def test_unknown_ids_are_warnings_not_errors(content):
    catalog = load_catalog(content)
    warnings = problems(catalog, "warning")
    assert any("lab 't-lab-missing' is not written yet" in w for w in warnings)
    assert any("drill question 't-missing-drill'" in w for w in warnings)
    assert all(w.startswith("curriculum/plan.yaml:") for w in warnings)


def test_malformed_front_matter_reports_file_and_line_and_skips_only_it(content):
    lesson = content / "curriculum/modules/m01_basics/02_paging.md"
    text = lesson.read_text().replace("minutes: 20", "minutes: [20")
    lesson.write_text(text)
    catalog = load_catalog(content)
    errors = problems(catalog)
    assert len(errors) == 1
    assert errors[0].startswith("curriculum/modules/m01_basics/02_paging.md:")
    line = int(errors[0].split(":")[1])
    assert lesson.read_text().splitlines()[line - 1].startswith("minutes") or line in (4, 5, 6)
    assert "t-intro" in catalog.lessons and "t-paging" not in catalog.lessons


def test_missing_field_names_the_field_and_line(content):
    lesson = content / "curriculum/modules/m01_basics/01_intro.md"
    lesson.write_text(lesson.read_text().replace("minutes: 10\n", ""))
    catalog = load_catalog(content)
    [error] = problems(catalog)
    assert error.startswith("curriculum/modules/m01_basics/01_intro.md:2:")
    assert "missing field 'minutes'" in error


def test_wrong_type_points_at_the_field_line(content):
    plan = content / "curriculum/plan.yaml"
    plan.write_text(plan.read_text().replace("hours: 4", "hours: lots"))
    catalog = load_catalog(content)
    error, gap = problems(catalog)
    assert "day 1: field 'hours' must be a number, not str" in error
    line = int(error.split(":")[1])
    assert plan.read_text().splitlines()[line - 1].strip() == "hours: lots"
    assert gap == "curriculum/plan.yaml:1: plan: days are missing: [1]"
    assert 1 not in catalog.days and 0 in catalog.days and 2 in catalog.days


def test_duplicate_ids_are_errors_with_both_places(content):
    src = content / "curriculum/modules/m01_basics/02_paging.md"
    dup = content / "curriculum/modules/m01_basics/03_dup.md"
    dup.write_text(src.read_text())
    catalog = load_catalog(content)
    [error] = problems(catalog)
    assert error.startswith("curriculum/modules/m01_basics/03_dup.md:2:")
    assert "duplicate lesson id 't-paging'" in error and "02_paging.md" in error


def test_duplicate_yaml_key_is_an_error(content):
    plan = content / "curriculum/plan.yaml"
    plan.write_text(plan.read_text().replace("    hours: 1\n", "    hours: 1\n    hours: 2\n", 1))
    catalog = load_catalog(content)
    assert any("duplicate key 'hours'" in e for e in problems(catalog))


def test_broken_yaml_file_reports_its_line(content):
    plan = content / "curriculum/plan.yaml"
    lines = plan.read_text().splitlines()
    lines[5] = "    title: [unclosed"
    plan.write_text("\n".join(lines) + "\n")
    catalog = load_catalog(content)
    [error] = problems(catalog)
    assert error.startswith("curriculum/plan.yaml:")
    assert "YAML error" in error
    # The lessons still load; only the plan is gone.
    assert set(catalog.lessons) == {"t-intro", "t-paging"} and catalog.days == {}


def test_unknown_component_and_kind_are_rejected(content):
    lesson = content / "curriculum/modules/m01_basics/01_intro.md"
    lesson.write_text(lesson.read_text().replace("[paged_attention]", "[paging]").replace("minutes: 10", "minutes: 10\nkind: essay"))
    errors = problems(load_catalog(content))
    assert any("unknown value 'paging'" in e for e in errors)
    assert any("must be one of lesson, walkthrough" in e for e in errors)


def test_broken_links_and_unknown_schemes(content):
    lesson = content / "curriculum/modules/m01_basics/02_paging.md"
    lesson.write_text(lesson.read_text() + "\nSee [x](nowhere.md), [y](foo:bar), [z](lesson:nope).\n")
    catalog = load_catalog(content)
    errors, warnings = problems(catalog), problems(catalog, "warning")
    assert any("broken link 'nowhere.md'" in e for e in errors)
    assert any("unknown scheme 'foo'" in e for e in errors)
    assert any("unknown lesson 'nope'" in w for w in warnings)


def test_vllm_refs_must_exist_in_the_path_list(content, monkeypatch, tmp_path):
    listing = tmp_path / "paths.txt"
    listing.write_text("vllm/v1/core/sched/scheduler.py\n")
    monkeypatch.setenv("VLEARN_VLLM_PATHS", str(listing))
    catalog = load_catalog(content)
    [error] = problems(catalog)
    assert "vllm/v1/core/block_pool.py' is not a file of vLLM 0.33.0" in error
    assert error.startswith("curriculum/modules/m01_basics/02_paging.md:8:")


def test_missing_plan_is_reported(content):
    (content / "curriculum/plan.yaml").unlink()
    catalog = load_catalog(content)
    assert problems(catalog) == ["curriculum/plan.yaml:0: file is missing"]


def test_an_empty_file_is_an_error_not_a_silent_gap(content):
    (content / "curriculum/modules/m01_basics/module.yaml").write_text("")
    errors = problems(load_catalog(content))
    assert "curriculum/modules/m01_basics/module.yaml:1: file is empty: expected a mapping" in errors


def test_module_lesson_order_sets_the_order_and_must_match_the_files(content):
    module_yaml = next((content / "curriculum" / "modules").glob("*/module.yaml"))
    text = module_yaml.read_text()
    module_yaml.write_text(text.replace("lessons: [t-intro, t-paging]", "lessons: [t-paging, t-intro]"))
    catalog = load_catalog(content)
    assert problems(catalog) == [] and catalog.modules["m01"].lessons == ["t-paging", "t-intro"]

    module_yaml.write_text(text.replace("lessons: [t-intro, t-paging]", "lessons: [t-paging, t-gone]"))
    found = problems(load_catalog(content), "warning")
    assert any("module.yaml" in p and "'t-gone', which is not a lesson of this module" in p for p in found), found
    assert any("leaves out t-intro" in p for p in found), found

    module_yaml.write_text(text.replace("lessons: [t-intro, t-paging]\n", ""))
    assert any("no 'lessons' order listed" in p for p in problems(load_catalog(content), "warning"))


def test_comparison_lessons_are_counted(content):
    lesson = content / "curriculum" / "modules" / "m01_basics" / "01_intro.md"
    lesson.write_text(lesson.read_text().replace("id: t-intro", "id: t-intro\nkind: comparison", 1))
    catalog = load_catalog(content)
    assert problems(catalog) == [] and list(catalog.comparisons) == ["t-intro"]
