"""Gap analysis: the learner's self-ratings beside the evidence vlearn holds.

For each rubric component, three sources of evidence, each a share 0..1 and
each with the counts it comes from:

- cards: FSRS retrievability now, summed over the component's cards and
  divided by all its cards (a card never studied counts 0), i.e. the share of
  the component's cards the learner would recall today;
- labs: labs passed plus project stages passed, over all of them (workspace
  runs only; a project run stops at its first failing stage);
- drills: the mean rubric score of graded drills and interview answers.

A source with nothing from the learner (no card studied, no lab run, no drill
graded) is "no evidence", never a zero. Readiness is the weighted mean of the
sources that have evidence (WEIGHTS), and the evidence level puts it on the
rubric's scale: 1 + 4 x readiness. Self-rating and evidence level more than
FLAG_GAP apart are flagged as over- or under-confidence. Gaps are ranked by
role weight x (target - level), where the level is the evidence level, else
the self-rating, else 1 (nothing shown yet).
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
from .drills import component_scores
from .store import progress

WEIGHTS = {"cards": 0.25, "labs": 0.35, "drills": 0.40}  # doing counts more than recalling
FLAG_GAP = 1.0  # points on the 1-5 scale between self-rating and evidence level
TOP_GAPS = 3
PER_KIND = {"lessons": 3, "labs": 2, "decks": 2, "drills": 2}
NO_EVIDENCE = "no evidence"


def _n(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
_CARD_COLS = "card_id, state, step, stability, difficulty, due, last_review, reps, lapses, introduced"


def _utc(now: dt.datetime | None) -> dt.datetime:
    return now.astimezone(dt.UTC) if now else srs.utcnow()


# ------------------------------------------------------------------ evidence


def retrievability(db: Database, now: dt.datetime | None = None) -> dict[str, float]:
    """card id -> FSRS probability of recall now, for every studied card."""
    now = _utc(now)
    sched = srs.scheduler(db, fuzz=False)
    out = {}
    for row in db.execute(f"select {_CARD_COLS} from srs_cards"):
        card = srs.CardRow.from_row(row)
        out[card.card_id] = float(sched.get_card_retrievability(card.card, now))
    return out


def _card_evidence(catalog: Catalog, recall: dict[str, float]) -> dict[str, dict]:
    out = {}
    for comp in COMPONENTS:
        tagged = [c.id for c in catalog.cards.values() if comp in c.components]
        studied = [cid for cid in tagged if cid in recall]
        total_r = sum(recall[cid] for cid in studied)
        out[comp] = {
            "score": round(total_r / len(tagged), 4) if studied else None,
            "cards_tagged": len(tagged),
            "cards_studied": len(studied),
            "retrievability_sum": round(total_r, 4),
            "mean_retrievability_studied": round(total_r / len(studied), 4) if studied else None,
            "source": "srs_cards: fsrs retrievability now, cards tagged with the component",
        }
    return out


def _stages_passed(db: Database, project) -> tuple[int, int]:
    """(stages passed, workspace runs) for a project: its best run."""
    order = [s.id for s in project.stages]
    best, runs = 0, 0
    for status, stage in db.execute(
        "select status, stage from lab_runs where lab_id = ? and dir_kind = 'workspace'", [project.id]
    ):
        runs += 1
        if status == "passed":
            got = len(order)
        else:
            got = order.index(stage) if stage in order else 0
        best = max(best, got)
    return best, runs


def lab_progress(catalog: Catalog, db: Database) -> dict[str, dict]:
    """lab or project id -> {units, passed, runs}: a lab is one unit, a project one per stage."""
    passed_labs = {r[0] for r in db.execute(
        "select distinct lab_id from lab_runs where status = 'passed' and dir_kind = 'workspace'")}
    runs = dict(db.execute(
        "select lab_id, count(*) from lab_runs where dir_kind = 'workspace' group by lab_id").fetchall())
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
        out[comp] = {
            "score": round(done / units, 4) if attempted and units else None,
            "labs_total": len(plain),
            "labs_passed": sum(labs[i.id]["passed"] for i in plain),
            "stages_total": sum(labs[i.id]["units"] for i in projects),
            "stages_passed": sum(labs[i.id]["passed"] for i in projects),
            "attempted": sorted(attempted),
            "source": "lab_runs: workspace runs of labs and project stages with the component",
        }
    return out


def _drill_evidence(catalog: Catalog, db: Database) -> dict[str, dict]:
    scores = component_scores(catalog, db)
    split = {c: [0, 0] for c in COMPONENTS}
    for table, slot, where in (("drills", 0, "status = 'graded'"), ("interview_grades", 1, "score is not null")):
        for (qid,) in db.execute(f"select question_id from {table} where {where}"):
            q = catalog.questions.get(qid)
            for comp in getattr(q, "components", []):
                split[comp][slot] += 1
    out = {}
    for comp in COMPONENTS:
        mean, count = scores.get(comp, (None, 0))
        out[comp] = {
            "score": mean if count else None,
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


def analyse(catalog: Catalog, db: Database, role: str | None = None, now: dt.datetime | None = None,
            *, recommendations: bool = True) -> dict:
    """The whole gap report as plain data (what `vlearn gaps --json` prints)."""
    rub = rubric_of(catalog)
    target = rub.target
    chosen = _role(catalog, role)
    latest = rubric_store.latest(db)
    recall = retrievability(db, now)
    labs = lab_progress(catalog, db)
    evidence = {
        "cards": _card_evidence(catalog, recall),
        "labs": _lab_evidence(catalog, labs),
        "drills": _drill_evidence(catalog, db),
    }
    rows = []
    for comp in COMPONENTS:
        meta = rub.component(comp)
        ev = {src: evidence[src][comp] for src in WEIGHTS}
        for e in ev.values():
            e["status"] = NO_EVIDENCE if e["score"] is None else "evidence"
        have = {src: e["score"] for src, e in ev.items() if e["score"] is not None}
        readiness = level = None
        if have:
            total_w = sum(WEIGHTS[s] for s in have)
            readiness = round(sum(WEIGHTS[s] * v for s, v in have.items()) / total_w, 4)
            level = round(1 + 4 * readiness, 2)
        cells = {d: s for (c, d), s in (latest.scores.items() if latest else []) if c == comp}
        self_avg = latest.component_average(comp) if latest else None
        if level is None or self_avg is None:
            confidence = NO_EVIDENCE if level is None else "not rated"
        elif self_avg - level >= FLAG_GAP:
            confidence = "over-confident"
        elif level - self_avg >= FLAG_GAP:
            confidence = "under-confident"
        else:
            confidence = "consistent"
        if level is not None:
            used, basis = level, "evidence"
        elif self_avg is not None:
            used, basis = self_avg, "self-rating"
        else:
            used, basis = 1.0, "none"
        weight = chosen.weights.get(comp, 0.0) if chosen else 1.0
        gap = round(max(0.0, target - used), 2)
        rows.append({
            "id": comp,
            "title": meta.title if meta else comp,
            "status": "evidence" if have else NO_EVIDENCE,
            "evidence": ev,
            "evidence_sources": sorted(have),
            "readiness": readiness if have else NO_EVIDENCE,
            "evidence_level": level if have else NO_EVIDENCE,
            "self_rating": (
                {"average": self_avg, "cells": cells, "assessment_id": latest.id, "assessed_at": latest.at}
                if self_avg is not None else None
            ),
            "confidence": confidence,
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
    return {
        "role": ({"id": chosen.id, "title": chosen.title, "weights": chosen.weights,
                  "interviewers": chosen.interviewers} if chosen else None),
        "target": target,
        "method": {
            "cards": "sum of fsrs retrievability now over the component's cards / cards tagged (never studied = 0)",
            "labs": "(labs passed + project stages passed) / (labs + project stages), workspace runs",
            "drills": "mean rubric score of graded drills and interview answers",
            "readiness": f"weighted mean of the sources with evidence, weights {WEIGHTS}",
            "evidence_level": "1 + 4 x readiness, on the rubric's 1-5 scale",
            "confidence": f"self-rating average vs evidence level, flagged when {FLAG_GAP:g} or more apart",
            "priority": "role weight x max(0, target - level); level = evidence level, else self-rating, else 1",
        },
        "self_assessment": ({"id": latest.id, "at": latest.at, "average": latest.average} if latest else None),
        "components": rows,
        "ranking": [r["id"] for r in rows],
        "recommendations": [recommend(catalog, db, comp, recall, labs) for comp in top] if recommendations else [],
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
            why = f"not passed yet ({_n(p['runs'], 'run')})" if p["runs"] else "not started"
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
        "why": f"best {best[q.id][0]:.0%} over {_n(best[q.id][1], 'attempt')}" if q.id in best else "never tried",
    } for q in questions[:PER_KIND["drills"]]]

    return {"component": comp, "lessons": out_lessons, "labs": out_labs, "decks": out_decks, "drills": out_drills}


# ----------------------------------------------------------------------- text


def _pct(value) -> str:
    return f"{value:.0%}" if isinstance(value, (int, float)) else NO_EVIDENCE


def _evidence_line(ev: dict) -> str:
    c, l, d = ev["cards"], ev["labs"], ev["drills"]
    parts = [
        f"cards {_pct(c['score'])} ({c['cards_studied']}/{c['cards_tagged']} studied)",
        (f"labs {_pct(l['score'])} ({l['labs_passed']}/{l['labs_total']} labs, "
         f"{l['stages_passed']}/{l['stages_total']} stages)"),
        f"drills {_pct(d['score'])} ({d['drills']} drills, {d['interview_answers']} interview answers)",
    ]
    return " · ".join(parts)


def report_text(report: dict) -> str:
    """The report for people: one block per component, ranked, then what to do next."""
    role = report["role"]
    lines = [f"Gaps against {role['title']}" if role else "Gaps (no target role; all components weigh the same)",
             f"target level {report['target']:g}", ""]
    for r in report["components"]:
        self_r = r["self_rating"]["average"] if r["self_rating"] else None
        level = r["evidence_level"]
        ev = f"evidence {level:.2f}" if isinstance(level, (int, float)) else NO_EVIDENCE
        flag = f" · {r['confidence']}" if r["confidence"] not in (NO_EVIDENCE, "not rated") else ""
        lines.append(
            f"{r['rank']}. {r['title']:<16} self {self_r if self_r is not None else 'not rated'} · "
            f"{ev}{flag} · weight {r['weight']:g} · gap {r['gap']:g}"
        )
        lines.append(f"   {_evidence_line(r['evidence'])}")
    if report["recommendations"]:
        lines += ["", "Next steps"]
        for rec in report["recommendations"]:
            lines.append(f"  {rec['component']}:")
            for kind in ("lessons", "labs", "decks", "drills"):
                for item in rec[kind]:
                    lines.append(f"    {kind[:-1]:<6} {item['id']:<34} {item['why']}")
    lines += ["", "How: " + report["method"]["readiness"] + "; " + report["method"]["evidence_level"] + "."]
    return "\n".join(lines)


def compact_text(report: dict) -> str:
    """One line per component, ranked: self-rating, evidence level, flag, gap."""
    lines = [f"{'#':>2} {'component':<16} {'self':>5} {'evidence':>12}  {'flag':<16} gap"]
    for r in report["components"]:
        self_r = r["self_rating"]["average"] if r["self_rating"] else None
        level = r["evidence_level"]
        ev = f"{level:.2f}" if isinstance(level, (int, float)) else NO_EVIDENCE
        lines.append(f"{r['rank']:>2} {r['title']:<16} {self_r if self_r is not None else '—':>5} {ev:>12}  "
                     f"{r['confidence']:<16} {r['gap']:g}")
    return "\n".join(lines)
