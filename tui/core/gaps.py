"""Gap analysis: the learner's self-ratings beside the evidence vlearn holds.

For each rubric component, three sources of evidence, each a share 0..1 with
the observations it rests on, and each standing for one rubric dimension:

- cards (understanding): FSRS retrievability a week from now (HORIZON), summed
  over the component's cards and divided by all its cards (never studied = 0).
  Projecting forward means a card seen minutes ago counts for what the memory
  is worth, not for the fact that it was just on screen;
- labs (can implement): labs passed plus project stages passed, over all of
  them (workspace runs with a verdict; a GPU lab that could only be compiled
  is no observation);
- drills (can explain): the mean rubric score of graded drills and interview
  answers;
- optimize (can optimize): GPU labs whose perf goal (lab.yaml `perf:`) a passing
  workspace run reached, over the labs that set one.

A source scores only once it has MIN_OBSERVATIONS; below that it is "not
enough evidence yet" and says what would give it. A component gets an
evidence level only when at least MIN_SOURCES sources score: one drill, or a
handful of cards, says little about a whole component. Missing evidence is
unknown (null), never zero. Readiness is the weighted mean of the sources that
score (WEIGHTS); the evidence level puts it on the rubric's scale: 1 + 4 x
readiness. Flags compare each self-rated dimension with its own source, and
the component's self-rating average with its level, when FLAG_GAP or more
apart. Gaps are ranked by role weight x (target - level), where the level is
the evidence level, else the self-rating, else 1 (nothing shown yet).
"""
from __future__ import annotations

import datetime as dt

from sqlite_utils import Database

from . import rubric as rubric_store
from . import srs
from .content import Catalog
from .content.labs import all_labs
from .content.rubric import rubric_of
from .content.vocab import COMPONENTS
from .store import progress
from .text import plural

WEIGHTS = {"cards": 0.25, "labs": 0.35, "drills": 0.40, "optimize": 0.15}  # doing counts more than recalling
DIMENSION = {"cards": "understanding", "labs": "implement", "drills": "explain", "optimize": "optimize"}
# cards studied, labs attempted, answers graded, perf goals measured
MIN_OBSERVATIONS = {"cards": 8, "labs": 1, "drills": 2, "optimize": 1}
MIN_SOURCES = 2
HORIZON = dt.timedelta(days=7)
FLAG_GAP = 1.0  # points on the 1-5 scale between self-rating and evidence level
TOP_GAPS = 3
PER_KIND = {"lessons": 3, "labs": 2, "decks": 2, "drills": 2}
NOT_ENOUGH = "not enough evidence yet"
VERDICTS = ("passed", "failed", "error", "timeout", "crashed")  # not 'compiled': nothing was checked
# The learner's own runs that gave a verdict: the one definition of a lab attempt.
_ATTEMPTS = f"dir_kind = 'workspace' and status in ({', '.join(repr(v) for v in VERDICTS)})"
_CARD_COLS = "card_id, state, step, stability, difficulty, due, last_review, reps, lapses, introduced"


def _utc(now: dt.datetime | None) -> dt.datetime:
    return now.astimezone(dt.UTC) if now else srs.utcnow()


# ------------------------------------------------------------------ evidence


def retrievability(db: Database, now: dt.datetime | None = None) -> dict[str, float]:
    """card id -> FSRS probability of recall at `now`, for every studied card."""
    now = _utc(now)
    sched = srs.scheduler(db, fuzz=False)
    out = {}
    for row in db.execute(f"select {_CARD_COLS} from srs_cards"):
        card = srs.CardRow.from_row(row)
        out[card.card_id] = float(sched.get_card_retrievability(card.card, now))
    return out


def _status(observations: int, source: str) -> str:
    return "evidence" if observations >= MIN_OBSERVATIONS[source] else NOT_ENOUGH


