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


def _flatten(prefix: str, value, rows: list) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, rows)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _flatten(f"{prefix}.{i}" if prefix else str(i), v, rows)
    else:
        rows.append((prefix, "" if value is None else value))


def export_progress(db: Database, catalog: Catalog, fmt: str = "json") -> str:
    """The learner's progress (dashboard figures, rubric history, gap report) as JSON or CSV."""
    from .gaps import analyse

    data = summary(db, catalog)
    data["rubric"]["history"] = [
        {"id": a.id, "at": a.at, "note": a.note,
         "scores": {f"{c}.{d}": s for (c, d), s in sorted(a.scores.items())}}
        for a in rubric_store.history(db)
    ]
    data["gaps"] = analyse(catalog, db)
    data["exported_at"] = progress.stamp()
    if fmt == "json":
        return json.dumps(data, indent=2) + "\n"
    if fmt != "csv":
        raise ValueError(f"unknown format {fmt!r} (json or csv)")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "key", "value"])
    for section, value in data.items():
        rows: list = []
        _flatten("", value, rows)
        for key, val in rows:
            writer.writerow([section, key or section, val])
    return out.getvalue()
