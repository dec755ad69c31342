"""Wrong solutions kept beside each lab (mutants.yaml) must fail that lab's tests, so the
tests' strength cannot silently regress. Fixture labs show the mechanism; the slow test
runs `vlearn verify` (solution passes, starter fails, every mutant fails) over every lab
of the repository that this machine can judge."""
from __future__ import annotations

import shutil
import textwrap

import pytest
from test_lab_support import FIXTURES

from tui.core.content import load_catalog
from tui.core.content.labs import all_labs
from tui.core.labs.gpu import has_gpu
from tui.core.labs.runner import LabRunner
from tui.core.labs.verify import verify, verify_item


def _content_with_fx_add(tmp_path, mutants: str):
    lab = tmp_path / "labs" / "python" / "fx-add"
    shutil.copytree(FIXTURES / "labs" / "python" / "fx-add", lab)
    (lab / "mutants.yaml").write_text(textwrap.dedent(mutants).lstrip(), encoding="utf-8")
    return load_catalog(tmp_path)


def test_a_killed_mutant_passes_verification_and_a_surviving_one_fails_it(tmp_path):
    catalog = _content_with_fx_add(tmp_path, """
        mutants:
          - id: subtracts
            why: minus instead of plus
            replace: [["a + b", "a - b"]]
          - id: swapped
            why: commutative, so the tests cannot see it
            replace: [["a + b", "b + a"]]
    """)
    assert [m.id for m in catalog.labs["fx-add"].mutants] == ["subtracts", "swapped"]
    runner = LabRunner(warm=False)
    try:
        verdict = verify_item(catalog.labs["fx-add"], runner)
        assert not verdict.ok and verdict.words == "the tests accept wrong solutions: swapped (mutants.yaml)"
        catalog.labs["fx-add"].mutants.pop()
        verdict = verify_item(catalog.labs["fx-add"], runner)
        assert verdict.ok and "1/1 wrong solutions rejected" in verdict.words
    finally:
        runner.close()


def test_a_mutant_that_no_longer_applies_is_a_content_error(tmp_path):
    catalog = _content_with_fx_add(tmp_path, """
        mutants:
          - id: stale
            why: the solution changed under it
            replace: [["a * b", "a / b"]]
          - id: wrong-file
            why: names a file the learner does not edit
            file: other.py
            replace: [["a + b", "a - b"]]
    """)
    errors = {str(p) for p in catalog.errors}
    assert any("mutants.yaml:4:" in e and "no longer applies: 'a * b'" in e for e in errors), errors
    assert any("mutants.yaml:" in e and "'other.py' is not one of the lab's files" in e for e in errors), errors
    assert catalog.labs["fx-add"].mutants == []


def _repository_labs():
    from tui.core.labs.cpp import find_compiler

    catalog = load_catalog()
    no_cxx = pytest.mark.skip(reason="no C++ compiler on this machine") if find_compiler() is None else ()
    return [pytest.param(item.id, id=item.id, marks=no_cxx if item.track == "cpp" else ())
            for item in all_labs(catalog)]


@pytest.mark.slow
@pytest.mark.parametrize("lab_id", _repository_labs())
def test_every_repository_lab_verifies(lab_id):
    """Solution passes, starter fails, every kept wrong solution fails (GPU labs: compile-only here)."""
    catalog = load_catalog()
    lines: list[str] = []
    runner = LabRunner()
    try:
        [verdict] = verify(catalog, [lab_id], runner=runner, out=lines.append)
    finally:
        runner.close()
    assert verdict.ok, lines
    item = catalog.labs.get(lab_id) or catalog.projects[lab_id]
    if item.gpu != "required" or has_gpu():
        assert not item.mutants or "wrong solutions rejected" in verdict.words, verdict.words
