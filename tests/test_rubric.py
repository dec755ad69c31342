"""The rubric and roles loaders (bad files reported at path:line) and the assessment store."""
from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

import pytest

from tui.core import rubric as rubric_store
from tui.core.content import load_catalog
from tui.core.content.rubric import rubric_of
from tui.core.content.vocab import COMPONENTS, DIMENSIONS
from tui.core.store import open_store

GOOD_SCALE = "\n".join(f"  - {{score: {n}, label: L{n}, meaning: M{n}}}" for n in range(1, 6))
DIMS = "\n".join(f"  - {{id: {d}, title: {d.title()}}}" for d in DIMENSIONS)
COMPS = "\n".join(f"  - {{id: {c}, title: {c.title()}}}" for c in COMPONENTS)


def content(tmp_path: Path, rubric: str | None = None, roles: str | None = None) -> Path:
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    if rubric is not None:
        (data / "rubric.yaml").write_text(textwrap.dedent(rubric).lstrip(), encoding="utf-8")
    if roles is not None:
        (data / "roles.yaml").write_text(textwrap.dedent(roles).lstrip(), encoding="utf-8")
    return tmp_path


def problems(catalog, name: str) -> list[tuple[int, str]]:
    return [(p.line, p.message) for p in catalog.problems if p.path == f"data/{name}"]


def test_repository_rubric_and_roles_load_clean(catalog):
    assert problems(catalog, "rubric.yaml") == [] and problems(catalog, "roles.yaml") == []
    rub = catalog.rubric
    assert [c.id for c in rub.components] == list(COMPONENTS)
    assert [d.id for d in rub.dimensions] == list(DIMENSIONS)
    assert sorted(rub.scale) == [1, 2, 3, 4, 5] and rub.target == 4
    assert rub.scale[1].meaning.startswith("Aware") and "optimize" in rub.scale[5].meaning
    assert len(catalog.roles) >= 6
    for role in catalog.roles.values():
        assert set(role.weights) == set(COMPONENTS) and max(role.weights.values()) > 0
        assert role.emphasis and role.sources, f"{role.id}: say what its loops emphasise and cite postings"


def test_a_valid_minimal_rubric_loads_in_canonical_order(tmp_path):
    shuffled = "\n".join(reversed(COMPS.splitlines()))
    cat = load_catalog(content(tmp_path, f"target: 3.5\nscale:\n{GOOD_SCALE}\ndimensions:\n{DIMS}\ncomponents:\n{shuffled}\n"))
    assert problems(cat, "rubric.yaml") == []
    assert cat.rubric.target == 3.5 and [c.id for c in cat.rubric.components] == list(COMPONENTS)
    assert cat.rubric.meaning(2) == "2 · L2: M2"


def test_bad_rubric_is_reported_at_its_lines_and_the_builtin_stands_in(tmp_path):
    comps = "\n".join(COMPS.splitlines()[:-1])  # 'distributed' left out
    text = (
        "target: 7\n"                                            # line 1
        "scale:\n"
        + "\n".join(GOOD_SCALE.splitlines()[:4]) + "\n"          # lines 3-6: no 5
        + "  - {score: 6, label: Six, meaning: too far}\n"       # line 7
        "dimensions:\n"
        + DIMS.replace("id: optimize", "id: speed") + "\n"       # lines 9-12
        + "components:\n"                                        # line 13
        + comps + "\n"
        + "  - id: paged_attention\n"                            # duplicate, line 19
        "    title: Again\n"
        "    anchors: {9: nine}\n"
    )
    cat = load_catalog(content(tmp_path, text))
    found = problems(cat, "rubric.yaml")
    lines = {line for line, _ in found}
    messages = " | ".join(m for _, m in found)
    assert 1 in lines and "target must be between 1 and 5" in messages
    assert 7 in lines and "score must be 1..5, not 6" in messages
    assert "unknown id 'speed'" in messages and "missing 'optimize'" in messages
    assert "missing 'distributed'" in messages
    assert 21 in lines and "anchors: key 9 must be a score 1..5" in messages
    assert cat.rubric is None
    fallback = rubric_of(cat)
    assert [c.id for c in fallback.components] == list(COMPONENTS) and fallback.target == 4
    assert fallback.meaning(4).endswith("Can implement from scratch")


def test_rubric_yaml_error_and_wrong_shape(tmp_path):
    cat = load_catalog(content(tmp_path, "target: [4\n"))
    assert problems(cat, "rubric.yaml")[0][1].startswith("YAML error")
    cat = load_catalog(content(tmp_path, "- a list\n"))
    assert problems(cat, "rubric.yaml") == [(1, "expected a mapping at the top of the file")]


