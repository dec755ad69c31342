"""What an integrity check costs at start-up: SQLite's quick_check and
integrity_check on the 10,000-card / 200,000-review database of
bench/srs_scale.py (about 50 MB), and open_store with the check run first
("sync", what the CLI does) or in a thread ("background", what the TUI does
above tui.core.store.SYNC_CHECK_BYTES). Prints a table, then one JSON object.

    .venv/bin/python bench/store_check.py [--runs N]
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def median_ms(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cards", type=int, default=10_000)
    parser.add_argument("--reviews", type=int, default=200_000)
    args = parser.parse_args()
    import srs_scale

    from tui.core.store import open_store

    with tempfile.TemporaryDirectory(prefix="vlearn-bench-") as tmp:
        path = Path(tmp) / "progress.db"
        catalog = srs_scale.synthetic_catalog(Path(tmp), args.cards)
        db = open_store(path)
        srs_scale.populate(db, catalog, args.reviews, dt.datetime.now(dt.UTC), random.Random(1))
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()
        size_mb = path.stat().st_size / 1e6

        def pragma(name):
            def run():
                conn = sqlite3.connect(path)
                conn.execute(f"PRAGMA {name}").fetchall()
                conn.close()
            return run

        figures = {
            "db_mb": round(size_mb, 1),
            "quick_check_ms": median_ms(pragma("quick_check"), args.runs),
            "integrity_check_ms": median_ms(pragma("integrity_check"), args.runs),
            "open_sync_ms": median_ms(lambda: open_store(path, check="sync").close(), args.runs),
            "open_background_ms": median_ms(lambda: open_store(path, check="background").close(), args.runs),
            "open_unchecked_ms": median_ms(lambda: open_store(path, check="off").close(), args.runs),
        }
    print(f"database {figures['db_mb']} MB ({args.cards} cards, {args.reviews} reviews), median of {args.runs}")
    for key, value in figures.items():
        if key.endswith("_ms"):
            print(f"  {key[:-3]:<20} {value:8.1f} ms")
    print(json.dumps({k: round(v, 1) for k, v in figures.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
