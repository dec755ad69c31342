"""Run a lab's tests against a directory and return structured results.

The tests run in a separate process group (warm worker, or a cold
`python -m pytest` when that is not possible) with the lab's time limit. The
results come from the JSON lines our pytest plugin writes
(`tui.core.labs.testing`), never from terminal text. Projects run stage by
stage and stop at the first stage that does not pass.

Every run can be recorded in progress.db (`lab_runs`); a lab's state (not
started / in progress / passed) is derived from those rows.
"""
from __future__ import annotations

import atexit
import json
import shlex
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..paths import runs_dir
from ..store import progress
from . import worker as _worker
from .gpu import has_gpu
from .perf import verdict as perf_verdict

STATUSES = ("passed", "failed", "error", "timeout", "crashed")


@dataclass
class TestResult:
    __test__ = False  # not a pytest test class
    nodeid: str
    name: str
    outcome: str  # passed | failed | error | skipped
    message: str = ""  # one line: the assertion message, the skip reason ...
    longrepr: str = ""  # the traceback with pytest's assertion detail
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    stage: str | None = None

    @property
    def text(self) -> str:
        """The message without pytest's 'Failed: ' (pytest.fail) or a bare
        'AssertionError: ' in front: what follows is what went wrong."""
        return self.message.removeprefix("Failed: ").removeprefix("AssertionError:").lstrip(" ")

    def headline(self, folder: Path | str | None = None) -> str:
        """The message's first line, as a table cell, without the folder
        under test in paths (the lab screen names it once)."""
        lines = self.text.splitlines()
        first = next((line.strip() for line in lines if line.strip()), "")
        return first.replace(f"{folder}/", "") if folder else first

    @property
    def example(self) -> str:
        """Hypothesis' failing example (the call it made), or ''. Hypothesis'
        advice to pin the failure with @reproduce_failure (printed under CI
        settings) is cut: the learner reruns on save, not by decorating."""
        for marker in ("Failing test case:", "Falsifying example:"):
            at = self.message.find(marker)
            if at >= 0:
                example = self.message[at:]
                return example.split("You can reproduce this test case", 1)[0].strip()
        return ""


def test_from_event(event: dict, stage: str | None) -> TestResult:
    """A TestResult from one 'test' event of our pytest plugin."""
    fields = {k: event.get(k, "") for k in ("nodeid", "name", "outcome", "message", "longrepr", "stdout", "stderr")}
    return TestResult(**fields, duration=float(event.get("duration", 0.0)), stage=stage)


@dataclass
class RunResult:
    lab_id: str
    kind: str  # lab | project
    dir_kind: str  # workspace | solution | starter
    target: Path
    status: str = "passed"  # passed | compiled (GPU lab, no GPU) | failed | error | timeout | crashed
    tests: list[TestResult] = field(default_factory=list)
    perf: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what went wrong, in words
    output: str = ""  # the session's own output (head and tail when long)
    duration: float = 0.0
    started_at: str = ""
    stage: str | None = None  # projects: the stage that failed, or the last one run
    stages: list[tuple[str, str]] = field(default_factory=list)  # (stage id, status)
    warm: bool = False
    ran_on: str = ""  # the remote GPU runner's command, when the tests ran there
    quick: bool = False  # the quick run after a save (few examples, no shrinking)
    perf_goal: str = ""  # the lab's perf goal against this run, in words ("" when it sets none)
    perf_met: bool | None = None  # None: no goal, or nothing measured

    def count(self, outcome: str) -> int:
        return sum(1 for t in self.tests if t.outcome == outcome)

    @property
    def passed(self) -> int:
        return self.count("passed")

    @property
    def failed(self) -> int:
        return self.count("failed")

    @property
    def errors(self) -> int:
        return self.count("error")

    @property
    def skipped(self) -> int:
        return self.count("skipped")

    @property
    def ok(self) -> bool:
        return self.status == "passed"

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str)

    @classmethod
    def from_json(cls, text: str) -> RunResult:
        data = json.loads(text)
        data["target"] = Path(data["target"])
        data["tests"] = [TestResult(**t) for t in data["tests"]]
        data["stages"] = [tuple(s) for s in data["stages"]]
        return cls(**data)

    def summary(self) -> str:
        if self.status == "compiled":
            return f"COMPILED: correctness needs a GPU ({self.duration:.2f} s)"
        parts = [f"{n} {word}" for n, word in ((self.passed, "passed"), (self.failed, "failed"),
                                               (self.errors, "error" if self.errors == 1 else "errors"), (self.skipped, "skipped")) if n]
        text = f"{self.status.upper()}: " + (", ".join(parts) or "no tests ran") + f" in {self.duration:.2f} s"
        if self.kind == "project" and self.stage and not self.ok:
            text += f" (stopped at stage '{self.stage}')"
        if self.ran_on:
            where = self.ran_on if len(self.ran_on) <= 40 else self.ran_on[:39] + "…"
            text += f" on `{where}`"
        return text