def test_bad_roles_are_skipped_one_by_one(tmp_path):
    roles = """
        roles:
          - id: good
            title: Good
            weights: {paged_attention: 1, cuda_kernels: 0.5, scheduler: 0.5, model_executor: 0.5, quantization: 0, distributed: 0}
          - id: heavy
            title: Too heavy
            weights:
              paged_attention: 1.5
              gpu_magic: 1
          - id: partial
            title: Partial
            weights: {scheduler: 1}
          - id: zero
            title: Zero
            weights: {paged_attention: 0, cuda_kernels: 0, scheduler: 0, model_executor: 0, quantization: 0, distributed: 0}
          - id: good
            title: Duplicate
            weights: {paged_attention: 1, cuda_kernels: 1, scheduler: 1, model_executor: 1, quantization: 1, distributed: 1}
    """
    cat = load_catalog(content(tmp_path, roles=roles))
    assert list(cat.roles) == ["good"]
    found = dict(problems(cat, "roles.yaml"))
    assert "'paged_attention' must be a number from 0 to 1" in found[8]
    assert "unknown component 'gpu_magic'" in found[9]
    assert "give every component a weight; missing paged_attention, cuda_kernels" in found[12]
    assert "at least one component needs a weight above 0" in found[15]
    assert "duplicate role id 'good'" in found[16]


def test_role_emphasis_and_sources(tmp_path):
    weights = "{paged_attention: 1, cuda_kernels: 1, scheduler: 1, model_executor: 1, quantization: 1, distributed: 1}"
    roles = f"""
        roles:
          - id: cited
            title: Cited
            weights: {weights}
            emphasis: System design with arithmetic.
            sources: [https://example.com/job/1]
          - id: uncited
            title: Not a URL
            weights: {weights}
            sources: [a friend said so]
    """
    cat = load_catalog(content(tmp_path, roles=roles))
    assert list(cat.roles) == ["cited"]
    role = cat.roles["cited"]
    assert role.emphasis == "System design with arithmetic." and role.sources == ["https://example.com/job/1"]
    assert any("is not a URL" in msg for _, msg in problems(cat, "roles.yaml"))


def test_roles_file_without_a_list(tmp_path):
    cat = load_catalog(content(tmp_path, roles="role: x\n"))
    assert problems(cat, "roles.yaml") == [(1, "expected a top-level 'roles:' list")]


# ------------------------------------------------------------------- the store


def test_assessments_are_all_kept_with_their_time(vlearn_home):
    db = open_store(vlearn_home / "progress.db")
    t0 = dt.datetime(2026, 3, 1, 9, 0).astimezone()
    first = rubric_store.record(db, {("scheduler", "understanding"): 2, ("scheduler", "explain"): 4}, when=t0)
    second = rubric_store.record(db, {("scheduler", "understanding"): 4}, when=t0 + dt.timedelta(days=7))
    history = rubric_store.history(db)
    assert [a.id for a in history] == [first, second]
    assert history[0].at == t0.isoformat(timespec="seconds") and history[0].average == 3.0
    assert rubric_store.latest(db).scores == {("scheduler", "understanding"): 4}
    over_time = rubric_store.averages_over_time(db)
    assert [avg for _, avg, _ in over_time] == [3.0, 4.0]
    assert over_time[0][2]["scheduler"] == 3.0 and over_time[0][2]["quantization"] is None
    assert db.execute("select count(*) from activity where kind = 'rubric'").fetchone()[0] == 2
    db.close()
    reopened = open_store(vlearn_home / "progress.db")  # committed before record() returned
    assert len(rubric_store.history(reopened)) == 2
    reopened.close()


@pytest.mark.parametrize("grid", [
    {("gpu_magic", "understanding"): 3},
    {("scheduler", "speed"): 3},
    {("scheduler", "explain"): 6},
    {("scheduler", "explain"): True},
    {},
])
def test_bad_assessments_are_refused_and_nothing_is_written(vlearn_home, grid):
    db = open_store(vlearn_home / "progress.db")
    with pytest.raises(ValueError):
        rubric_store.record(db, grid)
    assert rubric_store.history(db) == []
    db.close()


def test_chart_marks_the_target():
    text = rubric_store.chart([("w1", 2.0), ("w2", 4.5)], target=4, width=20)
    first, second, legend = text.splitlines()
    assert first == "w1 │" + "█" * 8 + " " * 8 + "┆ 2.00"
    assert second == "w2 │" + "█" * 16 + "╪" + "█" * 1 + " 4.50"
    assert legend.endswith("↑ target 4") and legend.index("↑") == first.index("┆")
