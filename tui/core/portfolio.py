"""The learner's portfolio: a Markdown report and a self-contained HTML page (inline CSS,
inline SVG bar charts, no script, no network) built only from progress.db and the notes.

Nothing is invented. Every figure is one a recorded run handed to the runner
(`record_perf`), shown with the run's date and the device when the run recorded one.
What the store keeps per run (tui/core/store/schema_labs.py): `lab_runs` holds one row
per run with its counts, status and whether a perf goal was met, but not the figures;
the figures of the LAST workspace run are kept whole in `lab_memory.last_result`. So a
lab's figures here are those of its last workspace run when that run passed; an earlier
passing run's figures were not stored and are not shown.
"""
from __future__ import annotations

import datetime as dt
import html
import json
import math
from dataclasses import dataclass

from . import deliverables, notes
from .content.labs import all_labs
from .content.rubric import rubric_of
from .content.vocab import COMPONENTS
from .labs.runner import RunResult, lab_state, last_result
from .store import progress
from .text import plural

NO_RUNS = "no runs yet"
NO_FIGURES = "no recorded figures"

# Known figure names, as they are written in a report. Others keep their own name.
METRICS = {
    "kernel_ms": "kernel ms", "gbps": "GB/s", "pct_of_copy": "% of copy", "pct_of_peak": "% of peak",
    "tflops": "TFLOP/s", "vs_torch": "× PyTorch", "vs_reference": "× reference", "torch_ms": "PyTorch ms",
    "reference_ms": "reference ms", "best_ms": "best ms",
}
HIDDEN = {"size", "device"}  # shown in their own columns

# A 30-minute talk on vLLM internals: (minutes, section, rubric components whose figures fit it,
# what the section argues). The full outline with what to say is lesson m09-final-review.
TALK = [
    ("0–3", "The problem: decode is memory-bound", [],
     "one step reads every weight; KV memory, not FLOPs, caps concurrency"),
    ("3–8", "The request path", ["model_executor"],
     "front end → engine core process → workers; one engine step = schedule, execute, sample, update"),
    ("8–14", "The scheduler", ["scheduler"],
     "token budget per step, running before waiting, chunked prefill, recompute preemption"),
    ("14–19", "The KV cache", ["paged_attention"],
     "fixed-size blocks from a pool, block tables, prefix caching by chained block hashes"),
    ("19–25", "The model runner and the kernels", ["cuda_kernels"],
     "slot mapping, the cache write, the attention backends, CUDA graphs; your kernels against the copy ceiling"),
    ("25–28", "Scaling out and cheaper bytes", ["distributed", "quantization"],
     "tensor/pipeline/expert parallelism, FP8 weights and KV, speculative decoding"),
    ("28–30", "What you would change", [],
     "one limitation you can argue from the code, and how you would measure a fix"),
]


@dataclass
class FigureRow:
    size: str
    device: str
    values: dict  # metric name -> recorded value


def fmt(value) -> str:
    """A recorded value as recorded (floats to at most 4 decimals, as the runner rounds them)."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e15:
            return str(int(value))
        return repr(round(value, 4))
    return str(value)


def date_of(stamp: str | None) -> str:
    return (stamp or "")[:10] or "date not recorded"


def _figures(result: RunResult | None) -> tuple[list[FigureRow], str | None, str]:
    """(rows, date, note) for a lab's last workspace run."""
    if result is None or not result.ok or not result.perf:
        return [], None, NO_FIGURES
    rows = []
    for fig in result.perf:
        values = {k: v for k, v in fig.items() if not k.startswith("_") and k not in HIDDEN and v is not None}
        if not values:
            continue
        device = str(fig.get("device") or (f"remote runner `{result.ran_on}`" if result.ran_on else "device not recorded"))
        rows.append(FigureRow(str(fig.get("size", "")), device, values))
    if not rows:
        return [], None, NO_FIGURES
    return rows, date_of(result.started_at), ""


