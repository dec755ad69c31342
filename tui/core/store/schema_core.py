"""Core progress: the learner's settings, checklist ticks, lessons read, activity."""
from sqlite_utils import Migrations

migrations = Migrations("vlearn.core")


@migrations()
def m001_core(db):
    db["settings"].create({"key": str, "value": str}, pk="key")
    db["checklist"].create(
        {"day": int, "item": str, "done_at": str}, pk=("day", "item")
    )
    db["lessons_read"].create({"lesson_id": str, "first_read_at": str, "last_read_at": str}, pk="lesson_id")
    # One row per thing the learner did (tick, read, review, lab pass ...),
    # in local dates, so the streak and study calendar need no other table.
    db["activity"].create(
        {"id": int, "at": str, "date": str, "kind": str, "ref": str}, pk="id"
    )
    db["activity"].create_index(["date"])


@migrations()
def m002_lesson_finished(db):
    # When the learner first scrolled to the end of a lesson: its checklist items tick themselves.
    db["lessons_read"].add_column("finished_at", str)
