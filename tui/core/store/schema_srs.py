"""Spaced repetition: one row of FSRS state per card, one row per review.

Both tables are keyed by the card's stable id (the deck YAML `id`), never
by its text, so editing a card keeps its history and a card removed from a
deck keeps its logs. Times are UTC ISO-8601 with microseconds (fixed width,
so text order is time order and the `due` index serves range scans).
"""
from sqlite_utils import Migrations

migrations = Migrations("vlearn.srs")


@migrations()
def m001_srs(db):
    db["srs_cards"].create(
        {
            "card_id": str,
            "state": int,  # fsrs.State: 1 learning, 2 review, 3 relearning
            "step": int,
            "stability": float,
            "difficulty": float,
            "due": str,
            "last_review": str,
            "reps": int,
            "lapses": int,
            "introduced": str,  # local date of the first review (daily new-card limit)
        },
        pk="card_id",
        not_null={"state", "due", "reps", "lapses", "introduced"},
    )
    db["srs_cards"].create_index(["due"])
    db["srs_cards"].create_index(["introduced"])
    db["srs_reviews"].create(
        {
            "id": int,
            "card_id": str,
            "rating": int,  # fsrs.Rating 1..4
            "reviewed_at": str,  # UTC
            "date": str,  # the learner's local date, for per-day statistics
            "duration_ms": int,
            "state_before": int,  # 0 = new; else fsrs.State before this review
            "due_after": str,
            "before": str,  # JSON of the srs_cards row before (null: card was new) -> exact undo
        },
        pk="id",
        not_null={"card_id", "rating", "reviewed_at", "date", "state_before", "due_after"},
    )
    db["srs_reviews"].create_index(["card_id", "id"])
    db["srs_reviews"].create_index(["date"])