def _needs(source: str, observations: int, comp: str) -> str | None:
    """What would make a thin source count, in words; None when it already counts."""
    missing = MIN_OBSERVATIONS[source] - observations
    if missing <= 0:
        return None
    return {
        "cards": f"study {plural(missing, 'more card' if observations else 'card')} tagged {comp}",
        "labs": f"run {plural(missing, 'lab')} or project stage of {comp} to a verdict",
        "drills": f"grade {plural(missing, 'more drill' if observations else 'drill')} "
                  f"or interview {'answer' if missing == 1 else 'answers'} on {comp}",
        "optimize": f"time a passing GPU lab of {comp} against its perf goal",
    }[source]


def _card_evidence(catalog: Catalog, recall: dict[str, float]) -> dict[str, dict]:
    out = {}
    for comp in COMPONENTS:
        tagged = [c.id for c in catalog.cards.values() if comp in c.components]
        studied = [cid for cid in tagged if cid in recall]
        total_r = sum(recall[cid] for cid in studied)
        status = _status(len(studied), "cards")
        out[comp] = {
            "score": round(total_r / len(tagged), 4) if status == "evidence" else None,
            "status": status,
            "observations": len(studied),
            "needs": _needs("cards", len(studied), comp),
            "cards_tagged": len(tagged),
            "cards_studied": len(studied),
            "retrievability_sum": round(total_r, 4),
            "mean_retrievability_studied": round(total_r / len(studied), 4) if studied else None,
            "source": f"srs_cards: fsrs retrievability {HORIZON.days} days ahead, cards tagged with the component",
        }
    return out


def _stages_passed(db: Database, project) -> tuple[int, int]:
    """(stages passed, workspace runs with a verdict) for a project: its best run."""
    order = [s.id for s in project.stages]
    best, runs = 0, 0
    for status, stage in db.execute(f"select status, stage from lab_runs where lab_id = ? and {_ATTEMPTS}",
                                    [project.id]):
        runs += 1
        if status == "passed":
            got = len(order)
        else:
            got = order.index(stage) if stage in order else 0
        best = max(best, got)
    return best, runs


def lab_progress(catalog: Catalog, db: Database) -> dict[str, dict]:
    """lab or project id -> {units, passed, runs}: a lab is one unit, a project one per stage.
    Runs count only when the tests gave a verdict (a compile-only GPU run is not an attempt)."""
    passed_labs = {r[0] for r in db.execute(
        "select distinct lab_id from lab_runs where status = 'passed' and dir_kind = 'workspace'")}
    runs = dict(db.execute(f"select lab_id, count(*) from lab_runs where {_ATTEMPTS} group by lab_id").fetchall())
    out = {}
    for item in all_labs(catalog):
        if item.kind == "project":
            got, n = _stages_passed(db, item)
            out[item.id] = {"units": len(item.stages), "passed": got, "runs": n}
        else:
            out[item.id] = {"units": 1, "passed": int(item.id in passed_labs), "runs": runs.get(item.id, 0)}
    return out


def _lab_evidence(catalog: Catalog, labs: dict[str, dict]) -> dict[str, dict]:
    out = {}
    items = all_labs(catalog)
    for comp in COMPONENTS:
        mine = [i for i in items if comp in i.components]
        plain = [i for i in mine if i.kind != "project"]
        projects = [i for i in mine if i.kind == "project"]
        units = sum(labs[i.id]["units"] for i in mine)
        done = sum(labs[i.id]["passed"] for i in mine)
        attempted = [i.id for i in mine if labs[i.id]["runs"]]
        status = _status(len(attempted), "labs")
        out[comp] = {
            "score": round(done / units, 4) if status == "evidence" else None,
            "status": status,
            "observations": len(attempted),
            "needs": _needs("labs", len(attempted), comp) if units else f"no lab covers {comp} yet",
            "labs_total": len(plain),
            "labs_passed": sum(labs[i.id]["passed"] for i in plain),
            "stages_total": sum(labs[i.id]["units"] for i in projects),
            "stages_passed": sum(labs[i.id]["passed"] for i in projects),
            "attempted": sorted(attempted),
            "source": "lab_runs: workspace runs with a verdict, of labs and project stages with the component",
        }
    return out


