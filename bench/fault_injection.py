"""Fault injection against a real vlearn home: SIGKILL mid-grading, mid-drill
autosave and mid-lab-run, and two processes on one database at once. Prints,
per scenario, what was acknowledged against what was found, the integrity
check, tracebacks seen, and lab processes left alive.

    python bench/fault_injection.py [--rounds 20] [--seed 1]

Nothing is mocked: each round is `python -m tui.cli ...` in its own process on
a fresh VLEARN_HOME; acknowledgements are the lines vlearn prints only after
its write committed ("graded ...").
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LAB = "py-kv-cache-sizing"


def vlearn(home: Path, *args: str, stdin=subprocess.PIPE) -> subprocess.Popen:
    env = os.environ | {"VLEARN_HOME": str(home), "PYTHONUNBUFFERED": "1", "VLEARN_CONTENT": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "tui.cli", *args], cwd=REPO, env=env, stdin=stdin,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def prepare(home: Path) -> list[str]:
    """A home where every deck is open and new cards are not rationed; the deck ids."""
    subprocess.run([sys.executable, "-m", "tui.cli", "srs", "config", "--new-per-day", "9999"], cwd=REPO,
                   env=os.environ | {"VLEARN_HOME": str(home)}, capture_output=True, check=True)
    return sorted(p.stem for p in (REPO / "flashcards").glob("*.yaml"))


def feed(proc: subprocess.Popen, line: str) -> None:
    """Keep answering until the process goes away."""
    try:
        while proc.poll() is None:
            proc.stdin.write(line)
            proc.stdin.flush()
    except (BrokenPipeError, OSError, ValueError):
        pass


def reviewer(home: Path, decks: list[str]) -> tuple[subprocess.Popen, list[str]]:
    args = ["review", "--limit", "99999"] + [a for d in decks for a in ("--deck", d)]
    proc = vlearn(home, *args)
    acks: list[str] = []

    def read():
        for line in proc.stdout:
            if line.startswith("graded "):
                acks.append(line.split()[1].rstrip(":"))

    threading.Thread(target=feed, args=(proc, "4\n"), daemon=True).start()
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    proc.reader = reader
    return proc, acks


def until(condition, limit_s: float = 120.0) -> None:
    """Wait for the process under test to be doing the work (start-up varies with load)."""
    end = time.monotonic() + limit_s
    while not condition() and time.monotonic() < end:
        time.sleep(0.02)


def integrity(home: Path) -> str:
    with sqlite3.connect(home / "progress.db") as con:
        return con.execute("pragma integrity_check").fetchone()[0]


def reviews_found(home: Path) -> int:
    with sqlite3.connect(home / "progress.db") as con:
        try:
            return con.execute("select count(*) from srs_reviews").fetchone()[0]
        except sqlite3.OperationalError:  # killed before the schema existed
            return 0


def kill_grading(rng: random.Random, root: Path, decks: list[str]) -> dict:
    home = Path(tempfile.mkdtemp(dir=root))
    prepare(home)
    proc, acks = reviewer(home, decks)
    until(lambda: acks or proc.poll() is not None)
    time.sleep(rng.uniform(0.1, 2.0))  # the fault's moment: random by design
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.reader.join(5)
    return {"acknowledged": len(acks), "found": reviews_found(home), "integrity": integrity(home)}


def kill_autosave(rng: random.Random, root: Path) -> dict:
    home = Path(tempfile.mkdtemp(dir=root))
    proc = vlearn(home, "drill", "--question", "cuda-coalesced-copy")
    sent = []
    started = threading.Event()

    def read():
        for line in proc.stdout:
            if line.startswith("Type your answer"):
                started.set()

    threading.Thread(target=read, daemon=True).start()

    def write():
        started.wait(120)
        try:
            for i in range(100_000):
                line = f"line {i} of my answer"
                proc.stdin.write(line + "\n")
                proc.stdin.flush()
                sent.append(line)
        except (BrokenPipeError, OSError, ValueError):
            pass

    threading.Thread(target=write, daemon=True).start()
    until(lambda: sent or proc.poll() is not None)
    time.sleep(rng.uniform(0.1, 2.0))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(home / "progress.db") as con:
        try:
            row = con.execute("select answer from drills order by id desc limit 1").fetchone()
        except sqlite3.OperationalError:  # killed before its first write: nothing was acknowledged
            row = None
    saved = (row[0] or "").split("\n") if row and row[0] else []
    return {"acknowledged": len(saved), "found": len(saved) if saved == sent[: len(saved)] else -1,
            "integrity": integrity(home)}


def lab_token_processes(home: Path) -> list[int]:
    """Live processes whose environment points at this home's runs folder."""
    needle = f"VLEARN_RUNS={home / 'runs'}".encode()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if needle in Path(f"/proc/{name}/environ").read_bytes():
                    found.append(int(name))
            except OSError:
                continue
    return found


