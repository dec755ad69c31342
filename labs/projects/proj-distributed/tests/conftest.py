"""Shared helpers: start the processes of a job (tests/launcher.py) and read every rank's results.

A stage's test module starts its job from a module fixture, before any test has
computed anything: the test process forks a launcher child, which forks every
rank (torch is already imported, so no rank pays for importing it again). The
ranks work while the module's in-process tests run; `Runs.check` waits for
them only when a test needs a result.
"""
from __future__ import annotations

import importlib.util
import os
import signal
import sys
import time
import traceback
from pathlib import Path

import pytest

from tui.core.labs.testing import lab_directory

LAUNCHER = Path(__file__).with_name("launcher.py")
WAIT_S = 90


def _launcher():
    spec = importlib.util.spec_from_file_location("proj_distributed_launcher", LAUNCHER)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Runs:
    def __init__(self, job: str, out: Path):
        self.job, self.out, self.log_path = job, out, out / "launcher.log"
        launcher = _launcher()
        lab = lab_directory()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the launcher: never returns into pytest
            code = 0
            try:
                fd = os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                os.dup2(fd, 1)
                os.dup2(fd, 2)
                launcher.run(lab, out, job)
            except BaseException:
                traceback.print_exc()
                code = 1
            finally:
                os._exit(code)
        self.pid, self.done, self._ranks = pid, False, {}

    def wait(self):
        deadline = time.monotonic() + WAIT_S
        while not self.done:
            if os.waitpid(self.pid, os.WNOHANG)[0]:
                self.done = True
            elif time.monotonic() > deadline:
                self.close()
                pytest.fail(f"the {self.job} processes did not finish in {WAIT_S} s", pytrace=False)
            else:
                time.sleep(0.05)

    def close(self):
        if not self.done:
            try:
                os.kill(self.pid, signal.SIGTERM)  # the launcher kills its ranks and exits
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.done = True

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def rank(self, world: int, rank: int) -> dict:
        self.wait()
        key = (world, rank)
        if key not in self._ranks:
            import torch

            path = self.out / f"w{world}_rank{rank}.pt"
            if not path.is_file():
                pytest.fail(f"world {world} rank {rank} died before reporting (a deadlock? a crash?):\n{self.log()}",
                            pytrace=False)
            self._ranks[key] = torch.load(path, weights_only=False)
        r = self._ranks[key]
        if "error" in r:
            pytest.fail(f"world {world} rank {rank} failed before its checks: {r['error']}\n{r['traceback']}",
                        pytrace=False)
        return r

    def check(self, world: int, rank: int, name: str) -> dict:
        """{got, want, calls, sizes} of one check on one rank; fails with the learner's error if it raised."""
        c = self.rank(world, rank)["checks"].get(name)
        if c is None:
            pytest.fail(f"world {world} rank {rank}: check {name} never ran (an earlier one hung?)\n{self.log()}",
                        pytrace=False)
        if "error" in c:
            pytest.fail(f"world {world} rank {rank}, {name} raised: {c['error']}\n{c['traceback']}", pytrace=False)
        return c


@pytest.fixture(scope="module")
def runs_for(tmp_path_factory):
    """runs_for(job) -> Runs, started once per module."""
    started = {}

    def get(job: str) -> Runs:
        if job not in started:
            started[job] = Runs(job, tmp_path_factory.mktemp(job))
        return started[job]

    yield get
    for r in started.values():
        r.close()


def assert_close(got, want, what: str, tol: float = 1e-9):
    assert tuple(got.shape) == tuple(want.shape), f"{what}: shape {tuple(got.shape)}, expected {tuple(want.shape)}"
    err = (got - want).abs().max().item()
    scale = max(1.0, want.abs().max().item())
    assert err <= tol * scale, f"{what}: differs from the single-process reference by up to {err:.3g}"
