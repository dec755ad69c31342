"""Mock interviews: an interviewer from data/interviewers.yaml asks questions
from its pools, follows up on each answer, keeps the clock, and ends with a
per-question rubric grade and a summary.

Two drivers say the interviewer's lines: `ScriptedDriver` (offline, from the
question bank) and `ModelDriver` (any OpenAI-compatible endpoint). When the
model fails for any reason the session says so in the transcript and carries
on scripted; nothing the learner typed is lost, because every turn is
committed to interview_turns as it happens.
"""
from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlite_utils import Database

from .content import Catalog
from .drills import score_of
from .llm import ChatClient, LLMError, parse_json_reply
from .store import progress

MAX_FOLLOW_UPS = 2
OnText = Callable[[str], None] | None


@dataclass(frozen=True)
class Grade:
    question_id: str
    ticks: list[int]
    score: float
    feedback: str
    graded_by: str  # self | model


REVIEW_LEAD = "Here is the change under review. What blocks it, in priority order, and what is the fix?"
NEXT_STEP = "What does that tell you, and what do you check next?"


def steps(interviewer, question) -> list[tuple[str, str]]:
    """What the interviewer says after each answer, in order: ("reveal", measurement) for an
    investigation's measurements, then ("follow_up", text) up to MAX_FOLLOW_UPS."""
    reveals = [("reveal", m) for m in question.measurements] if interviewer.mode == "investigate" else []
    return reveals + [("follow_up", f) for f in question.follow_ups[:MAX_FOLLOW_UPS]]


def presented(interviewer, question) -> str | None:
    """The question as the interviewer hands it over verbatim, or None when it is put in
    the interviewer's own words: a reviewer's artifact must reach the candidate exactly."""
    if interviewer.mode == "review":
        return f"{REVIEW_LEAD}\n\n{question.prompt}"
    return None


class ScriptedDriver:
    name = "scripted"

    def opening(self, interviewer, on_text: OnText = None) -> str:
        return _say(interviewer.opening, on_text)

    def ask(self, interviewer, question, on_text: OnText = None) -> str:
        return _say(presented(interviewer, question) or question.prompt, on_text)

    def follow_up(self, interviewer, question, answer: str, asked: int, on_text: OnText = None) -> str | None:
        todo = steps(interviewer, question)
        if asked >= len(todo):
            return None
        kind, text = todo[asked]
        return _say(f"{text}\n\n{NEXT_STEP}" if kind == "reveal" else text, on_text)

    def grade(self, question, answers: list[str]) -> Grade | None:
        return None  # offline, the learner ticks the rubric themselves


def _say(text: str, on_text: OnText) -> str:
    if on_text:
        on_text(text)
    return text


class ModelDriver:
    """The model plays the interviewer; its grading is JSON checked against the rubric."""

    def __init__(self, client: ChatClient):
        self.client = client
        self.name = f"model:{client.config.model}"

    def _persona(self, interviewer) -> dict:
        return {
            "role": "system",
            "content": (
                f"You are a technical interviewer for GPU-systems and LLM-inference roles: {interviewer.title}. "
                f"Focus: {interviewer.focus}. Style: {interviewer.style}. Speak only as the interviewer, "
                "briefly (at most 120 words), one question at a time, and never reveal the model answer."
            ),
        }

    def opening(self, interviewer, on_text: OnText = None) -> str:
        return _say(interviewer.opening, on_text)  # the opening is scripted: no round trip needed

    def ask(self, interviewer, question, on_text: OnText = None) -> str:
        verbatim = presented(interviewer, question)
        if verbatim is not None:
            return _say(verbatim, on_text)
        messages = [self._persona(interviewer), {"role": "user", "content": (
            "Ask the candidate this question in your own words, keeping every technical detail:\n\n" + question.prompt)}]
        return self.client.stream(messages, on_text)

    def follow_up(self, interviewer, question, answer: str, asked: int, on_text: OnText = None) -> str | None:
        todo = steps(interviewer, question)
        if asked < len(todo) and todo[asked][0] == "reveal":
            # The measurement is shown verbatim, in order; the model only asks about it.
            measurement = todo[asked][1]
            messages = [self._persona(interviewer), {"role": "user", "content": (
                f"Symptom given:\n{question.prompt}\n\nCandidate's last answer:\n{answer}\n\n"
                f"You are about to show them this measurement:\n{measurement}\n\nAsk ONE short question: "
                "what they conclude from it, or what they would check next. Do not give the cause away.")}]
            return _say(f"{measurement}\n\n{self.client.stream(messages, None).strip()}", on_text)
        if asked >= MAX_FOLLOW_UPS + len([t for t in todo if t[0] == "reveal"]):
            return None
        ideas = "\n".join(f"- {f}" for f in question.follow_ups)
        messages = [self._persona(interviewer), {"role": "user", "content": (
            f"Question asked:\n{question.prompt}\n\nCandidate's answer:\n{answer}\n\n"
            f"Possible follow-ups:\n{ideas}\n\nAsk ONE follow-up that probes the weakest or vaguest part of "
            "this actual answer. If the answer is complete and there is nothing worth probing, reply with exactly NEXT.")}]
        text = self.client.stream(messages, None)
        if text.strip().upper().startswith("NEXT"):
            return None
        return _say(text, on_text)

    def grade(self, question, answers: list[str]) -> Grade:
        points = "\n".join(f"{i}. {p}" for i, p in enumerate(question.rubric))
        messages = [
            {"role": "system", "content": "You grade interview answers strictly against a rubric and reply with JSON only."},
            {"role": "user", "content": (
                f"Question:\n{question.prompt}\n\nCandidate's answers (main answer, then follow-ups):\n"
                + "\n---\n".join(answers)
                + f"\n\nRubric points:\n{points}\n\nReply with one JSON object: "
                '{"points": [{"index": <int>, "met": <true|false>, "why": "<one sentence>"}, ...one per rubric point], '
                '"feedback": "<two or three sentences>"}')},
        ]
        return validate_grade(question, parse_json_reply(self.client.complete(messages)), graded_by="model")


