"""The pytest plugin every lab's tests run under.

The same tests run against the learner's workspace, `solution/` and
`starter/`: the runner says which through VLEARN_LAB_DIR, and the tests get
it from the `lab_dir` fixture. `load_lab_module` imports a file from there
afresh each time, so no test ever sees another directory's code.
GPU labs report timings through `record_perf`; the runner collects them.
"""
from __future__ import annotations

import hashlib
import importlib.util
import itertools
import json
import os
import sys
from pathlib import Path

import pytest

LAB_DIR_ENV = "VLEARN_LAB_DIR"
PERF_FILE_ENV = "VLEARN_PERF_FILE"
RESULTS_FILE_ENV = "VLEARN_RESULTS_FILE"  # the runner reads structured results from here
QUICK_ENV = "VLEARN_QUICK"  # "1": fewer hypothesis examples, for the save -> result loop
REWRITE_CACHE_ENV = "VLEARN_REWRITE_CACHE"  # a folder for pytest's rewritten test modules
HYPOTHESIS_DIR_ENV = "VLEARN_HYPOTHESIS_DIR"  # Hypothesis' example database, outside the folder under test
TEXT_CAP = 20_000  # per captured stream / traceback kept in a result
_counter = itertools.count()


def lab_directory() -> Path:
    value = os.environ.get(LAB_DIR_ENV)
    if not value:
        raise RuntimeError(f"{LAB_DIR_ENV} is not set: run lab tests through `vlearn check` or `vlearn verify`")
    return Path(value).resolve()


@pytest.fixture
def lab_dir() -> Path:
    """The directory under test: the workspace copy, solution/ or starter/."""
    return lab_directory()


def load_lab_module(lab_dir: Path, filename: str):
    """Import `filename` from `lab_dir` as a fresh module (never cached)."""
    path = Path(lab_dir) / filename
    if not path.is_file():
        pytest.fail(f"{path} does not exist: the lab expects you to edit this file", pytrace=False)
    name = f"vlearn_lab_{path.stem}_{next(_counter)}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    try:
        code = _compiled(path)
    except SyntaxError as exc:  # one line the learner can act on, not a traceback
        pytest.fail(f"{path.name}:{exc.lineno}: SyntaxError: {exc.msg}", pytrace=False)
    sys.path.insert(0, str(path.parent))  # let the file import its neighbours
    sys.modules[name] = module  # dataclasses and typing look the module up by name
    try:
        exec(code, module.__dict__)
    finally:
        sys.path.remove(str(path.parent))
    return module


_code_cache: dict = {}


def _compiled(path: Path):
    """Compile once per content within a session: many tests load the same
    file, and compiling it each time was a large share of a run. Keyed by the
    bytes themselves, so an edit is never served stale (unlike .pyc mtimes)."""
    source = path.read_bytes()
    key = (str(path), hashlib.sha256(source).digest())
    code = _code_cache.get(key)
    if code is None:
        code = _code_cache[key] = compile(source, str(path), "exec", dont_inherit=True)
    return code


def record_perf(**figures) -> None:
    """Hand timing figures (name=value) to the runner, e.g. record_perf(kernel_ms=0.12,
    gbps=2600.0, pct_of_copy=88.1, vs_torch=1.9). Ignored outside a runner."""
    target = os.environ.get(PERF_FILE_ENV)
    if target:
        current = os.environ.get("PYTEST_CURRENT_TEST", "").rsplit(" ", 1)[0]
        with open(target, "a", encoding="utf-8") as out:
            out.write(json.dumps({**figures, "_test": current}, default=str) + "\n")


# ------------------------------------------------------------------ results
# One JSON object per line, written as soon as each event happens, so a run
# that is killed (timeout, crash) still tells which tests finished and which
# one was running.

_results = None
_pending: dict = {}


def _emit(record: dict) -> None:
    if _results is not None:
        _results.write(json.dumps(record, default=str) + "\n")
        _results.flush()


def _clip(text: str) -> str:
    return text if len(text) <= TEXT_CAP else text[:TEXT_CAP] + f"\n... ({len(text) - TEXT_CAP} more characters cut)"


QUICK_EXAMPLES = 15


def examples(n: int) -> int:
    """Hypothesis examples for a lab test: `n`, or at most QUICK_EXAMPLES in the
    run after a save, where the learner is waiting on the answer."""
    return min(n, QUICK_EXAMPLES) if os.environ.get(QUICK_ENV) == "1" else n


