"""Self-assessments: every save of the rubric grid is kept with its time."""
from sqlite_utils import Migrations

migrations = Migrations("vlearn.rubric")


@migrations()
def m001_rubric(db):
    # One row per save; its cells in rubric_scores. Nothing is ever updated in
    # place, so the change of each rating over the weeks stays visible.
    db["rubric_assessments"].create(
        {"id": int, "at": str, "date": str, "note": str},
        pk="id",
        not_null={"at", "date"},
    )
    db["rubric_scores"].create(
        {"assessment_id": int, "component": str, "dimension": str, "score": int},
        pk=("assessment_id", "component", "dimension"),
        foreign_keys=[("assessment_id", "rubric_assessments", "id")],
    )