def driver_for(db: Database, scripted: bool = False):
    """The model the learner set with `vlearn model`, else the scripted interviewer."""
    from .llm import config_from_settings

    config = None if scripted else config_from_settings(db)
    return ModelDriver(ChatClient(config)) if config else ScriptedDriver()


def validate_grade(question, data: dict, graded_by: str) -> Grade:
    """Check a model's grade against the rubric; LLMError('schema') when it does not fit."""
    points = data.get("points")
    feedback = data.get("feedback", "")
    n = len(question.rubric)
    if not isinstance(points, list) or not isinstance(feedback, str):
        raise LLMError("schema", "the grade needs a 'points' list and a 'feedback' text")
    seen: dict[int, bool] = {}
    for point in points:
        if not isinstance(point, dict) or not isinstance(point.get("index"), int) or not isinstance(point.get("met"), bool):
            raise LLMError("schema", "each graded point needs an integer 'index' and a boolean 'met'")
        if not 0 <= point["index"] < n:
            raise LLMError("schema", f"graded point index {point['index']} is outside the rubric's {n} points")
        seen[point["index"]] = point["met"]
    if set(seen) != set(range(n)):
        raise LLMError("schema", f"the grade covers {len(seen)} of the rubric's {n} points")
    ticks = sorted(i for i, met in seen.items() if met)
    return Grade(question.id, ticks, score_of(ticks, n), feedback.strip(), graded_by)


def pick_questions(catalog: Catalog, db: Database, interviewer, count: int, rng: random.Random) -> list:
    """From the interviewer's pools: the learner's weakest rubric components first
    once the gap analysis has any evidence or self-rating, else a weighted draw."""
    from .gaps import analyse

    weights = interviewer.weighted_questions(catalog.questions)
    if not weights:
        return []
    ids = list(weights)
    rng.shuffle(ids)
    analysis = analyse(catalog, db, None, recommendations=False)
    if any(row["observations"] or row["self_rating"] for row in analysis["components"]):
        rank = {component: i for i, component in enumerate(analysis["ranking"])}
        ids.sort(key=lambda q: min(rank.get(c, len(rank)) for c in catalog.questions[q].components or [""]))
        return [catalog.questions[q] for q in ids[:count]]
    chosen = []
    while ids and len(chosen) < count:
        qid = rng.choices(ids, weights=[weights[i] for i in ids])[0]
        ids.remove(qid)
        chosen.append(catalog.questions[qid])
    return chosen