def _describe_signal(number: int) -> str:
    try:
        name = signal.Signals(number).name
    except ValueError:
        name = f"signal {number}"
    words = signal.strsignal(number) or ""
    return f"{name} ({words.lower()})" if words else name


class LabRunner:
    """Runs labs and projects. One per app; closes its warm worker on exit."""

    def __init__(self, db=None, warm: bool = True, remote: list[str] | None = None):
        self.db = db
        self.remote = remote  # a command reaching a GPU machine (tui.core.labs.remote), for GPU labs here without one
        self.worker = _worker.WarmWorker(cwd=str(runs_dir())) if warm and _worker.WarmWorker.supported() else None
        self.fallbacks = 0  # cold runs because the worker was unusable

    def warm_up(self) -> None:
        """Start the worker now so the first save does not pay for it."""
        if self.worker is not None:
            self.worker.start()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.close()

    # -------------------------------------------------------------- running

    def run(self, item, target: str | Path = "workspace", *, record: bool = True, quick: bool = False,
            on_test: Callable[[TestResult], None] | None = None, first_failure: bool = False) -> RunResult:
        """Run `item` (a Lab or Project) against the workspace, solution/,
        starter/ or a given directory (recorded as a workspace run). `quick`:
        fewer hypothesis examples and no shrinking, for the run after each
        save. `on_test` gets each test's result as soon as it finishes (on a
        helper thread), before the whole run is done. `first_failure`: stop at
        the first failing test (enough to reject a wrong solution)."""
        from .workspace import ensure_workspace

        if isinstance(target, Path):
            dir_kind, directory = "workspace", target
        elif target == "workspace":
            dir_kind, directory = "workspace", ensure_workspace(item)
        elif target in ("solution", "starter"):
            dir_kind, directory = target, item.path / target
        else:
            raise ValueError(f"unknown target {target!r}")
        result = RunResult(item.id, item.kind, dir_kind, Path(directory), started_at=progress.stamp(), quick=quick)
        for stage_id, tests_dir in item.test_runs():
            one = self._run_once(item, tests_dir, Path(directory), stage_id, quick, on_test, first_failure)
            result.tests += one.tests
            result.perf += one.perf
            result.notes += one.notes
            result.output += one.output
            result.duration += one.duration
            result.warm, result.ran_on = one.warm, one.ran_on
            result.status, result.stage = one.status, stage_id
            if stage_id is not None:
                result.stages.append((stage_id, one.status))
            if not one.ok:
                if stage_id is not None:
                    stage = item.stage(stage_id)
                    number = [s.id for s in item.stages].index(stage_id) + 1
                    result.notes.insert(0, f"stage {number} '{stage.title}' did not pass ({one.status}); later stages were not run")
                break
        if record and self.db is not None:
            record_run(self.db, result)
        return result

    def _execute(self, request: dict) -> dict:
        if self.worker is not None:
            try:
                return self.worker.run(request)
            except _worker.WorkerError:
                self.fallbacks += 1  # the next run starts a fresh worker
        return _worker.run_cold(request)

    def _run_once(self, item, tests_dir: Path, directory: Path, stage_id: str | None, quick: bool = False,
                  on_test: Callable[[TestResult], None] | None = None, first_failure: bool = False) -> RunResult:
        tests_dir, directory = tests_dir.resolve(), directory.resolve()
        if self.remote and getattr(item, "gpu", "none") == "required" and not has_gpu():
            return self._run_remote(item, tests_dir, directory, stage_id, quick)
        scratch = Path(tempfile.mkdtemp(prefix="run-", dir=runs_dir()))
        request = _worker.session_request(tests_dir, item.path.resolve(), directory, scratch, runs_dir(),
                                          float(item.timeout_s), quick, memory_mb=item.memory_mb,
                                          first_failure=first_failure)
        tail = _Tail(scratch / _worker.RESULTS_NAME, lambda event: on_test(test_from_event(event, stage_id))) if on_test else None
        try:
            if tail:
                tail.start()
            try:
                ex = self._execute(request)
            finally:
                if tail:
                    tail.stop()
            events = _worker.read_jsonl(scratch / _worker.RESULTS_NAME)
            perf = _worker.read_jsonl(scratch / _worker.PERF_NAME)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        return interpret(item, stage_id, directory, ex, events, perf)

    def _run_remote(self, item, tests_dir: Path, directory: Path, stage_id: str | None, quick: bool) -> RunResult:
        from . import remote

        try:
            ex, events, perf = remote.execute(self.remote, item, tests_dir, directory, quick)
        except remote.RemoteError as exc:
            return RunResult(item.id, item.kind, "", directory, status="error", notes=[str(exc)],
                             ran_on=shlex.join(self.remote))
        result = interpret(item, stage_id, directory, ex, events, perf)
        result.ran_on = ex["remote"]
        return result


