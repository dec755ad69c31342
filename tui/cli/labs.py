"""vlearn check ID / watch [ID] / verify [IDS...] [--track T] / remote-runner [COMMAND | --clear]"""
from __future__ import annotations

import os
import sys


def register(sub) -> None:
    p = sub.add_parser("check", help="run a lab's tests once against your workspace copy")
    p.add_argument("id", help="lab or project id, e.g. py-kv-cache-sizing")
    p.add_argument("-v", "--verbose", action="store_true", help="show every failure's traceback and the output")
    p.set_defaults(func=run_check)
    p = sub.add_parser("watch", help="re-run a lab on every save (h: hint, n: next lab, q: quit)")
    p.add_argument("id", nargs="?", help="lab to start with (default: the first one not yet passed)")
    p.set_defaults(func=run_watch)
    p = sub.add_parser("verify", help="check that every lab's solution passes and its starter fails")
    p.add_argument("ids", nargs="*", help="lab or project ids (default: all)")
    p.add_argument("--track", help="only this track (python, cuda, triton, cpp, system, projects)")
    p.set_defaults(func=run_verify)
    p = sub.add_parser("remote-runner", help="run GPU labs on another machine when this one has no GPU",
                       description="COMMAND reaches a machine with a GPU and runs one shell command line there, "
                       "e.g. 'ssh gpu-box'; that machine needs python3 with pytest (torch and cupy for CUDA labs). "
                       "VLEARN_REMOTE_RUNNER, when set, wins over this setting.")
    p.add_argument("command", nargs="?", help="e.g. 'ssh gpu-box' (quote it); none: show the current one")
    p.add_argument("--clear", action="store_true", help="forget the setting")
    p.set_defaults(func=run_remote_runner)


# ------------------------------------------------------------------ shared


OUTCOME_WORD = {"passed": "PASS", "failed": "FAIL", "error": "ERR ", "skipped": "SKIP"}


def _load(ident: str | None):
    from ..core.content import load_catalog
    from ..core.content.labs import find

    catalog = load_catalog()
    if ident is None:
        return catalog, None
    item = find(catalog, ident)
    if item is None:
        print(f"no lab or project '{ident}'", file=sys.stderr)
        for problem in catalog.errors:
            if f"/{ident}/" in f"/{problem.path}":
                print(f"  error: {problem}", file=sys.stderr)
        known = sorted(list(catalog.labs) + list(catalog.projects))
        if known:
            print("  known: " + ", ".join(known), file=sys.stderr)
    return catalog, item


def _open_db():
    from ..core.store import StoreError, open_store

    try:
        return open_store()
    except StoreError as exc:
        print(f"warning: {exc} (runs are not recorded)", file=sys.stderr)
        return None


def _remote(db):
    from ..core.labs.remote import configured

    return configured(db)


def run_remote_runner(args) -> int:
    from ..core.labs import remote

    db = _open_db()
    if db is None:
        return 2
    if args.clear or args.command is not None:
        try:
            remote.set_command(db, None if args.clear else args.command)
        except ValueError as exc:
            print(f"cannot parse {args.command!r}: {exc}", file=sys.stderr)
            return 2
    command = remote.configured(db)
    source = f"${remote.ENV}" if os.environ.get(remote.ENV) else f"setting {remote.SETTING}"
    print(f"remote GPU runner: {' '.join(command)}  ({source})" if command else
          "remote GPU runner: none (GPU labs on a machine without a GPU are compiled only)")
    return 0


def format_result(result, verbose: bool = False) -> list[str]:
    """A compact table of one run: a line per test, perf figures, the verdict."""
    lines = []
    width = max((len(t.name) for t in result.tests), default=10)
    width = min(width, 60)
    for t in result.tests:
        first = t.headline(result.target)
        stage = f"[{t.stage}] " if t.stage else ""
        lines.append(f"  {OUTCOME_WORD.get(t.outcome, t.outcome)}  {stage}{t.name:<{width}}  {t.duration:6.3f}s  {first[:100]}")
    shown = 0
    for t in result.tests:
        if t.outcome in ("failed", "error") and t.longrepr and (verbose or shown == 0):
            shown += 1
            lines.append(f"  --- {t.name}")
            text = t.longrepr.splitlines()
            lines += ["    " + line for line in (text if verbose else text[-15:])]
            if t.stdout.strip():
                lines += ["    stdout: " + line for line in t.stdout.strip().splitlines()[-10:]]
    for figures in result.perf:
        where = figures.get("_test", "")
        lines.append("  perf  " + "  ".join(f"{k}={_fmt(v)}" for k, v in figures.items() if k != "_test")
                     + (f"  ({where.split('::')[-1]})" if where else ""))
    if result.perf_goal:
        lines.append(f"  {result.perf_goal}")
    for note in result.notes:
        lines.append(f"  ! {note}")
    if verbose and result.output.strip():
        lines.append("  --- output")
        lines += ["    " + line for line in result.output.strip().splitlines()]
    lines.append(result.summary())
    return lines


