"""vlearn drill / vlearn interview / vlearn model — in a plain terminal."""
from __future__ import annotations

import sys

from .common import content_and_store


def register(sub) -> None:
    p = sub.add_parser("drill", help="a timed whiteboard drill in the terminal")
    p.add_argument("--category", help="cuda_coding, system_design, architecture, behavioral, implementation or debugging")
    p.add_argument("--question", help="a question id (default: the one you most need)")
    p.set_defaults(func=run_drill)

    p = sub.add_parser("interview", help="a scripted or model-driven mock interview in the terminal")
    p.add_argument("--interviewer", help="interviewer id (default: choose from a list)")
    p.add_argument("--scripted", action="store_true", help="ignore any configured model")
    p.set_defaults(func=run_interview)

    p = sub.add_parser("model", help="set the OpenAI-compatible model for interviews (the key stays in your environment)")
    p.add_argument("--base-url", help="e.g. http://127.0.0.1:8000/v1 for a local `vllm serve`")
    p.add_argument("--model", help="the served model name")
    p.add_argument("--key-env", default="", help="NAME of the environment variable holding the API key")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per reply (default 30)")
    p.set_defaults(func=run_model)


def _read_block(prompt: str) -> str | None:
    """Lines until a lone '.' (or end of input); None at end of input with nothing typed."""
    print(prompt)
    lines = []
    for line in sys.stdin:
        if line.rstrip("\n") == ".":
            return "\n".join(lines)
        lines.append(line.rstrip("\n"))
    return "\n".join(lines) if lines else None


def _mmss(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 60:02d}:{s % 60:02d}"


def _markdown(text: str) -> None:
    """Markdown as a terminal shows it (rich drops the styling when piped)."""
    from rich.console import Console
    from rich.markdown import Markdown

    Console().print(Markdown(text.strip()))


def _run_against_lab(catalog, question, answer: str, runnable: bool) -> None:
    """Your answer so far as the lab's file, through the lab's own tests; the first failure shown."""
    from ..core import drills

    if not runnable:
        print("[this question has no lab to run against]")
        return
    result = drills.run_answer_against_lab(catalog, question, answer)
    print(f"[{question.lab}: {result.summary()}]")
    bad = next((t for t in result.tests if t.outcome in ("failed", "error")), None)
    if bad is not None:
        print("  " + "\n  ".join(bad.text.strip().splitlines()[:8]))


def run_drill(args) -> int:
    from ..core import drills

    catalog, db = content_and_store()
    if args.question and args.question not in catalog.questions:
        print(f"error: no question '{args.question}'", file=sys.stderr)
        return 2
    question = catalog.questions[args.question] if args.question else drills.choose_question(catalog, db, args.category)
    if question is None:
        print(f"error: no questions in category '{args.category}'", file=sys.stderr)
        return 2
    drill = drills.Drill(db, question).start()
    print(f"\n== {question.title} ({question.category}, {question.minutes} min) ==\n")
    _markdown(question.prompt)
    print()
    runnable = bool(question.lab and question.lab in catalog.labs)
    print("Type your answer. Commands on their own line: ':hint' next hint, ':time' time left, "
          + (f"':run' run it against lab {question.lab}'s tests, " if runnable else "") + "'.' submit.")
    lines: list[str] = []
    for raw in sys.stdin:
        line = raw.rstrip("\n")
        if line == ".":
            break
        if line == ":time":
            print(f"[{_mmss(drill.remaining())} left]")
            continue
        if line == ":run":
            _run_against_lab(catalog, question, "\n".join(lines) + "\n", runnable)
            continue
        if line == ":hint":
            index = drill.next_hint()
            if index is None:
                print("[no more hints]")
            else:
                early = drill.elapsed() < drill.hint_mark(index)
                print(f"[hint {index + 1}{' (early)' if early else ''}] {drill.take_hint(index)}")
            continue
        lines.append(line)
        drill.autosave("\n".join(lines))
        if drill.timed_out:
            print("[time is up]")
            break
    drill.finish("\n".join(lines))
    print(f"\n-- {drill.status.replace('_', ' ')} after {_mmss(min(drill.elapsed(), drill.limit_s))} --\n")
    print("Model answer:\n")
    _markdown(question.model_answer)
    _markdown(drills.levels_markdown(question))
    print("\nRubric: answer y or n for each point your answer covered.")
    ticks = []
    for i, point in enumerate(question.rubric):
        print(f"  {i + 1}. {point} [y/n] ", end="", flush=True)
        reply = sys.stdin.readline()
        if not reply:
            print()
            break
        if reply.strip().lower().startswith("y"):
            ticks.append(i)
    score = drill.grade(ticks)
    print(f"\nScore: {score:.0%} ({len(ticks)}/{len(question.rubric)}). Saved.")
    return 0


