"""Launch → Today interactive with all content loaded (DESIGN.md §6: ≤ 0.6 s median).

Each run is a fresh interpreter that starts the real app headless, waits until
Today has rendered its checklist, prints 'ready' and exits; we time from spawn
to 'ready'. A Textual hello-world is timed the same way for comparison.
Usage: python bench/startup.py [RUNS]      (last line: JSON)
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

VLEARN = """
from tui.app import VlearnApp
class Bench(VlearnApp):
    def on_mount(self):  # VlearnApp.on_mount runs too: Textual calls every class's handler
        def ready():
            from tui.screens.today import TodayScreen, ChecklistItem
            assert isinstance(self.screen, TodayScreen) and self.screen.query(ChecklistItem)
            print("ready", len(self.catalog.lessons), len(self.catalog.cards), flush=True)
            self.exit()
        self.call_after_refresh(ready)
Bench().run(headless=True)
"""

HELLO = """
from textual.app import App
from textual.widgets import Static
class Hello(App):
    def compose(self):
        yield Static("hello")
    def on_mount(self):
        self.call_after_refresh(lambda: (print("ready", flush=True), self.exit()))
Hello().run(headless=True)
"""


def time_once(code: str, env: dict) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    _, err = proc.communicate(timeout=60)
    if not line.startswith("ready"):
        raise SystemExit(f"app did not become ready: {line!r}\n{err[-2000:]}")
    return elapsed, line.strip()


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 15
    with tempfile.TemporaryDirectory() as home:
        env = os.environ | {"VLEARN_HOME": home}
        time_once(VLEARN, env)  # first launch creates progress.db and warms the OS cache
        vlearn, info = [], ""
        for _ in range(runs):
            elapsed, info = time_once(VLEARN, env)
            vlearn.append(elapsed)
        hello = [time_once(HELLO, env)[0] for _ in range(runs)]
    _, lessons, cards = info.split()
    med, p90 = statistics.median(vlearn), sorted(vlearn)[int(0.9 * (runs - 1))]
    print(f"{'what':<34}{'median s':>10}{'p90 s':>10}")
    print(f"{'vlearn-tui → Today ready':<34}{med:>10.3f}{p90:>10.3f}")
    print(f"{'Textual hello-world':<34}{statistics.median(hello):>10.3f}{sorted(hello)[int(0.9 * (runs - 1))]:>10.3f}")
    print(f"({runs} runs each; content: {lessons} lessons, {cards} cards; budget 0.6 s)")
    print(json.dumps({"median_s": round(med, 4), "p90_s": round(p90, 4), "hello_world_median_s": round(statistics.median(hello), 4),
                      "runs": runs, "lessons": int(lessons), "cards": int(cards)}))


if __name__ == "__main__":
    main()
