"""vlearn source fetch [--from PATH] | show REF [--all] | open REF | where

The vLLM 0.33.0 source the lessons cite, fetched once into the user's cache
(`tui.core.source`). `fetch` without --from downloads the sdist through pip's
own machinery (the learner's index URL, proxy, certificates and credentials
from pip's configuration), checks it against the hash the index publishes, and
unpacks it. It never builds the sdist: `pip download` of an sdist prepares its
metadata, which for vLLM means installing its build requirements (torch), so
the archive is found and fetched with pip's PackageFinder and session instead.
"""
from __future__ import annotations

import sys

EPILOG = """\
examples:
  vlearn source fetch                       download vllm-0.33.0.tar.gz through pip's settings, check, unpack
  vlearn source fetch --from ~/src/vllm     use a git checkout at v0.33.0 (or --from vllm-0.33.0.tar.gz)
  vlearn source where                       the folder, or how to fetch it
  vlearn source show vllm/v1/core/sched/scheduler.py::Scheduler.schedule
  vlearn source show csrc/cache_kernels.cu::reshape_and_cache_flash_kernel
  vlearn source open vllm/v1/worker/gpu_model_runner.py::GPUModelRunner.execute_model

environment:
  VLEARN_VLLM_SOURCE   a vLLM 0.33.0 tree to use as it is, instead of the cache folder
  VISUAL, EDITOR       the editor `open` starts (with +LINE)
"""


def register(sub) -> None:
    import argparse

    p = sub.add_parser("source", help="the vLLM 0.33.0 source: fetch it once, show or open a lesson's reference",
                       epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1], needs_content=False)
    s = p.add_subparsers(dest="source_command", metavar="ACTION")

    f = s.add_parser("fetch", help="download (or copy --from) and unpack the 0.33.0 source; once")
    f.add_argument("--from", dest="from_path", metavar="PATH",
                   help="a vLLM 0.33.0 checkout folder or sdist archive (.tar.gz) to use instead of downloading")
    f.set_defaults(func=run_fetch, needs_content=False)

    sh = s.add_parser("show", help="print a reference's lines with line numbers")
    sh.add_argument("ref", metavar="REF", help="path::Symbol or path::Class.method, as in a lesson's vllm_refs")
    sh.add_argument("--all", action="store_true", help="every definition of the name (overloads, specializations)")
    sh.set_defaults(func=run_show, needs_content=False)

    o = s.add_parser("open", help="open a reference in $EDITOR at its first line")
    o.add_argument("ref", metavar="REF", help="path::Symbol or path::Class.method, as in a lesson's vllm_refs")
    o.set_defaults(func=run_open, needs_content=False)

    w = s.add_parser("where", help="print the source folder (exit 1 and say how to fetch when absent)")
    w.set_defaults(func=run_where, needs_content=False)


def _err(msg: str) -> int:
    print(f"error: {msg}", file=sys.stderr)
    return 1


def run_where(args) -> int:
    from ..core import source

    root = source.source_root()
    if root is None:
        return _err(source.how_to_fetch())
    print(root)
    return 0


# ------------------------------------------------------------------ fetch


def run_fetch(args) -> int:
    from ..core import source

    existing = source.source_root()
    if existing is not None:
        print(f"vLLM {source.VERSION} source already present at {existing}")
        return 0
    try:
        if args.from_path:
            print(f"unpacking {args.from_path} ...", file=sys.stderr)
            root = source.fetch_from(args.from_path)
        else:
            root = _download_and_unpack()
    except source.SourceError as exc:
        return _err(str(exc))
    marker = source.read_marker(root) or {}
    note = "" if marker.get("version_checked", True) else \
        f" (its version was not recorded in it: make sure it is v{source.VERSION})"
    print(f"vLLM {source.VERSION} source at {root}: {marker.get('files', '?')} files{note}")
    return 0


