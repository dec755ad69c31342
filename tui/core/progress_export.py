"""Progress at a glance: the dashboard's figures, and `vlearn export progress`.

`summary()` gathers every figure from the store as plain data; the dashboard
renders it with `dashboard_sections()`, the export writes it as JSON (with the
gap report) or as flat CSV rows (section, key, value).

Study time is an estimate, built from timestamps the store already holds:
each activity row (a tick, a lesson read, a card graded, a lab passed, a
drill graded) stands for the STUDY_LEAD minutes before it; drills count their
own clock, lab runs their run time, card reviews their answer time. These
intervals are merged, bridging gaps of up to SESSION_GAP (the learner was
presumably still at it), and the merged spans are summed.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json

from sqlite_utils import Database

from . import plan, srs
from . import rubric as rubric_store
from .content import Catalog
from .content.rubric import rubric_of
from .labs.runner import track_progress
from .store import progress
from .text import plural

STUDY_LEAD = dt.timedelta(minutes=5)
SESSION_GAP = dt.timedelta(minutes=30)
RETENTION_DAYS = 30
CHART_DAYS = 14
STUDY_TIME_METHOD = (
    "estimate: each activity counts the 5 minutes before it, drills their clock, lab runs their run "
    "time, card reviews their answer time; intervals less than 30 minutes apart merge into one session"
)


def _utc(now: dt.datetime | None) -> dt.datetime:
    return now.astimezone(dt.UTC) if now else srs.utcnow()


# ----------------------------------------------------------------- figures


def _parse(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    when = dt.datetime.fromisoformat(text)
    return when if when.tzinfo else when.astimezone()


def study_intervals(db: Database) -> list[tuple[dt.datetime, dt.datetime]]:
    spans = []
    for (at,) in db.execute("select at from activity"):
        end = _parse(at)
        spans.append((end - STUDY_LEAD, end))
    for started, finished, saved, elapsed in db.execute(
        "select started_at, finished_at, saved_at, elapsed_s from drills"
    ):
        end = _parse(finished or saved or started)
        if end and elapsed:
            spans.append((end - dt.timedelta(seconds=elapsed), end))
    for started, duration in db.execute(
        "select started_at, duration_s from lab_runs where dir_kind = 'workspace'"
    ):
        start = _parse(started)
        if start and duration:
            spans.append((start, start + dt.timedelta(seconds=duration)))
    for at, ms in db.execute("select reviewed_at, duration_ms from srs_reviews where duration_ms > 0"):
        end = _parse(at)
        spans.append((end - dt.timedelta(milliseconds=ms), end))
    return spans


def study_minutes(db: Database) -> tuple[float, int]:
    """(estimated minutes, sessions): see STUDY_TIME_METHOD."""
    spans = sorted(study_intervals(db))
    total = dt.timedelta()
    sessions = 0
    cur_start = cur_end = None
    for start, end in spans:
        if cur_end is not None and start <= cur_end + SESSION_GAP:
            cur_end = max(cur_end, end)
            continue
        if cur_end is not None:
            total += cur_end - cur_start
        cur_start, cur_end = start, end
        sessions += 1
    if cur_end is not None:
        total += cur_end - cur_start
    return round(total.total_seconds() / 60, 1), sessions


def retention(db: Database, days: int = RETENTION_DAYS, now: dt.datetime | None = None) -> dict:
    """Answers to cards in review state over the last `days` local days: recalled / total."""
    first = (srs.local_date(_utc(now)) - dt.timedelta(days=days - 1)).isoformat()
    ok, total = db.execute(
        "select coalesce(sum(rating > 1), 0), count(*) from srs_reviews where state_before = 2 and date >= ?",
        [first],
    ).fetchone()
    return {"days": days, "recalled": ok, "answers": total, "rate": round(ok / total, 4) if total else None}


def _mean_count(db: Database, sql: str) -> dict:
    n, mean = db.execute(sql).fetchone()
    return {"count": n, "average": round(mean, 4) if mean is not None else None}


def summary(db: Database, catalog: Catalog, now: dt.datetime | None = None) -> dict:
    """Every figure the dashboard shows, as plain data."""
    from .gaps import lab_progress

    today = srs.local_date(_utc(now))
    standing = plan.standing(catalog, db, today)
    days_done, days_total = plan.days_complete(catalog, db)
    read = progress.lessons_read(db) & set(catalog.lessons)
    labs = lab_progress(catalog, db)
    minutes, sessions = study_minutes(db)
    rub = rubric_of(catalog)
    return {
        "plan": {
            "days_done": days_done, "days_total": days_total, "current_day": standing.current_day,
            "calendar_day": standing.calendar_day, "pace": standing.pace_text(),
            "start": standing.start.isoformat(),
        },
        "lessons": {"read": len(read), "total": len(catalog.lessons)},
        "labs": {track: {"passed": p, "total": t} for track, (p, t) in sorted(track_progress(db, catalog).items())},
        "perf_goals": _perf_goals(catalog, db),
        "projects": [
            {"id": p.id, "title": p.title, "stages_passed": labs[p.id]["passed"], "stages_total": labs[p.id]["units"]}
            for p in catalog.projects.values()
        ],
        "cards": {**srs.maturity(db, catalog), "retention": retention(db, RETENTION_DAYS, now)},
        "drills": _mean_count(db, "select count(*), avg(score) from drills where status = 'graded'"),
        "interviews": _mean_count(
            db, "select count(*), avg(score) from interviews where status = 'finished' and score is not null"),
        "streak": progress.streak(db, today),
        "study_time": {"minutes": minutes, "sessions": sessions, "method": STUDY_TIME_METHOD},
        "reviews_per_day": {d.isoformat(): n for d, n in srs.reviews_per_day(db, CHART_DAYS, now)},
        "rubric": {
            "target": rub.target,
            "assessments": [
                {"at": at, "average": avg, "components": comps}
                for at, avg, comps in rubric_store.averages_over_time(db)
            ],
        },
    }


def _perf_goals(catalog, db) -> dict:
    from .gaps import perf_goals

    goals = perf_goals(catalog, db)
    return {"met": sum(g["met"] for g in goals.values()), "measured": sum(g["measured"] for g in goals.values()),
            "total": len(goals)}


# ------------------------------------------------------------------ render


def _frac(done: int, total: int) -> str:
    return f"{done}/{total}"


def _avg(entry: dict) -> str:
    return f"{entry['count']}, average {entry['average']:.0%}" if entry["average"] is not None else f"{entry['count']}"


def dashboard_sections(data: dict) -> list[tuple[str, str]]:
    """(title, plain text) blocks for the dashboard screen."""
    p, c = data["plan"], data["cards"]
    ret = c["retention"]
    hours, mins = divmod(round(data["study_time"]["minutes"]), 60)
    overview = "\n".join([
        (f"Days done      {_frac(p['days_done'], p['days_total'])} · on day {p['current_day']} "
         f"(calendar day {p['calendar_day']}, {p['pace']})"),
        f"Lessons read   {_frac(data['lessons']['read'], data['lessons']['total'])}",
        "Labs passed    " + (", ".join(f"{t} {_frac(v['passed'], v['total'])}" for t, v in data["labs"].items())
                             or "no labs yet"),
        (f"Perf goals     {_frac(data['perf_goals']['met'], data['perf_goals']['total'])} met "
         f"({data['perf_goals']['measured']} measured; GPU labs' lab.yaml perf targets)"),
        "Project stages " + (", ".join(f"{x['id']} {_frac(x['stages_passed'], x['stages_total'])}"
                                       for x in data["projects"]) or "no projects yet"),
        f"Cards          new {c['new']} · learning {c['learning']} · young {c['young']} · mature {c['mature']}",
        "Retention      " + (f"{ret['rate']:.0%} ({ret['recalled']}/{ret['answers']} review answers, last {ret['days']} days)"
                              if ret["rate"] is not None
                              else f"no answers yet to cards in review (new and learning cards don't count), "
                                   f"last {ret['days']} days"),
        f"Drills graded  {_avg(data['drills'])}",
        f"Interviews     {_avg(data['interviews'])}",
        f"Streak         {plural(data['streak'], 'day')}",
        f"Study time     {hours}h {mins:02d}m in {plural(data['study_time']['sessions'], 'session')} (estimated)",
    ])
    per_day = data["reviews_per_day"]
    reviews = srs.bars([(d[5:], n) for d, n in per_day.items()], width=30) \
        if any(per_day.values()) else f"no reviews in the last {len(per_day)} days"
    rub = data["rubric"]
    points = [(a["at"][:16].replace("T", " "), a["average"]) for a in rub["assessments"] if a["average"] is not None]
    rubric_chart = rubric_store.chart(points, rub["target"]) if points else \
        "no self-assessment yet: rate yourself on the rubric (R)"
    return [
        ("Progress", overview),
        (f"Reviews per day, last {len(data['reviews_per_day'])} days", reviews),
        (f"Rubric average over time (target {rub['target']:g})", rubric_chart),
        ("How study time is estimated", data["study_time"]["method"]),
    ]


# ------------------------------------------------------------------ export


def export_progress(db: Database, catalog: Catalog) -> str:
    """The learner's progress (dashboard figures, rubric history, gap report) as JSON;
    missing figures are null, never a word in a numeric field. Tables: write_tidy_csv."""
    from .gaps import analyse

    data = summary(db, catalog)
    data["rubric"]["history"] = [
        {"id": a.id, "at": a.at, "note": a.note,
         "scores": {f"{c}.{d}": s for (c, d), s in sorted(a.scores.items())}}
        for a in rubric_store.history(db)
    ]
    data["gaps"] = analyse(catalog, db)
    data["exported_at"] = progress.stamp()
    return json.dumps(data, indent=2) + "\n"


# ------------------------------------------------------------------ tidy tables

# One row per observation, one column per variable: each loads into pandas (or R) without
# reshaping. Joined where a bare id would mean nothing (a grade without its interviewer).
TIDY_TABLES = {
    "reviews": "select id as review_id, card_id, rating, reviewed_at, date, duration_ms, state_before, due_after "
               "from srs_reviews order by id",
    "lab_runs": "select id as run_id, lab_id, started_at, duration_s, status, dir_kind, stage, passed, failed, "
                "errors, skipped, perf_met from lab_runs order by id",
    "drills": "select id as drill_id, question_id, started_at, finished_at, limit_s, elapsed_s, status, score, "
              "interview_id from drills order by id",
    "interviews": "select g.interview_id, i.interviewer_id, i.started_at, i.finished_at, i.driver, g.question_id, "
                  "g.score, g.graded_by from interview_grades g join interviews i on i.id = g.interview_id "
                  "order by g.interview_id, g.question_id",
    "rubric_history": "select a.id as assessment_id, a.at, a.date, s.component, s.dimension, s.score "
                      "from rubric_scores s join rubric_assessments a on a.id = s.assessment_id "
                      "order by a.id, s.component, s.dimension",
}


def tidy_tables(db: Database) -> dict[str, tuple[list[str], list[tuple]]]:
    """name -> (columns, rows) for each table in TIDY_TABLES; a table that does not exist yet is empty."""
    out = {}
    for name, sql in TIDY_TABLES.items():
        try:
            cursor = db.execute(sql)
        except Exception:  # noqa: BLE001 - a feature never used has no table yet
            columns = [part.split(" as ")[-1].split(".")[-1].strip() for part in sql[7:sql.index(" from ")].split(",")]
            out[name] = (columns, [])
            continue
        out[name] = ([d[0] for d in cursor.description], cursor.fetchall())
    return out


def write_tidy_csv(db: Database, target: str) -> list[str]:
    """One CSV per table into folder `target` (or a .zip); NULL is an empty field, numbers stay numbers.
    Returns the file names written."""
    import zipfile
    from pathlib import Path

    from .fsutil import atomic_path

    files = {}
    for name, (columns, rows) in tidy_tables(db).items():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
        files[f"{name}.csv"] = buffer.getvalue()
    path = Path(target)
    if path.suffix == ".zip":
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in files.items():
                archive.writestr(name, text)
    else:
        path.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            with atomic_path(path / name) as tmp:
                Path(tmp).write_text(text, encoding="utf-8", newline="")
    return list(files)
