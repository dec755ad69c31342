"""Timed drills and mock interviews."""
from sqlite_utils import Migrations

migrations = Migrations("vlearn.drills")


@migrations()
def m001_drills(db):
    # One row per drill attempt; the answer is autosaved into it while it runs.
    db["drills"].create(
        {
            "id": int,
            "question_id": str,
            "started_at": str,
            "finished_at": str,
            "limit_s": int,
            "elapsed_s": float,
            "hints_used": str,  # JSON: [{"index": i, "at_s": t, "early": bool}]
            "answer": str,
            "saved_at": str,
            "rubric_ticks": str,  # JSON list of ticked point indexes
            "score": float,  # ticked / total, 0..1
            "status": str,  # running | submitted | timed_out | graded | abandoned
            "interview_id": int,
        },
        pk="id",
    )
    db["drills"].create_index(["question_id"])
    db["interviews"].create(
        {
            "id": int,
            "interviewer_id": str,
            "started_at": str,
            "finished_at": str,
            "driver": str,  # scripted | model:<name>
            "status": str,  # running | finished | abandoned
            "summary": str,
            "score": float,
        },
        pk="id",
    )
    # Append-only transcript: a crash loses nothing already said.
    db["interview_turns"].create(
        {"id": int, "interview_id": int, "at": str, "role": str, "question_id": str, "text": str},
        pk="id",
        foreign_keys=[("interview_id", "interviews", "id")],
    )
    db["interview_turns"].create_index(["interview_id"])
    db["interview_grades"].create(
        {
            "interview_id": int,
            "question_id": str,
            "ticks": str,  # JSON list of ticked rubric point indexes
            "score": float,
            "feedback": str,
            "graded_by": str,  # self | model
        },
        pk=("interview_id", "question_id"),
        foreign_keys=[("interview_id", "interviews", "id")],
    )