def kill_lab_run(rng: random.Random, root: Path) -> dict:
    home = Path(tempfile.mkdtemp(dir=root))
    proc = vlearn(home, "check", LAB, stdin=subprocess.DEVNULL)
    until(lambda: lab_token_processes(home) or proc.poll() is not None)  # the lab's tests are running
    time.sleep(rng.uniform(0.0, 0.5))
    mid_run = bool(lab_token_processes(home))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 5  # the worker notices its parent's death on its next select
    while lab_token_processes(home) and time.monotonic() < deadline:
        time.sleep(0.05)
    # "acknowledged" here: rounds where the lab's tests were running when vlearn was killed.
    return {"acknowledged": int(mid_run), "found": int(mid_run), "left_alive": len(lab_token_processes(home)), "integrity": integrity(home) if (home / "progress.db").exists() else "ok"}


def concurrent(rng: random.Random, root: Path, decks: list[str]) -> dict:
    """Two reviewers and a lab check on one home at once; then SIGKILL all."""
    home = Path(tempfile.mkdtemp(dir=root))
    prepare(home)
    (a, acks_a), (b, acks_b) = reviewer(home, decks), reviewer(home, decks)
    check = vlearn(home, "check", LAB, stdin=subprocess.DEVNULL)
    until(lambda: (acks_a and acks_b) or a.poll() is not None or b.poll() is not None)
    time.sleep(rng.uniform(0.5, 3.0))
    for proc in (a, b, check):
        proc.send_signal(signal.SIGKILL)
    errors = ""
    for proc in (a, b, check):
        proc.wait()
        errors += proc.stderr.read()
    a.reader.join(5)
    b.reader.join(5)
    return {"acknowledged": len(acks_a) + len(acks_b), "found": reviews_found(home), "integrity": integrity(home),
            "tracebacks": errors.count("Traceback")}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    failures = 0
    with tempfile.TemporaryDirectory(prefix="vlearn-faults-") as tmp:
        root = Path(tmp)
        decks = prepare(Path(tempfile.mkdtemp(dir=root)))
        scenarios = {
            "SIGKILL while grading": lambda: kill_grading(rng, root, decks),
            "SIGKILL during drill autosave": lambda: kill_autosave(rng, root),
            "SIGKILL during a lab run": lambda: kill_lab_run(rng, root),
            "two reviewers + a lab check at once": lambda: concurrent(rng, root, decks),
        }
        for name, scenario in scenarios.items():
            rows = [scenario() for _ in range(args.rounds)]
            acked = sum(r.get("acknowledged", 0) for r in rows)
            lost = sum(max(r.get("acknowledged", 0) - r.get("found", 0), 0) for r in rows if r.get("found", 0) >= 0)
            corrupt = sum(r.get("found", 0) < 0 for r in rows)
            bad = sum(r["integrity"] != "ok" for r in rows)
            alive = sum(r.get("left_alive", 0) for r in rows)
            tracebacks = sum(r.get("tracebacks", 0) for r in rows)
            failures += lost + corrupt + bad + alive + tracebacks
            print(f"{name:38s} rounds {len(rows):3d}  acknowledged {acked:6d}  lost {lost}  "
                  f"torn {corrupt}  integrity failures {bad}  processes left {alive}  tracebacks {tracebacks}")
    print("PASS" if failures == 0 else f"FAIL ({failures} problems)")
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