def perf_goals(catalog: Catalog, db: Database) -> dict[str, dict]:
    """lab id -> {met, measured} for every lab with a perf goal (workspace runs only)."""
    rows = dict(db.execute(
        "select lab_id, max(perf_met) from lab_runs where dir_kind = 'workspace' and perf_met is not null "
        "group by lab_id").fetchall())
    return {lab.id: {"met": bool(rows.get(lab.id)), "measured": lab.id in rows}
            for lab in catalog.labs.values() if (lab.perf or {}).get("target") is not None}


def _optimize_evidence(catalog: Catalog, goals: dict[str, dict]) -> dict[str, dict]:
    out = {}
    for comp in COMPONENTS:
        mine = [i for i in goals if comp in catalog.labs[i].components]
        measured = [i for i in mine if goals[i]["measured"]]
        met = [i for i in mine if goals[i]["met"]]
        status = _status(len(measured), "optimize")
        out[comp] = {
            "score": round(len(met) / len(mine), 4) if status == "evidence" else None,
            "status": status,
            "observations": len(measured),
            "needs": _needs("optimize", len(measured), comp) if mine else None,
            "goals_total": len(mine),
            "goals_met": len(met),
            "source": "lab_runs.perf_met: passing workspace runs that reached the lab's perf goal",
        }
    return out


def _drill_evidence(catalog: Catalog, db: Database) -> dict[str, dict]:
    scores: dict[str, list[float]] = {c: [] for c in COMPONENTS}
    split = {c: [0, 0] for c in COMPONENTS}
    for table, slot, where in (("drills", 0, "status = 'graded'"), ("interview_grades", 1, "score is not null")):
        for qid, score in db.execute(f"select question_id, score from {table} where {where}"):
            q = catalog.questions.get(qid)
            for comp in getattr(q, "components", []):
                split[comp][slot] += 1
                scores[comp].append(score)
    out = {}
    for comp in COMPONENTS:
        count = len(scores[comp])
        status = _status(count, "drills")
        out[comp] = {
            "score": round(sum(scores[comp]) / count, 4) if status == "evidence" else None,
            "status": status,
            "observations": count,
            "needs": _needs("drills", count, comp),
            "count": count,
            "drills": split[comp][0],
            "interview_answers": split[comp][1],
            "source": "drills (graded) and interview_grades: rubric points ticked / total",
        }
    return out


# --------------------------------------------------------------------- report


def _role(catalog: Catalog, role: str | None):
    if role is None:
        return None
    found = catalog.roles.get(role)
    if found is None:
        known = ", ".join(sorted(catalog.roles)) or "none defined"
        raise KeyError(f"unknown role {role!r} (known: {known})")
    return found


def _flag(self_score: float, level: float) -> str:
    if self_score - level >= FLAG_GAP:
        return "over-confident"
    if level - self_score >= FLAG_GAP:
        return "under-confident"
    return "consistent"


def _dimension_flags(ev: dict, cells: dict[str, int]) -> list[dict]:
    """Each self-rated dimension against the one source that speaks for it, where that source scores."""
    flags = []
    for source, dim in DIMENSION.items():
        score = ev[source]["score"]
        if score is None or dim not in cells:
            continue
        level = round(1 + 4 * score, 2)
        flags.append({"dimension": dim, "source": source, "self": cells[dim], "evidence_level": level,
                      "observations": ev[source]["observations"], "flag": _flag(cells[dim], level)})
    return flags