def _labs(catalog, db) -> dict:
    passed, attempted = [], 0
    for item in all_labs(catalog):
        state = lab_state(db, item.id)
        if state.state == "not started":
            continue
        if state.state != "passed":
            attempted += 1
            continue
        goal = db.execute(
            "select min(started_at) from lab_runs where lab_id = ? and dir_kind = 'workspace' and perf_met = 1",
            [item.id]).fetchone()[0]
        rows, at, note = _figures(last_result(db, item.id))
        passed.append({
            "id": item.id, "title": item.title, "kind": item.kind, "track": item.track,
            "components": list(getattr(item, "components", [])),
            "first_pass": date_of(state.first_pass_at), "runs": state.runs,
            "perf_goal_met": date_of(goal) if goal else None,
            "figures": [{"size": r.size, "device": r.device, "values": r.values} for r in rows],
            "figures_at": at, "figures_note": note,
        })
    return {"passed": passed, "attempted_not_passed": attempted}


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(sum(values) / len(values), 4) if values else None


def _drills(catalog, db) -> dict:
    by_cat: dict[str, list] = {}
    for qid, score, finished in db.execute(
            "select question_id, score, finished_at from drills where status = 'graded' and interview_id is null "
            "order by id"):
        question = catalog.questions.get(qid)
        by_cat.setdefault(question.category if question else "unknown question", []).append((score, finished))
    drills = [{"category": c, "count": len(v), "mean": _mean(s for s, _ in v),
               "last": date_of(max((f or "" for _, f in v), default=""))} for c, v in sorted(by_cat.items())]
    interviews = [
        {"interviewer": who, "date": date_of(at), "score": score}
        for who, at, score in db.execute(
            "select interviewer_id, coalesce(finished_at, started_at), score from interviews "
            "where status = 'finished' order by id")
    ]
    grades: dict[str, list] = {}
    for qid, score in db.execute("select question_id, score from interview_grades where score is not null"):
        question = catalog.questions.get(qid)
        grades.setdefault(question.category if question else "unknown question", []).append(score)
    answers = [{"category": c, "count": len(v), "mean": _mean(v)} for c, v in sorted(grades.items())]
    return {"drills": drills, "interviews": interviews, "interview_answers": answers}


def _rubric(catalog, db) -> dict:
    from . import rubric as rubric_store

    history = [a for a in rubric_store.history(db) if a.scores]
    latest = history[-1] if history else None
    return {
        "target": rubric_of(catalog).target,
        "trajectory": [{"date": a.date, "at": a.at, "average": a.average} for a in history],
        "latest": ({"date": latest.date, "components": {c: latest.component_average(c) for c in COMPONENTS}}
                   if latest else None),
    }


def _notes(catalog, db) -> list[dict]:
    out = []
    for d in deliverables.listing(catalog, db):
        if not d.note_written:
            continue
        text = notes.own_text(notes.day_note(catalog, d.day))
        first = [line.strip() for line in text.splitlines() if line.strip()][:3]
        out.append({"day": d.day, "title": d.title, "state": d.state, "ticked": date_of(d.ticked_at) if d.ticked else None,
                    "first_lines": first})
    return out


def _gaps(catalog, db, now) -> list[dict]:
    from .gaps import analyse

    report = analyse(catalog, db, now=now, recommendations=False)
    return [{"component": r["id"], "title": r["title"], "level": r["level_used"], "basis": r["basis"],
             "gap": r["gap"], "needs": r["needs"]} for r in report["components"] if r["gap"] > 0]


def _talk(labs: list[dict]) -> list[dict]:
    out = []
    for minutes, title, comps, argues in TALK:
        slots = []
        for lab in labs:
            if not set(comps) & set(lab["components"]):
                continue
            for row in lab["figures"]:
                figures = ", ".join(f"{fmt(v)} {METRICS.get(k, k)}" for k, v in row["values"].items())
                size = f" at {row['size']}" if row["size"] else ""
                slots.append(f"{lab['id']}{size}: {figures} ({lab['figures_at']}, {row['device']})")
        out.append({"minutes": minutes, "section": title, "argues": argues, "figures": slots})
    return out


def build(catalog, db, now: dt.datetime | None = None) -> dict:
    """Everything the report shows, as plain data."""
    now = (now or progress.now()).astimezone()
    labs = _labs(catalog, db)
    return {
        "generated": now.date().isoformat(),
        "labs": labs,
        "practice": _drills(catalog, db),
        "rubric": _rubric(catalog, db),
        "notes": _notes(catalog, db),
        "gaps": _gaps(catalog, db, now),
        "talk": _talk(labs["passed"]),
    }


# ------------------------------------------------------------------ Markdown


def _pct(value) -> str:
    return "—" if value is None else f"{value:.0%}"