def _hypothesis_profile() -> None:
    """No per-example deadline (a busy 2-core machine must not fail a correct
    answer). When the learner is waiting on a save: fewer examples, and no
    shrinking or explaining of a failure (that took seconds); the first
    failing example found is reported as it is. `vlearn check` and `vlearn
    verify` run the full profile, shrinking included."""
    try:
        from hypothesis import Phase, settings
    except ImportError:
        return
    settings.register_profile("vlearn", deadline=None)
    settings.register_profile("vlearn-quick", deadline=None, max_examples=QUICK_EXAMPLES,
                              phases=(Phase.explicit, Phase.reuse, Phase.generate))
    settings.load_profile("vlearn-quick" if os.environ.get(QUICK_ENV) == "1" else "vlearn")
    if os.environ.get(HYPOTHESIS_DIR_ENV):  # the run's cwd is the learner's folder: keep .hypothesis out of it
        from hypothesis.configuration import set_hypothesis_home_dir

        set_hypothesis_home_dir(os.environ[HYPOTHESIS_DIR_ENV])


def _is_property_test(item) -> bool:
    return bool(getattr(getattr(item, "obj", None), "is_hypothesis_test", False))


def pytest_collection_modifyitems(session, config, items) -> None:
    """Example-based tests first, property tests after: the quick, pointed
    failures reach the learner before Hypothesis has finished searching."""
    items.sort(key=_is_property_test)  # stable: file order otherwise


def _cache_rewrites(folder: Path) -> None:
    """pytest rewrites the asserts of every test module on every run (tens of
    ms for a lab's tests, in each run after a save); keep the rewritten code,
    keyed by the file's path and bytes, so it is never stale. Private pytest
    API: when it moves, runs are only slower."""
    import marshal

    from _pytest.assertion import rewrite

    original = getattr(rewrite, "_rewrite_test", None)
    if original is None or getattr(original, "vlearn_cached", False):
        return
    stamp = f"{sys.version}\0{pytest.__version__}".encode()

    def rewrite_test(fn, config):
        key = hashlib.sha256(stamp + str(fn).encode() + b"\0" + Path(fn).read_bytes()).hexdigest()
        cached = folder / f"{key}.code"
        try:
            return os.stat(fn), marshal.loads(cached.read_bytes())
        except (OSError, ValueError, EOFError, TypeError):
            pass
        source_stat, code = original(fn, config)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(marshal.dumps(code))
            os.replace(tmp, cached)
        except OSError:
            pass
        return source_stat, code

    rewrite_test.vlearn_cached = True
    rewrite._rewrite_test = rewrite_test


def pytest_configure(config) -> None:
    global _results
    # Lab runs ignore any ini file, so declare the marker lab tests use here.
    config.addinivalue_line("markers", "gpu: needs an NVIDIA GPU (skipped with a reason elsewhere)")
    if os.environ.get(LAB_DIR_ENV):  # only under the lab runner
        _hypothesis_profile()
        if os.environ.get(REWRITE_CACHE_ENV):
            _cache_rewrites(Path(os.environ[REWRITE_CACHE_ENV]))
    target = os.environ.get(RESULTS_FILE_ENV)
    if target and _results is None:
        _results = open(target, "a", encoding="utf-8", buffering=1)


def pytest_unconfigure(config) -> None:
    global _results
    if _results is not None:
        _results.close()
        _results = None


def pytest_runtest_logstart(nodeid, location) -> None:
    _emit({"event": "start", "nodeid": nodeid})


def _message(report) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    if crash is not None:
        return crash.message
    if isinstance(report.longrepr, tuple):  # skips: (path, line, reason)
        return str(report.longrepr[2])
    text = str(report.longrepr or "").strip()
    return text.splitlines()[-1] if text else ""


def pytest_runtest_logreport(report) -> None:
    entry = _pending.setdefault(report.nodeid, {
        "event": "test", "nodeid": report.nodeid, "name": report.nodeid.split("::", 1)[-1],
        "outcome": "passed", "message": "", "longrepr": "", "duration": 0.0,
    })
    entry["duration"] += report.duration
    if report.skipped and entry["outcome"] == "passed":
        entry["outcome"] = "skipped"
        entry["message"] = _message(report).removeprefix("Skipped: ")
    elif report.failed:
        # A failure in setup or teardown is an error of the test's machinery;
        # in the call it is the learner's (or the starter's) failure.
        outcome = "failed" if report.when == "call" else "error"
        if entry["outcome"] not in ("failed", "error"):
            entry["outcome"] = outcome
            entry["message"] = _message(report)
            entry["longrepr"] = _clip(report.longreprtext)
    if report.when == "teardown":
        entry["stdout"] = _clip(report.capstdout)
        entry["stderr"] = _clip(report.capstderr)
        _emit(_pending.pop(report.nodeid))


def pytest_collectreport(report) -> None:
    if report.failed:
        _emit({"event": "collect_error", "nodeid": report.nodeid or "(collection)",
               "message": _message(report), "longrepr": _clip(report.longreprtext)})


def pytest_sessionfinish(session, exitstatus) -> None:
    _emit({"event": "finish", "exitstatus": int(exitstatus)})