def analyse(catalog: Catalog, db: Database, role: str | None = None, now: dt.datetime | None = None,
            *, recommendations: bool = True) -> dict:
    """The whole gap report as plain data (what `vlearn gaps --json` prints).
    Numeric fields are numbers or null; the words are in the `status` fields."""
    rub = rubric_of(catalog)
    target = rub.target
    chosen = _role(catalog, role)
    latest = rubric_store.latest(db)
    recall_now = retrievability(db, now)
    recall_ahead = retrievability(db, _utc(now) + HORIZON)
    labs = lab_progress(catalog, db)
    evidence = {
        "cards": _card_evidence(catalog, recall_ahead),
        "labs": _lab_evidence(catalog, labs),
        "drills": _drill_evidence(catalog, db),
        "optimize": _optimize_evidence(catalog, perf_goals(catalog, db)),
    }
    rows = []
    for comp in COMPONENTS:
        meta = rub.component(comp)
        ev = {src: evidence[src][comp] for src in WEIGHTS}
        have = {src: e["score"] for src, e in ev.items() if e["score"] is not None}
        observations = sum(e["observations"] for e in ev.values())
        readiness = level = None
        if len(have) >= MIN_SOURCES:
            total_w = sum(WEIGHTS[s] for s in have)
            readiness = round(sum(WEIGHTS[s] * v for s, v in have.items()) / total_w, 4)
            level = round(1 + 4 * readiness, 2)
            status = "evidence"
        else:
            status = NOT_ENOUGH
        cells = {d: s for (c, d), s in (latest.scores.items() if latest else []) if c == comp}
        self_avg = latest.component_average(comp) if latest else None
        if level is None:
            confidence = status
        elif self_avg is None:
            confidence = "not rated"
        else:
            confidence = _flag(self_avg, level)
        if level is not None:
            used, basis = level, "evidence"
        elif self_avg is not None:
            used, basis = self_avg, "self-rating"
        else:
            used, basis = 1.0, "unknown"
        weight = chosen.weights.get(comp, 0.0) if chosen else 1.0
        gap = round(max(0.0, target - used), 2)
        rows.append({
            "id": comp,
            "title": meta.title if meta else comp,
            "status": status,
            "observations": observations,
            "needs": [e["needs"] for e in ev.values() if e["needs"] and e["score"] is None]
            if status != "evidence" else [],
            "evidence": ev,
            "evidence_sources": sorted(have),
            "readiness": readiness,
            "evidence_level": level,
            "self_rating": (
                {"average": self_avg, "cells": cells, "assessment_id": latest.id, "assessed_at": latest.at}
                if self_avg is not None else None
            ),
            "confidence": confidence,
            "flags": _dimension_flags(ev, cells),
            "level_used": used,
            "basis": basis,
            "weight": weight,
            "gap": gap,
            "priority": round(weight * gap, 4),
        })
    rows.sort(key=lambda r: (-r["priority"], r["level_used"], -r["weight"], COMPONENTS.index(r["id"])))
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    top = [r["id"] for r in rows if r["gap"] > 0][:TOP_GAPS]
    minimums = ", ".join(f"{n} {s}" for s, n in MIN_OBSERVATIONS.items())
    return {
        "role": ({"id": chosen.id, "title": chosen.title, "weights": chosen.weights,
                  "interviewers": chosen.interviewers} if chosen else None),
        "target": target,
        "method": {
            "cards": f"sum of fsrs retrievability {HORIZON.days} days ahead over the component's cards / "
                     "cards tagged (never studied = 0)",
            "labs": "(labs passed + project stages passed) / (labs + project stages), workspace runs with a verdict",
            "drills": "mean rubric score of graded drills and interview answers",
            "optimize": "perf goals reached by passing workspace runs / GPU labs that set a goal",
            "minimums": f"a source scores from {minimums} observations; a component from {MIN_SOURCES} scoring sources",
            "readiness": f"weighted mean of the sources that score, weights {WEIGHTS}",
            "evidence_level": "1 + 4 x readiness, on the rubric's 1-5 scale",
            "confidence": f"self-rating vs evidence level (per dimension: {DIMENSION}), "
                          f"flagged when {FLAG_GAP:g} or more apart",
            "priority": "role weight x max(0, target - level); level = evidence level, else self-rating, else 1",
        },
        "self_assessment": ({"id": latest.id, "at": latest.at, "average": latest.average} if latest else None),
        "components": rows,
        "ranking": [r["id"] for r in rows],
        "recommendations": [recommend(catalog, db, comp, recall_now, labs) for comp in top]
        if recommendations else [],
    }


