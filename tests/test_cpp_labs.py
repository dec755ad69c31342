"""The C++ lab harness (tui.core.labs.cpp): compiler errors and warnings at the
learner's file:line, one pytest result per C++ test, and the planted
sanitizer bugs of the C++ labs (a use after free, a signed overflow, a data
race) each failing with the sanitizer's name at the line that has the bug."""
from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from tui.core.content import load_catalog
from tui.core.labs import cpp
from tui.core.labs.mutants import materialise

pytestmark = pytest.mark.skipif(cpp.find_compiler() is None, reason="no C++ compiler on this machine")
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(REPO)


def _mini_lab(tmp_path: Path, header: str, tests: str) -> tuple[Path, cpp.Suite]:
    lab, tdir = tmp_path / "work", tmp_path / "tests"
    lab.mkdir(parents=True)
    tdir.mkdir(parents=True)
    (lab / "thing.hpp").write_text(textwrap.dedent(header).lstrip(), encoding="utf-8")
    (tdir / "test_thing.cpp").write_text(textwrap.dedent(tests).lstrip(), encoding="utf-8")
    (tdir / "test_thing.py").write_text("", encoding="utf-8")
    return lab, cpp.Suite(str(tdir / "test_thing.py"), "test_thing.cpp")


TESTS = """
    #include "thing.hpp"
    #include "vtest.hpp"
    VTEST(adds) { VCHECK_EQ(add(2, 3), 5); }
    VTEST(crashes_then_next_runs) { int* p = new int[2]; delete[] p; VCHECK_EQ(p[1], 0); }
    VTEST(after_crash) { VCHECK_EQ(add(1, 1), 3); }
"""


def test_compile_error_and_warning_point_at_the_learners_file(tmp_path):
    lab, suite = _mini_lab(tmp_path, """
        #pragma once
        inline int add(int a, int b) {
          int unused = 0;
          return a + b
        }
    """, TESTS)
    built = suite.build(lab, cpp.ADDRESS)
    assert not built.ok
    assert any(d.path == "thing.hpp" and d.line == 4 and d.severity == "error" for d in built.diagnostics), built.log
    with pytest.raises(pytest.fail.Exception, match=r"thing\.hpp:4: error: expected ';'"):
        suite.assert_compiles(lab)
    with pytest.raises(pytest.fail.Exception, match="did not compile"):
        suite.assert_passes(lab, cpp.ADDRESS, "adds")

    lab2, suite2 = _mini_lab(tmp_path / "w", """
        #pragma once
        inline int add(int a, int b) {
          int unused = 0;
          return a + b;
        }
    """, TESTS)
    with pytest.raises(pytest.fail.Exception, match=r"thing\.hpp:3: warning: unused variable 'unused'"):
        suite2.assert_compiles(lab2)


def test_each_cpp_test_has_its_own_outcome_and_a_crash_blames_only_its_test(tmp_path):
    lab, suite = _mini_lab(tmp_path, """
        #pragma once
        inline int add(int a, int b) { return a + b; }
    """, TESTS)
    assert suite.names == ["adds", "crashes_then_next_runs", "after_crash"]
    results = suite.results(lab, cpp.ADDRESS)
    assert results["adds"].outcome == "passed"
    crash = results["crashes_then_next_runs"]
    assert crash.outcome == "failed" and "AddressSanitizer: heap-use-after-free" in crash.message
    assert "tests/test_thing.cpp:4" in crash.message
    after = results["after_crash"]  # ran in a fresh process after the crash
    assert after.outcome == "failed"
    assert after.message == "tests/test_thing.cpp:5: add(1, 1) == 3: got 2, expected 3"


def _line_of(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def _run_mutant(catalog, tmp_path, lab_id: str, mutant_id: str, sanitize: str = cpp.ADDRESS):
    item = catalog.labs[lab_id]
    mutant = next(m for m in item.mutants if m.id == mutant_id)
    work = materialise(item, mutant, tmp_path / "m")
    suite = cpp.Suite(str(item.path / "tests" / "x.py"), *[p.name for p in sorted((item.path / "tests").glob("*.cpp"))],
                      sanitizers=(sanitize,))
    return work, mutant, suite.results(work, sanitize)


@pytest.mark.slow
def test_planted_use_after_free_is_reported_at_the_line_that_reads_freed_memory(catalog, tmp_path):
    work, _, results = _run_mutant(catalog, tmp_path, "cpp-raii-buffer", "resize-frees-before-copy")
    line = _line_of(work / "buffer.hpp", "std::memcpy(fresh, old")
    case = results["resize_keeps_prefix"]
    assert case.outcome == "failed"
    assert case.message.startswith(f"buffer.hpp:{line}: AddressSanitizer: heap-use-after-free"), case.message
    assert (case.file, case.line) == ("buffer.hpp", line)
    assert "freed: buffer.hpp:" in case.message  # where it was freed, too


@pytest.mark.slow
def test_cpp_lab_result_reaches_the_runner_as_per_test_results(catalog, tmp_path):
    from tui.core.labs.runner import LabRunner

    item = catalog.labs["cpp-raii-buffer"]
    work = tmp_path / "ws"
    shutil.copytree(item.starter, work)
    result = LabRunner(warm=False).run(item, work, record=False)
    assert result.status == "failed"
    by_name = {t.name: t for t in result.tests}
    assert by_name["test_compiles"].outcome == "passed"
    assert by_name["test_cpp[construct_zeroed]"].outcome == "passed"
    assert by_name["test_cpp[copies_are_forbidden]"].headline(work).startswith("tests/test_buffer.cpp:")
    assert "AddressSanitizer: attempting double-free" in by_name["test_cpp[move_construct_steals]"].message


@pytest.mark.slow
def test_planted_signed_overflow_is_reported_at_the_multiplying_line(catalog, tmp_path):
    work, _, results = _run_mutant(catalog, tmp_path, "cpp-kv-block-pool", "slot-in-int32")
    line = _line_of(work / "block_pool.hpp", "return block_id * block_size_ + offset;")
    case = results["slot_past_two_to_the_31"]
    assert case.outcome == "failed"
    assert case.message.startswith(
        f"block_pool.hpp:{line}: UndefinedBehaviorSanitizer: signed integer overflow: 1048576 * 2048"), case.message


@pytest.mark.slow
def test_planted_data_race_is_reported_by_tsan_at_both_racing_lines(catalog, tmp_path):
    work, _, results = _run_mutant(catalog, tmp_path, "cpp-spsc-ring", "publish-relaxed", cpp.THREAD)
    write = _line_of(work / "spsc_ring.hpp", "slots_[tail & mask_] = std::move(value);")
    read = _line_of(work / "spsc_ring.hpp", "std::optional<T> out(std::move(slots_[head & mask_]));")
    case = results["one_producer_one_consumer_threads"]  # the values may well arrive intact: TSan still fails it
    assert case.outcome == "failed"
    assert case.message.startswith(f"spsc_ring.hpp:{read}: ThreadSanitizer: data race"), case.message
    assert f"spsc_ring.hpp:{write} in" in case.message  # the racing write, too