def _lab_markdown(lab: dict) -> list[str]:
    kind = "project" if lab["kind"] == "project" else f"{lab['track']} lab"
    goal = f"; perf goal met {lab['perf_goal_met']}" if lab["perf_goal_met"] else ""
    lines = [f"### {lab['title']} (`{lab['id']}`, {kind})", "",
             f"Passed {lab['first_pass']} ({plural(lab['runs'], 'workspace run')}){goal}.", ""]
    if not lab["figures"]:
        lines += [f"Figures: {lab['figures_note']}.", ""]
        return lines
    metrics = list(dict.fromkeys(k for row in lab["figures"] for k in row["values"]))
    lines.append(f"Figures from the last workspace run, {lab['figures_at']}:")
    lines.append("")
    lines.append("| size | device | " + " | ".join(METRICS.get(m, m) for m in metrics) + " |")
    lines.append("| --- | --- |" + " --- |" * len(metrics))
    for row in lab["figures"]:
        cells = [fmt(row["values"][m]) if m in row["values"] else "—" for m in metrics]
        lines.append(f"| {row['size'] or '—'} | {row['device']} | " + " | ".join(cells) + " |")
    lines.append("")
    return lines


def to_markdown(data: dict) -> str:
    out = ["# Portfolio: vLLM 0.33.0 from the inside", "",
           f"Built {data['generated']} from your own records only (progress.db and your notes). "
           "Every figure is one a recorded run measured, with its date.", ""]
    out += ["## Labs and projects passed", ""]
    labs = data["labs"]
    if not labs["passed"]:
        attempted = labs["attempted_not_passed"]
        out += [(f"no passing runs yet ({attempted} attempted)." if attempted else NO_RUNS + "."), ""]
    for lab in labs["passed"]:
        out += _lab_markdown(lab)
    if labs["passed"] and labs["attempted_not_passed"]:
        out += [f"Attempted, not passed yet: {labs['attempted_not_passed']}.", ""]
    practice = data["practice"]
    out += ["## Drills by category", ""]
    if practice["drills"]:
        out += ["| category | graded drills | mean score | last |", "| --- | --- | --- | --- |"]
        out += [f"| {d['category']} | {d['count']} | {_pct(d['mean'])} | {d['last']} |" for d in practice["drills"]]
    else:
        out.append(NO_RUNS + ".")
    out += ["", "## Mock interviews", ""]
    if practice["interviews"]:
        out += ["| date | interviewer | mean score |", "| --- | --- | --- |"]
        out += [f"| {i['date']} | {i['interviewer']} | {_pct(i['score'])} |" for i in practice["interviews"]]
        if practice["interview_answers"]:
            out += ["", "Answers graded, by category: " + "; ".join(
                f"{a['category']} {_pct(a['mean'])} ({a['count']})" for a in practice["interview_answers"])]
    else:
        out.append(NO_RUNS + ".")
    rub = data["rubric"]
    out += ["", f"## Rubric trajectory (target {rub['target']:g})", ""]
    if rub["trajectory"]:
        out += ["| date | average | to target |", "| --- | --- | --- |"]
        out += [f"| {p['date']} | {p['average']:.2f} | {max(0.0, rub['target'] - p['average']):.2f} |"
                for p in rub["trajectory"]]
        latest = rub["latest"]
        rated = {c: v for c, v in latest["components"].items() if v is not None}
        if rated:
            out += ["", f"Latest ({latest['date']}), by component: " + ", ".join(
                f"{c} {v:.2f}" + (" (below target)" if v < rub["target"] else "") for c, v in rated.items())]
    else:
        out.append(NO_RUNS + ": no self-assessment saved (R in the app).")
    out += ["", "## Deliverable notes", ""]
    if data["notes"]:
        for n in data["notes"]:
            tick = f"ticked {n['ticked']}" if n["ticked"] else "not ticked"
            out.append(f"- **{n['title']}** ({n['state']}; {tick})")
            out += [f"  > {line}" for line in n["first_lines"]]
    else:
        out.append("no deliverable notes written yet.")
    out += ["", "## Open gaps", ""]
    if data["gaps"]:
        for g in data["gaps"]:
            needs = f"; to know more: {'; '.join(g['needs'])}" if g["needs"] else ""
            out.append(f"- {g['title']}: level {g['level']:g} ({g['basis']}), gap {g['gap']:g}{needs}")
    else:
        out.append("none: every component is at the target on the evidence.")
    out += ["", "## Talk outline: vLLM internals in 30 minutes", "",
            "The full outline with what to say is the lesson m09-final-review; your own figures are slotted in "
            "where a recorded run has one.", ""]
    for s in data["talk"]:
        out.append(f"- **{s['minutes']} min, {s['section']}**: {s['argues']}.")
        if s["figures"]:
            out += [f"  - your figure: {f}" for f in s["figures"]]
        else:
            out.append("  - your figure: none recorded yet for this section")
    out.append("")
    return "\n".join(out)