def ranked_components(catalog: Catalog, db: Database, role: str | None = None) -> list[str]:
    """Component ids, the weakest (largest weighted gap) first."""
    return analyse(catalog, db, role, recommendations=False)["ranking"]


# ------------------------------------------------------------ recommendations


def _plan_days(catalog: Catalog) -> dict[tuple[str, str], int]:
    first: dict[tuple[str, str], int] = {}
    for n in sorted(catalog.days):
        day = catalog.days[n]
        for i in day.lessons:
            first.setdefault(("lesson", i), n)
        for i in day.labs:
            first.setdefault(("lab", i), n)
        for i in day.cards:
            first.setdefault(("deck", i), n)
        if day.drill:
            first.setdefault(("question", day.drill), n)
    return first


def recommend(catalog: Catalog, db: Database, comp: str, recall: dict[str, float], labs: dict[str, dict]) -> dict:
    """The next lessons, labs, decks and drills for one component, not-yet-done first."""
    days = _plan_days(catalog)
    late = 999

    read = progress.lessons_read(db)
    lessons = sorted(
        (l for l in catalog.lessons.values() if comp in l.components and l.id not in read),
        key=lambda l: (days.get(("lesson", l.id), late), l.module, l.id),
    )
    out_lessons = [{"id": l.id, "title": l.title, "minutes": l.minutes,
                    "day": days.get(("lesson", l.id)), "why": "not read yet"} for l in lessons[:PER_KIND["lessons"]]]

    open_labs = [i for i in all_labs(catalog) if comp in i.components and labs[i.id]["passed"] < labs[i.id]["units"]]
    open_labs.sort(key=lambda i: (days.get(("lab", i.id), i.day or late), i.id))
    out_labs = []
    for i in open_labs[:PER_KIND["labs"]]:
        p = labs[i.id]
        if i.kind == "project":
            why = f"{p['passed']} of {p['units']} stages passed"
        else:
            why = f"not passed yet ({plural(p['runs'], 'run')})" if p["runs"] else "not started"
        out_labs.append({"id": i.id, "title": i.title, "kind": i.kind, "track": i.track,
                         "day": i.day, "why": why})

    # Decks the plan has not unlocked give no new cards yet, so they come last.
    gate = srs.unlocked(catalog, db)
    decks = []
    for deck in catalog.decks.values():
        ids = [cid for cid in deck.cards if cid in catalog.cards and comp in catalog.cards[cid].components]
        if not ids:
            continue
        studied = [cid for cid in ids if cid in recall]
        share = sum(recall[cid] for cid in studied) / len(ids)
        locked = gate is not None and deck.id not in gate and not any(
            t in gate for cid in ids for t in catalog.cards[cid].tags)
        decks.append((locked, round(share, 4), -len(ids), days.get(("deck", deck.id), late), deck.id,
                      deck, len(ids), len(studied)))
    decks.sort(key=lambda t: t[:5])
    out_decks = []
    for locked, share, _, day, _, d, n, s in decks[:PER_KIND["decks"]]:
        why = f"{n - s} of {n} cards never studied" + (f"; would recall {share:.0%} now" if s else "") \
            if n > s else f"would recall {share:.0%} now"
        if locked:
            why += f"; unlocks on day {day}" if day != late else "; not in the plan yet"
        out_decks.append({"id": d.id, "title": d.title, "cards": n, "studied": s, "recall_share": share,
                          "unlocked": not locked, "why": why})

    best: dict[str, tuple[float, int]] = {}
    for qid, score, n in db.execute(
        "select question_id, max(score), count(*) from drills where status = 'graded' group by question_id"
    ):
        best[qid] = (score or 0.0, n)
    questions = sorted(
        (q for q in catalog.questions.values() if comp in q.components),
        key=lambda q: (q.id in best, best.get(q.id, (0, 0))[0], days.get(("question", q.id), late), q.id),
    )
    out_drills = [{
        "id": q.id, "title": q.title, "category": q.category, "minutes": q.minutes,
        "why": f"best {best[q.id][0]:.0%} over {plural(best[q.id][1], 'attempt')}" if q.id in best else "never tried",
    } for q in questions[:PER_KIND["drills"]]]

    return {"component": comp, "lessons": out_lessons, "labs": out_labs, "decks": out_decks, "drills": out_drills}