def _fmt(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


# ------------------------------------------------------------------ check


def run_check(args) -> int:
    from ..core.labs.runner import LabRunner, record_run
    from ..core.labs.workspace import editable_files, ensure_workspace

    catalog, item = _load(args.id)
    if item is None:
        return 2
    ensure_workspace(item)
    db = _open_db()
    runner = LabRunner(warm=False, remote=_remote(db))  # one run: a cold process costs what warming one would
    try:
        result = runner.run(item, "workspace", record=False)
    finally:
        runner.close()
    if db is not None:
        record_run(db, result)
    print(f"{item.id}: {item.title}")
    for path in editable_files(item):
        print(f"  edit {path}")
    print("\n".join(format_result(result, args.verbose)))
    if result.status == "compiled":
        from ..core.labs.gpu import cpu_twin

        twin = cpu_twin(catalog, item)
        if twin is not None:
            print(f"  a signal on this machine: `vlearn check {twin.id}`, the same kernel in Triton (CPU interpreter)")
        print("  or run it on a GPU machine: `vlearn remote-runner 'ssh gpu-box'` (or $VLEARN_REMOTE_RUNNER)")
    return 0 if result.ok else 1


# ------------------------------------------------------------------ verify


def progress_printer(total: int):
    """print() for verify's lines: the first `total` (one per lab) get an [N/M]
    prefix so a long run shows how far it is; the final count is printed as is."""
    done = 0
    width = len(str(total))

    def out(line: str) -> None:
        nonlocal done
        if done < total:
            done += 1
            line = f"[{done:>{width}}/{total}] {line}"
        print(line, flush=True)

    return out


def run_verify(args) -> int:
    from ..core.labs.runner import LabRunner
    from ..core.labs.verify import select, verify

    catalog, _ = _load(None)
    items, unknown = select(catalog, args.ids or None, args.track)
    out = progress_printer(len(items) + len(unknown))
    if len(items) > 1:
        print(f"verifying {len(items)} labs and projects (solution passes, starter fails, mutants fail)", flush=True)
    db = _open_db()
    runner = LabRunner(db=db, remote=_remote(db))
    try:
        verdicts = verify(catalog, args.ids or None, args.track, runner=runner, out=out)
    finally:
        runner.close()
    if not verdicts:
        print("nothing to verify", file=sys.stderr)
    return 0 if verdicts and all(v.ok for v in verdicts) else 1


# ------------------------------------------------------------------ watch


def _key_reader(queue, stop) -> None:
    """Feed single key presses into `queue` (stdin in cbreak mode)."""
    while not stop.is_set():
        ch = sys.stdin.read(1)
        if not ch:
            return
        queue.put(("key", ch))


def run_watch(args) -> int:
    import queue as queues
    import threading

    from ..core.content.labs import all_labs
    from ..core.labs.runner import LabRunner, lab_state, record_run
    from ..core.labs.watcher import start_watch_thread
    from ..core.labs.workspace import editable_files, ensure_workspace

    catalog, item = _load(args.id)
    if args.id and item is None:
        return 2
    order = all_labs(catalog)
    if not order:
        print("no labs in this content", file=sys.stderr)
        return 2
    db = _open_db()
    if item is None:
        item = next((i for i in order if db is None or lab_state(db, i.id).state != "passed"), order[0])
    interactive = sys.stdin.isatty() and sys.stdout.isatty()
    runner = LabRunner(remote=_remote(db))
    runner.warm_up()
    events: queues.Queue = queues.Queue()
    state = {"item": item, "hints": 0, "result": None}

    def show() -> None:
        current = state["item"]
        lines = []
        if interactive:
            sys.stdout.write("\033[2J\033[H")
        lines.append(f"{current.id}: {current.title}   [{order.index(current) + 1}/{len(order)}]")
        lines += [f"  edit {p}" for p in editable_files(current)]
        result = state["result"]
        if result is not None and result.lab_id == current.id:
            lines += format_result(result)
        else:
            lines.append("  (waiting for a save)")
        for number, hint in enumerate(current.hints[: state["hints"]], 1):
            lines.append(f"  hint {number}: {hint}")
        if interactive:
            left = len(current.hints) - state["hints"]
            lines.append(f"h: hint ({left} left)   n: next lab   q: quit")
        print("\n".join(lines), flush=True)

    def run_now() -> None:
        ensure_workspace(state["item"])
        result = runner.run(state["item"], "workspace", record=False)
        events.put(("result", result))

    watch_thread, stop, _ready = start_watch_thread(
        catalog, on_result=lambda r: events.put(("result", r)), runner=runner,
        on_start=lambda lab: events.put(("start", lab)),
    )
    old_tty = None
    if interactive:
        import termios
        import tty

        old_tty = termios.tcgetattr(sys.stdin.fileno())
        tty.setcbreak(sys.stdin.fileno())
        threading.Thread(target=_key_reader, args=(events, stop), daemon=True).start()
    try:
        ensure_workspace(item)
        show()
        threading.Thread(target=run_now, daemon=True).start()
        while True:
            try:
                kind, value = events.get(timeout=0.5)
            except queues.Empty:
                if not watch_thread.is_alive():
                    print("the watcher stopped", file=sys.stderr)
                    return 1
                continue
            if kind == "result":
                if db is not None:
                    record_run(db, value)
                if value.lab_id != state["item"].id:  # the learner saved another lab: follow them
                    state["item"] = next(i for i in order if i.id == value.lab_id)
                    state["hints"] = 0
                state["result"] = value
                show()
            elif kind == "start" and interactive:
                sys.stdout.write(f"running {value} ...\n")
                sys.stdout.flush()
            elif kind == "key":
                key = value.lower()
                if key == "q":
                    return 0
                if key == "h":
                    state["hints"] = min(state["hints"] + 1, len(state["item"].hints))
                    show()
                elif key == "n":
                    index = order.index(state["item"])
                    state["item"], state["hints"], state["result"] = order[(index + 1) % len(order)], 0, None
                    show()
                    threading.Thread(target=run_now, daemon=True).start()
    except KeyboardInterrupt:
        return 0
    finally:
        stop.set()
        if old_tty is not None:
            import termios

            termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, old_tty)
        watch_thread.join(timeout=5)
        runner.close()
