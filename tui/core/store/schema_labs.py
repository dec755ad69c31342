"""Lab runs: one row per test run of a lab or project (workspace, solution or starter)."""
from sqlite_utils import Migrations

migrations = Migrations("vlearn.labs")


@migrations()
def m001_lab_runs(db):
    # A lab's state (not started / in progress / passed, first pass time) is
    # derived from these rows, so nothing else can disagree with them.
    db["lab_runs"].create(
        {
            "id": int,
            "lab_id": str,
            "started_at": str,
            "duration_s": float,
            "passed": int,
            "failed": int,
            "errors": int,
            "skipped": int,
            "status": str,  # passed | failed | error | timeout | crashed
            "dir_kind": str,  # workspace | solution | starter
            "stage": str,  # projects: the failing (or last) stage
            "note": str,
        },
        pk="id",
    )
    db["lab_runs"].create_index(["lab_id", "dir_kind"])


@migrations()
def m002_lab_memory(db):
    # What a lab screen shows again after a restart: the hints the learner has
    # revealed and the last workspace run, in full (RunResult as JSON).
    db["lab_memory"].create({"lab_id": str, "hints_shown": int, "last_result": str, "updated_at": str}, pk="lab_id")


@migrations()
def m003_perf_goal(db):
    # 1 when a passing run also reached the lab's perf goal (lab.yaml `perf:`): a separate
    # achievement from passing; NULL for labs without a goal or runs that measured nothing.
    db["lab_runs"].add_column("perf_met", int)