class _Tail(threading.Thread):
    """Follows the plugin's results file while a run goes on and hands each
    finished test to a callback: the learner sees the first failure while
    the rest still run."""

    POLL_S = 0.01

    def __init__(self, path: Path, on_test: Callable[[dict], None]) -> None:
        super().__init__(name="vlearn-results-tail", daemon=True)
        self.path, self.on_test = path, on_test
        self.done = threading.Event()
        self.offset, self.partial = 0, b""

    def run(self) -> None:
        while not self.done.wait(self.POLL_S):
            self._read()
        self._read()

    def stop(self) -> None:
        self.done.set()
        self.join()

    def _read(self) -> None:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
        except OSError:
            return
        self.offset += len(chunk)
        *lines, self.partial = (self.partial + chunk).split(b"\n")
        for line in lines:
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if event.get("event") == "test":
                try:
                    self.on_test(event)
                except Exception:  # noqa: BLE001 - a display problem must not stop the run
                    pass


def interpret(item, stage_id, directory: Path, ex: dict, events: list[dict], perf: list[dict]) -> RunResult:
    """Turn the supervisor's verdict and the plugin's events into a RunResult."""
    result = RunResult(item.id, item.kind, "", directory, duration=ex["duration"], output=ex["output"],
                       perf=perf, warm=ex.get("warm", False))
    started, finished, exitstatus, collect_errors = [], set(), None, []
    for event in events:
        kind = event.get("event")
        if kind == "start":
            started.append(event["nodeid"])
        elif kind == "test":
            finished.add(event["nodeid"])
            result.tests.append(test_from_event(event, stage_id))
        elif kind == "collect_error":
            collect_errors.append(event)
        elif kind == "finish":
            exitstatus = event.get("exitstatus")
    running = next((n for n in reversed(started) if n not in finished), None)
    where = f" while {running.split('::', 1)[-1]} was running" if running else ""
    rc, sig = ex.get("rc"), ex.get("signal")
    notes = result.notes
    if ex["flooded"]:
        result.status = "error"
        notes.append(f"the tests printed more than {_worker.OUTPUT_CAP // 1_000_000} MB of output{where}; "
                     "the run was stopped and its process group killed")
    elif ex.get("memory_exceeded"):
        result.status = "error"
        notes.append(f"stopped: the run held {ex['peak_mb']:,} MiB of memory{where}, over the lab's limit of "
                     f"{item.memory_mb:,.0f} MiB (lab.yaml memory_mb); its process group was killed")
    elif ex["timed_out"]:
        result.status = "timeout"
        notes.append(f"stopped after {item.timeout_s:g} s{where}: an infinite loop or a hang? "
                     "The run's whole process group was killed")
    elif sig:
        result.status = "crashed"
        notes.append(f"the test process crashed with {_describe_signal(sig)}{where}")
    elif exitstatus is None and rc in (2, 3, 4):
        result.status = "error"
        last = ex["output"].strip().splitlines()[-1:] or [""]
        notes.append(f"pytest could not run the tests (exit code {rc}): {last[0]}")
    elif exitstatus is None and rc not in (0, 1, 5):
        result.status = "crashed"
        notes.append(f"the test process exited with code {rc} before pytest finished{where}")
    elif collect_errors:
        result.status = "error"
        for err in collect_errors:
            notes.append(f"could not load {err['nodeid']}: {err.get('message', '')}")
            result.tests.append(TestResult(err["nodeid"], err["nodeid"], "error", err.get("message", ""),
                                           err.get("longrepr", ""), stage=stage_id))
    elif rc == 0:
        result.status = "passed"
    elif rc == 1:
        result.status = "failed"
    elif rc == 5:
        result.status = "error"
        notes.append(f"no tests were found in {tests_dir_name(item, stage_id)}")
    else:
        result.status = "error"
        notes.append(f"pytest stopped with exit code {rc}")
    if result.status == "passed" and getattr(item, "gpu", "none") == "required" and result.skipped:
        # Only the compile check could run: the kernel is not verified, so this is not a pass.
        result.status = "compiled"
        notes.append("compiled; correctness needs a GPU, and there is none here, so nothing beyond the "
                     "compile was checked (a remote GPU runner or the lab's Triton twin gives a signal)")
    if running and result.status in ("timeout", "crashed", "error") and running not in finished:
        name = running.split("::", 1)[-1]
        result.tests.append(TestResult(running, name, "error", notes[-1] if notes else result.status, stage=stage_id))
    goal = perf_verdict(item, result)
    if goal is not None:
        result.perf_goal = goal.text()
        result.perf_met = goal.met if goal.measured is not None else None
    if ex.get("orphans"):
        pids = ", ".join(str(p) for p in ex["orphans"] if p > 0) or "unknown"
        notes.append(f"the tests left {len(ex['orphans'])} process(es) running (pid {pids}); "
                     "they were killed, with any that had left the lab's process group")
    return result