@dataclass
class InterviewSession:
    db: Database
    catalog: Catalog
    interviewer: object
    driver: object = field(default_factory=ScriptedDriver)
    rng: random.Random = field(default_factory=random.Random)
    clock: Callable[[], float] = time.monotonic
    count: int = 0
    id: int | None = None
    questions: list = field(default_factory=list)
    position: int = -1  # index into questions of the one being discussed
    follow_ups_asked: int = 0
    answers: dict = field(default_factory=dict)  # question id -> [answer, follow-up answers...]
    grades: dict = field(default_factory=dict)
    notices: list = field(default_factory=list)
    _t0: float = 0.0

    def __post_init__(self) -> None:
        self.count = self.count or self.interviewer.questions_per_session
        self._t0 = self.clock()

    # -- the conversation -------------------------------------------------
    def start(self, on_text: OnText = None) -> str:
        self.questions = pick_questions(self.catalog, self.db, self.interviewer, self.count, self.rng)
        with self.db.atomic():
            self.id = self.db["interviews"].insert({
                "interviewer_id": self.interviewer.id, "started_at": progress.stamp(),
                "driver": self.driver.name, "status": "running",
            }).last_pk
        opening = self._call("opening", self.interviewer, on_text=on_text)
        self._turn("interviewer", opening)
        return opening

    @property
    def current(self):
        return self.questions[self.position] if 0 <= self.position < len(self.questions) else None

    @property
    def done(self) -> bool:
        return self.position >= len(self.questions)

    def elapsed(self) -> float:
        return self.clock() - self._t0

    def next_question(self, on_text: OnText = None) -> str | None:
        """Move on and ask the next question; None when there are no more."""
        self.position += 1
        self.follow_ups_asked = 0
        question = self.current
        if question is None:
            return None
        text = self._call("ask", self.interviewer, question, on_text=on_text)
        self._turn("interviewer", text, question.id)
        return text

    def stop_asking(self) -> None:
        """End early: no more questions; what was answered can still be graded."""
        self.position = len(self.questions)

    def answer(self, text: str, on_text: OnText = None) -> str | None:
        """Record the candidate's answer; returns the follow-up, or None when the
        interviewer is ready to move on (call next_question)."""
        question = self.current
        if question is None:
            raise RuntimeError("no question is open")
        self._turn("candidate", text, question.id)
        self.answers.setdefault(question.id, []).append(text)
        follow = self._call("follow_up", self.interviewer, question, text, self.follow_ups_asked, on_text=on_text)
        if follow is None:
            return None
        self.follow_ups_asked += 1
        self._turn("interviewer", follow, question.id)
        return follow

    # -- grading ----------------------------------------------------------
    def auto_grade(self) -> dict:
        """Model grades for every answered question (none when scripted)."""
        for question in self.questions:
            if question.id in self.answers and question.id not in self.grades:
                grade = self._call("grade", question, self.answers[question.id])
                if grade is not None:
                    self._store_grade(grade)
        return self.grades

    def self_grade(self, question_id: str, ticks: list[int]) -> Grade:
        question = self.catalog.questions[question_id]
        grade = Grade(question_id, sorted(set(ticks)), score_of(ticks, len(question.rubric)), "", "self")
        self._store_grade(grade)
        return grade

    def finish(self) -> dict:
        asked = [q for q in self.questions if q.id in self.answers]
        scores = [self.grades[q.id].score for q in asked if q.id in self.grades]
        mean = round(sum(scores) / len(scores), 4) if scores else None
        lines = [f"{q.id}: " + (f"{self.grades[q.id].score:.0%}" if q.id in self.grades else "not graded") for q in asked]
        summary = {
            "interviewer": self.interviewer.id, "questions": len(asked), "mean_score": mean,
            "minutes": round(self.elapsed() / 60, 1), "per_question": lines, "notices": self.notices,
        }
        with self.db.atomic():
            self.db["interviews"].update(self.id, {
                "finished_at": progress.stamp(), "status": "finished", "score": mean, "summary": json.dumps(summary),
            })
        progress.log_activity(self.db, "interview", self.interviewer.id)
        return summary

    # -- plumbing -----------------------------------------------------------
    def _call(self, step: str, *args, on_text: OnText = None):
        if not isinstance(self.driver, ScriptedDriver):
            try:
                if step == "grade":
                    return self.driver.grade(*args)
                return getattr(self.driver, step)(*args, on_text=on_text)
            except LLMError as exc:
                notice = f"The model failed ({exc.kind}: {exc}); carrying on with the scripted interviewer."
                self.notices.append(notice)
                self._turn("notice", notice)
                self.driver = ScriptedDriver()
        if step == "grade":
            return self.driver.grade(*args)
        return getattr(self.driver, step)(*args, on_text=on_text)

    def _turn(self, role: str, text: str, question_id: str | None = None) -> None:
        with self.db.atomic():
            self.db["interview_turns"].insert({
                "interview_id": self.id, "at": progress.stamp(), "role": role, "question_id": question_id, "text": text,
            })

    def _store_grade(self, grade: Grade) -> None:
        self.grades[grade.question_id] = grade
        with self.db.atomic():
            self.db["interview_grades"].upsert({
                "interview_id": self.id, "question_id": grade.question_id, "ticks": json.dumps(grade.ticks),
                "score": grade.score, "feedback": grade.feedback, "graded_by": grade.graded_by,
            }, pk=("interview_id", "question_id"))

    def transcript(self) -> list[dict]:
        return list(self.db.query("select role, question_id, text from interview_turns where interview_id = ? order by id", [self.id]))