# ----------------------------------------------------------------------- text


def _pct(value) -> str:
    return f"{value:.0%}" if isinstance(value, (int, float)) else "—"


def _source_text(name: str, e: dict, counted: str) -> str:
    score = _pct(e["score"]) if e["score"] is not None else e["status"]
    return f"{name} {score} ({counted})"


def _evidence_line(ev: dict) -> str:
    c, l, d, o = ev["cards"], ev["labs"], ev["drills"], ev["optimize"]
    return " · ".join([
        _source_text("cards", c, f"{c['cards_studied']}/{c['cards_tagged']} studied"),
        _source_text("labs", l, f"{l['labs_passed']}/{l['labs_total']} labs, "
                                f"{l['stages_passed']}/{l['stages_total']} stages, "
                                f"{plural(l['observations'], 'attempted', 'attempted')}"),
        _source_text("drills", d, f"{plural(d['drills'], 'drill')}, {plural(d['interview_answers'], 'interview answer')}"),
        _source_text("perf goals", o, f"{o['goals_met']}/{o['goals_total']} met"),
    ])


def _level_text(row: dict) -> str:
    if row["evidence_level"] is None:
        return f"{row['status']} ({plural(row['observations'], 'observation')})"
    return f"evidence {row['evidence_level']:.2f} ({plural(row['observations'], 'observation')})"


def report_text(report: dict) -> str:
    """The report for people: one block per component, ranked, then what to do next."""
    role = report["role"]
    lines = [f"Gaps against {role['title']}" if role else "Gaps (no target role; all components weigh the same)",
             f"target level {report['target']:g}", ""]
    for r in report["components"]:
        self_r = r["self_rating"]["average"] if r["self_rating"] else None
        flag = f" · {r['confidence']}" if r["confidence"] in ("over-confident", "under-confident", "consistent") else ""
        lines.append(
            f"{r['rank']}. {r['title']:<16} self {self_r if self_r is not None else 'not rated'} · "
            f"{_level_text(r)}{flag} · weight {r['weight']:g} · gap {r['gap']:g}"
        )
        lines.append(f"   {_evidence_line(r['evidence'])}")
        for f in r["flags"]:
            if f["flag"] != "consistent":
                lines.append(f"   {f['dimension']}: self {f['self']} vs {f['source']} {f['evidence_level']:.2f} "
                             f"({plural(f['observations'], 'observation')}) · {f['flag']}")
        if r["needs"]:
            lines.append("   to know more: " + "; ".join(r["needs"]))
    if report["recommendations"]:
        lines += ["", "Next steps"]
        for rec in report["recommendations"]:
            lines.append(f"  {rec['component']}:")
            for kind in ("lessons", "labs", "decks", "drills"):
                for item in rec[kind]:
                    lines.append(f"    {kind[:-1]:<6} {item['id']:<34} {item['why']}")
    lines += ["", "How: " + report["method"]["minimums"] + "; " + report["method"]["readiness"] + "; "
              + report["method"]["evidence_level"] + "."]
    return "\n".join(lines)


def compact_text(report: dict) -> str:
    """One line per component, ranked: self-rating, evidence level and what it rests on, flag, gap."""
    lines = [f"{'#':>2} {'component':<16} {'self':>5} {'evidence':>9} {'obs':>4}  {'flag':<24} gap"]
    for r in report["components"]:
        self_r = r["self_rating"]["average"] if r["self_rating"] else None
        level = r["evidence_level"]
        ev = f"{level:.2f}" if level is not None else "—"
        lines.append(f"{r['rank']:>2} {r['title']:<16} {self_r if self_r is not None else '—':>5} {ev:>9} "
                     f"{r['observations']:>4}  {r['confidence']:<24} {r['gap']:g}")
    return "\n".join(lines)