def tests_dir_name(item, stage_id) -> str:
    for sid, path in item.test_runs():
        if sid == stage_id:
            try:
                return str(path.relative_to(item.path.parent.parent.parent))
            except ValueError:
                return str(path)
    return "tests/"


# ------------------------------------------------------------------ one runner per process

_shared: LabRunner | None = None
_shared_lock = threading.Lock()


def shared_runner() -> LabRunner:
    """The process-wide runner (one warm worker), closed at exit. It does not
    record runs itself: callers record on their own thread with record_run."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = LabRunner(db=None)
            atexit.register(_shared.close)
        return _shared


# ------------------------------------------------------------------ the store


def record_run(db, result: RunResult) -> None:
    """Store one run; a passing workspace run is study activity (streak). A
    workspace run is also kept whole, for the lab screen after a restart."""
    with db.atomic():
        db["lab_runs"].insert({
            "lab_id": result.lab_id,
            "started_at": result.started_at or progress.stamp(),
            "duration_s": round(result.duration, 4),
            "passed": result.passed,
            "failed": result.failed,
            "errors": result.errors,
            "skipped": result.skipped,
            "status": result.status,
            "dir_kind": result.dir_kind,
            "stage": result.stage,
            "note": "; ".join(result.notes)[:500],
            "perf_met": None if result.perf_met is None else int(result.perf_met),
        })
        if result.dir_kind == "workspace":
            _remember(db, result.lab_id, last_result=result.to_json())
    if result.ok and result.dir_kind == "workspace":
        progress.log_activity(db, "lab", result.lab_id)


def _remember(db, lab_id: str, **values) -> None:
    db.execute("insert or ignore into lab_memory(lab_id, hints_shown) values (?, 0)", [lab_id])
    sets = ", ".join(f"{k} = ?" for k in values)
    db.execute(f"update lab_memory set {sets}, updated_at = ? where lab_id = ?",
               [*values.values(), progress.stamp(), lab_id])


def hints_shown(db, lab_id: str) -> int:
    row = db.execute("select hints_shown from lab_memory where lab_id = ?", [lab_id]).fetchone()
    return int(row[0] or 0) if row else 0


def set_hints_shown(db, lab_id: str, count: int) -> None:
    with db.atomic():
        _remember(db, lab_id, hints_shown=count)


def last_result(db, lab_id: str) -> RunResult | None:
    """The lab's last recorded workspace run, or None."""
    row = db.execute("select last_result from lab_memory where lab_id = ?", [lab_id]).fetchone()
    if not row or not row[0]:
        return None
    try:
        return RunResult.from_json(row[0])
    except (ValueError, TypeError, KeyError):
        return None  # written by a version with other fields: start afresh


@dataclass
class LabState:
    lab_id: str
    state: str  # not started | in progress | passed
    runs: int = 0
    first_pass_at: str | None = None
    last_status: str | None = None
    last_run_at: str | None = None


def lab_state(db, lab_id: str) -> LabState:
    """Derived from the learner's own (workspace) runs only."""
    row = db.execute(
        "select count(*), min(case when status = 'passed' then started_at end), max(started_at) "
        "from lab_runs where lab_id = ? and dir_kind = 'workspace'", [lab_id]
    ).fetchone()
    runs, first_pass, last_at = row
    last = db.execute(
        "select status from lab_runs where lab_id = ? and dir_kind = 'workspace' order by id desc limit 1", [lab_id]
    ).fetchone()
    state = "passed" if first_pass else ("in progress" if runs else "not started")
    return LabState(lab_id, state, runs, first_pass, last[0] if last else None, last_at)


def lab_states(db, ids) -> dict[str, LabState]:
    return {i: lab_state(db, i) for i in ids}


def track_progress(db, catalog) -> dict[str, tuple[int, int]]:
    """track -> (passed, total); projects count under 'projects'."""
    from ..content.labs import all_labs

    passed = {r[0] for r in db.execute(
        "select distinct lab_id from lab_runs where status = 'passed' and dir_kind = 'workspace'")}
    out: dict[str, list[int]] = {}
    for item in all_labs(catalog):
        key = "projects" if item.kind == "project" else item.track
        entry = out.setdefault(key, [0, 0])
        entry[1] += 1
        entry[0] += item.id in passed
    return {k: (v[0], v[1]) for k, v in out.items()}