def run_interview(args) -> int:
    from ..core import interview
    from ..core.drills import levels_markdown

    catalog, db = content_and_store()
    if not catalog.interviewers:
        print("error: no interviewers in data/interviewers.yaml", file=sys.stderr)
        return 2
    ident = args.interviewer
    if ident is None:
        ids = list(catalog.interviewers)
        for n, i in enumerate(ids, 1):
            print(f"{n:2}. {catalog.interviewers[i].title}")
        choice = input("Interviewer number: ").strip()
        ident = ids[int(choice) - 1] if choice.isdigit() and 0 < int(choice) <= len(ids) else ids[0]
    if ident not in catalog.interviewers:
        print(f"error: no interviewer '{ident}'", file=sys.stderr)
        return 2
    session = interview.InterviewSession(db, catalog, catalog.interviewers[ident],
                                         driver=interview.driver_for(db, scripted=args.scripted))
    echo = lambda piece: print(piece, end="", flush=True)  # noqa: E731 - stream as it arrives
    print("Interviewer: ", end="")
    session.start(echo)
    print()
    while True:
        print("\nInterviewer: ", end="")
        if session.next_question(echo) is None:
            print("That's all my questions.")
            break
        print()
        while True:
            answer = _read_block("\nYour answer (end with a lone '.'):")
            if answer is None:
                break
            print("\nInterviewer: ", end="")
            if session.answer(answer, echo) is None:
                print("(moving on)")
                break
            print()
        if answer is None:
            break
    for notice in session.notices:
        print(f"notice: {notice}")
    session.auto_grade()
    for q in session.questions:
        if q.id in session.answers and q.id not in session.grades:
            print(f"\nGrade yourself on '{q.title}'. Model answer:\n")
            _markdown(q.model_answer)
            _markdown(levels_markdown(q))
            print()
            ticks = []
            for i, point in enumerate(q.rubric):
                print(f"  {i + 1}. {point} [y/n] ", end="", flush=True)
                reply = sys.stdin.readline()
                if reply.strip().lower().startswith("y"):
                    ticks.append(i)
            session.self_grade(q.id, ticks)
    summary = session.finish()
    print("\nSummary:")
    for line in summary["per_question"]:
        print(f"  {line}")
    if summary["mean_score"] is not None:
        print(f"  mean {summary['mean_score']:.0%} over {summary['minutes']} min")
    return 0


def run_model(args) -> int:
    from ..core import llm

    catalog, db = content_and_store()
    if not args.base_url:
        config = llm.config_from_settings(db)
        print("no model set: interviews are scripted" if config is None else
              f"{config.model} at {config.base_url}, key from ${config.api_key_env or '(none)'}, timeout {config.timeout_s:g} s")
        return 0
    if not args.model:
        print("error: --model is required with --base-url", file=sys.stderr)
        return 2
    llm.save_config(db, llm.ModelConfig(args.base_url, args.model, args.key_env, args.timeout))
    print(f"interviews will use {args.model} at {args.base_url}" + (f" (key read from ${args.key_env})" if args.key_env else ""))
    return 0