# Runs in an interpreter that has pip. Finds the sdist with pip's PackageFinder
# (pip's configuration files and PIP_* variables apply), downloads it with pip's
# session (proxy, certificates, credentials), hashes it while writing.
# Protocol on stdout: "progress DONE TOTAL" lines, then "result {json}".
_PIP_HELPER = r'''
import contextlib, hashlib, json, logging, os, sys
dest, name, version = sys.argv[1:4]
problems = []
class Keep(logging.Handler):
    def emit(self, record):
        problems.append(record.getMessage())
logging.getLogger().addHandler(Keep(logging.WARNING))
logging.getLogger().setLevel(logging.WARNING)
class Done(Exception):
    pass
def done(**kw):
    print("result " + json.dumps(kw), flush=True)
    raise Done
def network(text):
    text = text.lower()
    return any(w in text for w in ("connection", "resolve", "timed out", "timeout", "ssl", "proxy",
                                   "unreachable", "name or service"))
def work(cmd, options):
    try:
        from pip._vendor.packaging.specifiers import SpecifierSet
        session = cmd.get_default_session(options)
        finder = cmd._build_package_finder(options=options, session=session)
        best = finder.find_best_candidate(name, SpecifierSet(f"=={version}")).best_candidate
        from pip._internal.utils.misc import redact_auth_from_url
        indexes = [redact_auth_from_url(u) for u in
                   list(options.find_links or []) + [options.index_url] + list(options.extra_index_urls or [])]
    except Done:
        raise
    except Exception as exc:
        done(ok=False, reason=f"pip could not be used to look up {name}: {type(exc).__name__}: {exc}")
    if best is None:
        done(ok=False, network=any(network(p) for p in problems), indexes=indexes,
             reason=(problems[-1] if problems else f"no source archive of {name} {version} on " + ", ".join(indexes)))
    link = best.link
    hashes = {k: v for k, v in (getattr(link, "_hashes", None) or {}).items() if k in hashlib.algorithms_available}
    if not hashes and getattr(link, "hash", None):
        hashes[link.hash_name] = link.hash
    url = link.url.split("#", 1)[0]
    out = os.path.join(dest, link.filename)
    digests = {k: hashlib.new(k) for k in hashes}
    digests.setdefault("sha256", hashlib.sha256())
    try:
        resp = session.get(url, stream=True, headers={"Accept-Encoding": "identity"})
        resp.raise_for_status()
        total = int(resp.headers.get("content-length") or 0)
        got = step = 0
        with open(out, "wb") as fh:
            for chunk in resp.iter_content(1 << 16):
                fh.write(chunk)
                for d in digests.values():
                    d.update(chunk)
                got += len(chunk)
                if got - step >= (1 << 20):
                    step = got
                    print(f"progress {got} {total}", flush=True)
    except Exception as exc:
        done(ok=False, network=network(str(exc)), reason=f"download of {url} failed: {type(exc).__name__}: {exc}")
    bad = [k for k, v in hashes.items() if digests[k].hexdigest() != v.lower()]
    if bad:
        done(ok=False, reason=f"{link.filename}: {bad[0]} does not match the index ({hashes[bad[0]]})")
    done(ok=True, path=out, url=url, sha256=digests["sha256"].hexdigest(), verified=sorted(hashes))
try:
    from pip._internal.commands import create_command
    cmd = create_command("download")
    options, _ = cmd.parse_args([f"{name}=={version}", "--no-deps", "--no-binary", ":all:",
                                 "-d", dest, "--retries", "2"])
    with cmd.main_context():
        work(cmd, options)
except Done:
    pass
except Exception as exc:
    print("result " + json.dumps(dict(ok=False, reason=f"pip could not be used: {type(exc).__name__}: {exc}")))
'''


def _pip_python() -> str | None:
    import importlib.util
    import shutil
    import subprocess

    if importlib.util.find_spec("pip") is not None:
        return sys.executable
    for name in ("python3", "python"):
        exe = shutil.which(name)
        if exe and subprocess.run([exe, "-c", "import pip._internal"], capture_output=True).returncode == 0:
            return exe
    return None