# ------------------------------------------------------------------ HTML

CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #ddd}h3{font-size:1.05rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;text-align:left}
th{background:#f3f3f3}code{background:#f3f3f3;padding:0 .2rem}.empty{color:#777;font-style:italic}
blockquote{margin:.2rem 0 .2rem 1rem;color:#444}svg{display:block;margin:.5rem 0}
"""


def svg_bars(title: str, items: list[tuple[str, float]], scale: float, unit: str = "",
             target: float | None = None) -> str:
    """A horizontal bar chart as inline SVG; bars on 0..scale, a dashed line at `target`."""
    bar_h, gap, label_w, plot_w = 18, 6, 220, 360
    height = len(items) * (bar_h + gap) + 34
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{label_w + plot_w + 90}" height="{height}" '
             f'role="img" aria-label="{html.escape(title)}">',
             f'<text x="0" y="14" font-size="13" font-weight="bold">{html.escape(title)}</text>']
    for i, (label, value) in enumerate(items):
        y = 24 + i * (bar_h + gap)
        w = max(0.0, min(value, scale)) / scale * plot_w if scale else 0
        parts.append(f'<text x="{label_w - 6}" y="{y + 13}" font-size="12" text-anchor="end">{html.escape(label)}</text>')
        parts.append(f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="#4a7bd0"/>')
        parts.append(f'<text x="{label_w + w + 4:.1f}" y="{y + 13}" font-size="12">{html.escape(fmt(value))}{unit}</text>')
    if target is not None and scale:
        x = label_w + target / scale * plot_w
        parts.append(f'<line x1="{x:.1f}" y1="20" x2="{x:.1f}" y2="{height - 4}" stroke="#c0392b" '
                     f'stroke-dasharray="4 3"/><text x="{x + 3:.1f}" y="{height - 2}" font-size="11" '
                     f'fill="#c0392b">target {fmt(target)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def charts(data: dict) -> list[str]:
    """The SVG charts the data supports (none for empty sections)."""
    out = []
    copy = [(f"{lab['id']}", row["values"]["pct_of_copy"]) for lab in data["labs"]["passed"]
            for row in lab["figures"] if isinstance(row["values"].get("pct_of_copy"), (int, float))]
    if copy:
        out.append(svg_bars("Kernels: % of measured copy bandwidth (last recorded run)", copy,
                            max(100.0, max(v for _, v in copy)), "%"))
    drills = [(d["category"], round(100 * d["mean"])) for d in data["practice"]["drills"] if d["mean"] is not None]
    if drills:
        out.append(svg_bars("Drills: mean rubric score by category", drills, 100.0, "%"))
    traj = [(p["date"], p["average"]) for p in data["rubric"]["trajectory"] if p["average"] is not None]
    if traj:
        out.append(svg_bars("Rubric: average self-assessment", traj, 5.0, "", target=data["rubric"]["target"]))
    return out


def to_html(data: dict, markdown_text: str | None = None) -> str:
    """The Markdown report rendered to HTML (markdown-it, as Textual uses), the charts placed after
    the section they belong to; self-contained: inline CSS and SVG, no script, no external resource."""
    from markdown_it import MarkdownIt

    text = markdown_text if markdown_text is not None else to_markdown(data)
    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(text)
    figs = charts(data)
    by_title = {"Kernels": "<h2>Drills by category</h2>", "Drills": "<h2>Mock interviews</h2>",
                "Rubric": "<h2>Deliverable notes</h2>"}
    for svg in figs:
        key = svg.split('aria-label="', 1)[1].split(":", 1)[0]
        anchor = by_title.get(key)
        if anchor and anchor in body:
            body = body.replace(anchor, f'<figure>{svg}</figure>\n{anchor}', 1)
        else:
            body += f"<figure>{svg}</figure>"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>vlearn portfolio {html.escape(data['generated'])}</title><style>{CSS}</style></head>"
            f"<body>\n{body}</body></html>\n")


def to_json(data: dict) -> str:
    return json.dumps(data, indent=2, default=str)
