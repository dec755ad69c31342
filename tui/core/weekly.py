"""The weekly review: the week's deliverables, the roadmap's milestones beside the
evidence the gap analysis has for them, and the cards and drills that were weakest.

Shown under the last day page of each week and by `vlearn week N`; built only from
the learner's records (nothing is scored here that tui.core.gaps does not score)."""
from __future__ import annotations

from . import deliverables, gaps
from .content import Catalog


def week_days(catalog: Catalog, week: int) -> list[int]:
    return sorted(n for n, day in catalog.days.items() if day.week == week)


def last_day_of_week(catalog: Catalog, day: int) -> int | None:
    """The week number when `day` is the last day of its week (where the review goes)."""
    plan_day = catalog.days.get(day)
    if plan_day is None or not plan_day.week:
        return None
    return plan_day.week if week_days(catalog, plan_day.week)[-1] == day else None


def _weakest_cards(catalog: Catalog, db, days: list[int], limit: int = 5) -> list[str]:
    wanted = {name for n in days for name in catalog.days[n].cards}
    ids = [c.id for c in catalog.cards.values() if c.deck in wanted or wanted & set(c.tags)]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    rows = db.execute(
        f"select card_id, sum(rating = 1) as again, count(*) as answers from srs_reviews "
        f"where card_id in ({marks}) group by card_id having again > 0 order by again desc, answers desc, card_id "
        f"limit {limit}", ids).fetchall()
    return [f"`{cid}` — {catalog.cards[cid].front.splitlines()[0][:70]} (Again ×{again} of {answers})"
            for cid, again, answers in rows]


def _weakest_drills(catalog: Catalog, db, days: list[int]) -> list[str]:
    out = []
    for qid in dict.fromkeys(catalog.days[n].drill for n in days if catalog.days[n].drill):
        best = db.execute("select max(score) from drills where question_id = ? and status = 'graded'", [qid]).fetchone()[0]
        title = catalog.questions[qid].title if qid in catalog.questions else qid
        out.append((best if best is not None else -1.0, f"{title}: " + (f"best {best:.0%}" if best is not None
                                                                          else "not drilled yet")))
    return [text for _, text in sorted(out)]


def review_markdown(catalog: Catalog, db, week: int) -> str:
    days = week_days(catalog, week)
    if not days:
        return f"Week {week} is not in the plan."
    lines = [f"## Week {week} review (from your records)", "", "### Deliverables", ""]
    items = deliverables.listing(catalog, db, week)
    lines += [f"- {'[x]' if d.done else '[ ]'} Day {d.day}: {deliverables.one_line(d.text, 90)} — {d.state}"
              for d in items] or ["- no deliverables this week"]
    rows = {row["id"]: row for row in gaps.analyse(catalog, db, None, recommendations=False)["components"]}
    lines += ["", "### Milestones and their evidence", ""]
    for milestone in sorted((m for m in catalog.milestones.values() if m.week == week), key=lambda m: m.origin):
        lines.append(f"- **{milestone.text}**")
        for component in milestone.components:
            row = rows.get(component)
            if row is None:
                continue
            level = f", evidence level {row['evidence_level']:.1f} of 5" if row["evidence_level"] is not None else ""
            lines.append(f"  - {row['title']}: {row['status']} ({row['observations']} observations{level})")
    lines += ["", "### Weakest cards this week", ""]
    lines += [f"- {text}" for text in _weakest_cards(catalog, db, days)] or [
        "- no card of this week's decks was forgotten (or none reviewed yet)"]
    lines += ["", "### This week's drills, weakest first", ""]
    lines += [f"- {text}" for text in _weakest_drills(catalog, db, days)] or ["- no drills this week"]
    return "\n".join(lines) + "\n"