def _download_and_unpack():
    import contextlib
    import json
    import shutil
    import subprocess
    import tempfile
    from pathlib import Path

    from ..core import source

    fallback = (f"download vllm-{source.VERSION}.tar.gz yourself (https://pypi.org/project/vllm/{source.VERSION}/#files "
                f"or your index) and run `vlearn source fetch --from vllm-{source.VERSION}.tar.gz`")
    python = _pip_python()
    if python is None:
        raise source.SourceError(f"pip is not installed here to download with; {fallback}")
    import time

    parent = source.source_dir().parent
    parent.mkdir(parents=True, exist_ok=True)
    for stale in parent.glob(".vllm-download-*"):  # a download killed outright (SIGKILL, power)
        with contextlib.suppress(OSError):
            if time.time() - stale.stat().st_mtime > 6 * 3600:
                shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=".vllm-download-", dir=parent))
    tty = sys.stderr.isatty()
    try:
        print(f"looking up vllm=={source.VERSION} through pip's index settings ...", file=sys.stderr)
        proc = subprocess.Popen([python, "-c", _PIP_HELPER, str(tmp), "vllm", source.VERSION],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        result = None
        assert proc.stdout is not None
        for line in proc.stdout:
            if line.startswith("progress ") and tty:
                _, got, total = line.split()
                size = f"/{int(total) / 1e6:.1f}" if int(total) else ""
                print(f"\r  downloading: {int(got) / 1e6:.1f}{size} MB", end="", file=sys.stderr, flush=True)
            elif line.startswith("result "):
                result = json.loads(line[len("result "):])
        stderr = proc.stderr.read() if proc.stderr else ""
        proc.wait()
        if tty:
            print(file=sys.stderr)
        if result is None:
            last = (stderr.strip().splitlines() or ["no answer"])[-1]
            raise source.SourceError(f"the download helper failed ({last}); {fallback}")
        if not result.get("ok"):
            reason = result.get("reason", "unknown reason").replace("\n", " ")
            if result.get("network"):
                where = ", ".join(result.get("indexes") or []) or "the package index"
                raise source.SourceError(f"cannot reach {where} (no network?): use `vlearn source fetch "
                                         f"--from PATH` with a v{source.VERSION} checkout or "
                                         f"vllm-{source.VERSION}.tar.gz")
            raise source.SourceError(f"{reason[:300]}; {fallback}")
        if not result.get("verified"):
            print("warning: the index published no hash for the archive; it was not verified", file=sys.stderr)
        else:
            print(f"downloaded and checked ({', '.join(result['verified'])}); unpacking ...", file=sys.stderr)
        return source.fetch_from(result["path"], sha256=result.get("sha256"), origin=result.get("url"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# ------------------------------------------------------------- show / open


def _ranges(ref: str):
    from ..core import source

    ranges = source.resolve_all(ref)
    return ranges, source.primary(ranges)


def run_show(args) -> int:
    import os

    from ..core import source

    try:
        ranges, main = _ranges(args.ref)
    except source.SourceError as exc:
        return _err(str(exc))
    colour = sys.stdout.isatty() and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"
    bold, dim, reset = ("\033[1m", "\033[2m", "\033[0m") if colour else ("", "", "")
    chosen = ranges if args.all else [main]
    for k, r in enumerate(chosen):
        if k:
            print()
        label = f" ({r.symbol})" if r.symbol else ""
        print(f"{bold}{r.path}:{r.first}-{r.last}{label}{reset}")
        width = len(str(r.last))
        for n, text in source.read_range(r):
            print(f"{dim}{n:>{width}}{reset}  {text}")
    others = [r for r in ranges if r is not main]
    if others and not args.all:
        where = ", ".join(f"{r.first}-{r.last}" for r in others)
        print(f"note: {len(ranges)} definitions of {main.symbol}; shown {main.first}-{main.last}, "
              f"others at lines {where} (--all prints every one)", file=sys.stderr)
    return 0


def run_open(args) -> int:
    import subprocess

    from ..core import source
    from ..core.paths import editor, editor_command

    try:
        _, main = _ranges(args.ref)
    except source.SourceError as exc:
        return _err(str(exc))
    chosen = editor()
    if chosen is None:
        return _err("no editor found: set $EDITOR (or editor.command with `vlearn config set`)")
    command = editor_command(chosen[0], str(main.file), main.first)
    try:
        return subprocess.call(command)
    except OSError as exc:
        return _err(f"cannot start the editor {chosen[0][0]!r} ({chosen[1]}): {exc.strerror or exc}")
