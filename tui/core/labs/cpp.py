"""C++ labs: compile the learner's files with the lab's C++ tests under
sanitizers, run them, and hand each C++ test to pytest as one test.

A lab's pytest file is a few lines (see labs/cpp/*/tests/): a `Suite` names
the C++ test file and the sanitizer builds; `test_compiles` reports compiler
errors and warnings at the learner's file:line (as CUDA labs do through
`cuda_compile`), and one parametrized pytest test per `VTEST(name)` reports
that C++ test's outcome with its assertion message, or the sanitizer's
report mapped to the learner's file:line.

Why C++ tests in a project-written header (`cpp/vtest.hpp`), not pybind11:
the learner's code runs as a plain native binary, so AddressSanitizer,
UBSan and ThreadSanitizer work without preloading runtimes into Python;
a crash or sanitizer abort kills only that binary (we restart it at the
next test), never the pytest process; and it needs nothing but the g++ or
clang++ the learner already has.

Speed (budget: save -> result <= 1.5 s median): `vtest_main.cpp` is compiled
once per compiler and flag set; a precompiled header of the standard headers
the labs use is built once; every object and the linked binary are cached
under `$VLEARN_HOME/runs/cpp/` keyed by a hash of the compiler, the flags and
the bytes of every source and local header, so an unchanged harness costs
nothing and a verify of the solution after a save reuses the build.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .cuda_compile import Diagnostic

HERE = Path(__file__).resolve().parent / "cpp"
HARNESS_MAIN = HERE / "vtest_main.cpp"
PCH_HEADER = HERE / "vtest_pch.hpp"
BASE_FLAGS = ("-std=c++20", "-Wall", "-Wextra", "-g", "-O0", "-fno-omit-frame-pointer", "-pthread")
ADDRESS = "address,undefined"  # every lab
THREAD = "thread,undefined"  # concurrency labs, a separate build (TSan and ASan do not mix)
RUN_LIMIT_S = 20.0  # one run of the test binary; a deadlock ends here
HEADERS = (".hpp", ".h", ".hh", ".hxx", ".inl")
SOURCES = (".cpp", ".cc", ".cxx")
_DIAG = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+):(?:(?P<col>\d+):)? (?P<sev>fatal error|error|warning): (?P<msg>.*)$")
_LINK = re.compile(r"undefined reference to [`'](?P<sym>.*)'")
_FRAME = re.compile(r"^\s*#\d+\s+(?:0x[0-9a-fA-F]+\s+in\s+)?(?P<func>.*?)\s+(?P<file>/[^\s:]+):(?P<line>\d+)(?::\d+)?(?:\s+\(.*\))?\s*$")
_RUNTIME_ERROR = re.compile(r"^(?P<file>/[^\s:]+):(?P<line>\d+):(?:\d+:)? runtime error: (?P<msg>.*)$")
_MARK = "[vtest] start "


# ------------------------------------------------------------------ the compiler


@dataclass(frozen=True)
class Compiler:
    path: str
    version: str  # first line of --version
    family: str  # gcc | clang

    def __str__(self) -> str:
        return f"{self.path}: {self.version}"


@functools.lru_cache(maxsize=4)
def _probe(name: str) -> Compiler | None:
    path = shutil.which(name)
    if not path:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    first = (out.splitlines() or [""])[0].strip()
    return Compiler(path, first, "clang" if "clang" in out.lower() else "gcc")


def find_compiler() -> Compiler | None:
    """$CXX, else g++, clang++, c++ on PATH."""
    for name in filter(None, (os.environ.get("CXX"), "g++", "clang++", "c++")):
        found = _probe(name)
        if found:
            return found
    return None


NO_COMPILER = ("no C++ compiler found: install g++ (Debian/Ubuntu: apt install g++) or clang++ "
               "(macOS: xcode-select --install), or set CXX")


def describe_compiler() -> str | None:
    """For `vlearn doctor`: the compiler and its version, or None."""
    found = find_compiler()
    return str(found) if found else None


# ------------------------------------------------------------------ cache


def cache_dir() -> Path:
    from ..paths import runs_dir

    path = runs_dir() / "cpp"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:32]


def _publish(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)  # atomic: a concurrent run sees the old entry or the new one


def _prune(folder: Path, keep: int = 400) -> None:
    """Keep the most recently used entries only (objects and binaries are a few MB each)."""
    try:  # the precompiled headers (one per compiler and flag set) are never pruned
        entries = sorted((p for p in folder.iterdir() if not p.name.startswith("pch-")), key=lambda p: p.stat().st_mtime)
    except OSError:
        return
    for old in entries[:-keep]:
        shutil.rmtree(old, ignore_errors=True) if old.is_dir() else old.unlink(missing_ok=True)


# ------------------------------------------------------------------ building


@dataclass
class Build:
    ok: bool
    binary: Path | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    log: str = ""  # the compiler's words, paths shortened
    compiled: int = 0  # translation units compiled now (the rest came from the cache)
    seconds: float = 0.0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def warnings_in(self, learner_files: set[str]) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning" and d.path in learner_files]


def _flags(compiler: Compiler, sanitize: str) -> list[str]:
    flags = [*BASE_FLAGS, f"-fsanitize={sanitize}", "-fno-sanitize-recover=all"]
    if sanitize == THREAD:
        # UBSan's vptr check probes memory through a pipe; from two threads TSan reports that
        # as a race inside the sanitizer runtime. The ASan build keeps the check.
        flags.append("-fno-sanitize=vptr")
    if compiler.family == "gcc":
        flags.append("-fdiagnostics-color=never")
    else:
        flags.append("-fno-color-diagnostics")
    return flags


def _display(path: str, roots: list[tuple[Path, str]]) -> str:
    try:
        resolved = Path(path).resolve()
    except (OSError, RuntimeError):
        return path
    for root, prefix in roots:
        try:
            return prefix + str(resolved.relative_to(root))
        except ValueError:
            continue
    return path


def _shorten(log: str, roots: list[tuple[Path, str]]) -> str:
    for root, prefix in roots:
        log = log.replace(str(root) + "/", prefix)
    return log


def parse_compiler_log(log: str, roots: list[tuple[Path, str]]) -> list[Diagnostic]:
    out, seen = [], set()
    for raw in log.splitlines():
        m = _DIAG.match(raw.strip())
        if m:
            sev = "warning" if m["sev"] == "warning" else "error"
            diag = Diagnostic(_display(m["file"], roots), int(m["line"]), sev, m["msg"].strip())
        else:
            link = _LINK.search(raw)
            if not link:
                continue
            diag = Diagnostic("(link)", 0, "error", f"undefined reference to '{link['sym']}': declared but never defined")
        key = (diag.path, diag.line, diag.severity, diag.message)
        if key not in seen:
            seen.add(key)
            out.append(diag)
    return out


def _run_compiler(cmd: list[str]) -> tuple[int, str]:
    try:
        # LC_ALL=C: plain ASCII quotes in messages, the same on every machine.
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, "LC_ALL": "C"})
    except subprocess.TimeoutExpired:
        return 1, f"the compiler did not finish in 300 s: {' '.join(cmd[:3])} ..."
    except OSError as exc:
        return 1, str(exc)
    return proc.returncode, proc.stdout + proc.stderr


def _pch(compiler: Compiler, flags: list[str]) -> list[str]:
    """Flags that use the precompiled standard headers (built once per compiler and flag set).
    Any failure only costs speed: the sources then include the headers themselves."""
    key = _digest(compiler.path, compiler.version, *flags, PCH_HEADER.read_bytes())
    folder = cache_dir() / f"pch-{key}"
    header = folder / "vtest_pch.hpp"
    made = folder / ("vtest_pch.hpp.gch" if compiler.family == "gcc" else "vtest_pch.hpp.pch")
    if not made.is_file():
        tmp = Path(tempfile.mkdtemp(prefix="tmp-pch-", dir=cache_dir()))
        try:
            shutil.copy(PCH_HEADER, tmp / "vtest_pch.hpp")
            rc, _ = _run_compiler([compiler.path, *flags, "-x", "c++-header", str(tmp / "vtest_pch.hpp"),
                                   "-o", str(tmp / made.name)])
            if rc != 0:
                return []
            try:
                _publish(tmp, folder)
            except OSError:  # another run published it first
                pass
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    if not made.is_file():
        return []
    if compiler.family == "gcc":
        return ["-include", str(header)]
    return ["-include-pch", str(made)]


def _object(compiler: Compiler, flags: list[str], source: Path, deps: bytes, includes: list[str],
            extra: list[str]) -> tuple[Path | None, str, bool]:
    """Compile one translation unit, or take it from the cache. Returns (object or None, log, compiled now)."""
    key = _digest(compiler.path, compiler.version, *flags, *extra, *includes, str(source), source.read_bytes(), deps)
    obj = cache_dir() / f"{key}.o"
    log_file = cache_dir() / f"{key}.log"
    if obj.is_file() and log_file.is_file():
        for used in (obj, log_file):
            os.utime(used)  # recently used: kept by _prune
        return obj, log_file.read_text(encoding="utf-8"), False
    fd, tmp = tempfile.mkstemp(suffix=".o", dir=cache_dir())
    os.close(fd)
    rc, log = _run_compiler([compiler.path, *flags, *extra, *[f"-I{d}" for d in includes], "-c", str(source),
                             "-o", tmp])
    if rc != 0:
        os.unlink(tmp)
        return None, log, True
    log_file.write_text(log, encoding="utf-8")
    _publish(Path(tmp), obj)
    return obj, log, True


def _local_bytes(folders: list[Path]) -> bytes:
    """Every header beside the sources: any of them may be included, so all of them key the cache."""
    parts = []
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.suffix in HEADERS and path.is_file():
                parts.append(str(path).encode() + b"\0" + path.read_bytes())
    return b"\0".join(parts)


def build(lab_dir: Path, tests: list[Path], sanitize: str = ADDRESS) -> Build:
    """Compile the learner's .cpp files in `lab_dir` and the C++ test files
    `tests` with the harness, under `sanitize`, and link them."""
    start = time.perf_counter()
    compiler = find_compiler()
    if compiler is None:
        return Build(False, None, [Diagnostic("(compiler)", 0, "error", NO_COMPILER)], NO_COMPILER)
    lab_dir = Path(lab_dir).resolve()
    tests = [Path(t).resolve() for t in tests]
    test_dir = tests[0].parent
    roots = [(lab_dir, ""), (test_dir, "tests/"), (HERE, "vtest/")]
    flags = _flags(compiler, sanitize)
    learner = sorted(p for p in lab_dir.iterdir() if p.suffix in SOURCES and p.is_file())
    deps = _local_bytes([lab_dir, test_dir]) + (HERE / "vtest.hpp").read_bytes()
    includes = [str(lab_dir), str(HERE)]
    pch = _pch(compiler, flags)
    jobs = [(HARNESS_MAIN, b"", [str(HERE)], [])] + [(src, deps, includes, pch) for src in [*tests, *learner]]
    with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), os.cpu_count() or 1))) as pool:
        done = list(pool.map(lambda job: _object(compiler, flags, *job), jobs))
    log = "".join(entry[1] for entry in done)
    compiled = sum(entry[2] for entry in done)
    short = _shorten(log, roots)
    diagnostics = parse_compiler_log(log, roots)
    objects = [entry[0] for entry in done]
    if any(o is None for o in objects):
        if not any(d.severity == "error" for d in diagnostics):
            diagnostics.append(Diagnostic("(compiler)", 0, "error", (short.strip().splitlines() or ["compilation failed"])[-1]))
        return Build(False, None, diagnostics, short, compiled, time.perf_counter() - start)
    key = _digest(*[o.name for o in objects], *flags)
    binary = cache_dir() / f"{key}.bin"
    if not binary.is_file():
        fd, name = tempfile.mkstemp(suffix=".bin", dir=cache_dir())
        os.close(fd)
        tmp = Path(name)
        rc, link_log = _run_compiler([compiler.path, *flags, *[str(o) for o in objects], "-o", str(tmp)])
        if rc != 0:
            tmp.unlink(missing_ok=True)
            short += _shorten(link_log, roots)
            diagnostics += parse_compiler_log(link_log, roots) or [Diagnostic("(link)", 0, "error", link_log.strip()[-300:])]
            return Build(False, None, diagnostics, short, compiled, time.perf_counter() - start)
        _publish(tmp, binary)
        _prune(cache_dir())
    else:
        os.utime(binary)
    return Build(True, binary, diagnostics, short, compiled, time.perf_counter() - start)


# ------------------------------------------------------------------ running


@dataclass
class Case:
    name: str
    outcome: str  # passed | failed
    message: str = ""
    file: str = ""
    line: int = 0
    report: str = ""  # a sanitizer's report (paths shortened), when one stopped the test

    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.file else ""


_SAN_HEAD = re.compile(r"(?:ERROR|WARNING): (?P<tool>AddressSanitizer|ThreadSanitizer|LeakSanitizer|"
                       r"UndefinedBehaviorSanitizer|MemorySanitizer): (?P<what>.*)")
_SECTION = re.compile(r"^\s*(?P<head>(?:READ|WRITE|Read|Write|Previous|Atomic|freed|previously allocated|allocated|"
                      r"Direct leak|Indirect leak|Location|Mutex|Thread)\b.*?):?\s*$")


def explain_crash(stderr: str, learner_roots: list[tuple[Path, str]], all_roots: list[tuple[Path, str]]) -> tuple[str, str, int]:
    """(headline, file, line) for a sanitizer report or a crash, the location
    being the first stack frame in the learner's own files (else any of ours)."""
    def learner(path: str) -> str | None:
        shown = _display(path, learner_roots)
        return shown if shown != path else None

    all_lines = stderr.splitlines()
    for at, raw in enumerate(all_lines):
        m = _RUNTIME_ERROR.match(raw.strip())
        if m:
            shown, line = _display(m["file"], all_roots), int(m["line"])
            note = ""
            if shown == m["file"]:  # in a system header: blame the first of our frames below it
                frames = [f for f in map(_FRAME.match, all_lines[at + 1:]) if f]
                ours = [f for f in frames if learner(f["file"])] or [f for f in frames if _display(f["file"], all_roots) != f["file"]]
                if ours:
                    note = f" (in {shown}:{line}, reached from {ours[0]['func'].strip()})"
                    shown, line = _display(ours[0]["file"], all_roots), int(ours[0]["line"])
            return f"{shown}:{line}: UndefinedBehaviorSanitizer: {m['msg']}{note}", shown, line
    head = _SAN_HEAD.search(stderr)
    lines = stderr.splitlines()
    sites: list[tuple[str, str, int, str, bool]] = []  # (section, file, line, function, in the learner's files)
    section, best = "", None

    def close_section() -> None:
        if best is not None:
            sites.append(best)

    for raw in lines:
        sec = _SECTION.match(raw)
        if sec and not raw.lstrip().startswith("#"):
            close_section()
            best = None
            section = re.split(r" at 0x| of size| by thread| by main thread", sec["head"])[0].strip()
            if sec["head"].startswith(("READ", "WRITE", "Read", "Write", "Atomic")):
                size = re.search(r"of size (\d+)", raw)
                by = re.search(r"by (main thread|thread T\d+)", raw)
                section += (f" of {size[1]} bytes" if size else "") + (f" by {by[1]}" if by else "")
            continue
        f = _FRAME.match(raw)
        if f and (best is None or not best[4]):
            shown = learner(f["file"])
            if shown:
                best = (section, shown, int(f["line"]), f["func"].strip(), True)
            elif best is None and _display(f["file"], all_roots) != f["file"]:
                best = (section, _display(f["file"], all_roots), int(f["line"]), f["func"].strip(), False)
    close_section()
    mine = [s for s in sites if s[4]] or sites  # else a frame in the tests
    if head:
        what = re.split(r" on (?:address |unknown address )?0x| \(pid=| in thread", head["what"])[0].strip()
        text = f"{head['tool']}: {what}"
        if mine:
            first = mine[0]
            headline = f"{first[1]}:{first[2]}: {text}"
            extra = "; ".join(f"{s[0] or 'at'}: {s[1]}:{s[2]} in {s[3]}" for s in sites[:4])
            return f"{headline} ({extra})", first[1], first[2]
        return text + " (no frame in your files: see the report)", "", 0
    tail = [ln for ln in lines if ln.strip() and not ln.startswith(_MARK)][-3:]
    return ("the test process stopped: " + " | ".join(tail)) if tail else "the test process stopped without a message", "", 0


def _split_stderr(stderr: str) -> dict[str, str]:
    """stderr per test, cut at the harness' start markers."""
    out, current = {}, ""
    for line in stderr.splitlines(keepends=True):
        if line.startswith(_MARK):
            current = line[len(_MARK):].strip()
            out.setdefault(current, "")
            continue
        out[current] = out.get(current, "") + line
    return out


def _trim(report: str, limit: int = 6000) -> str:
    """The report without ASan's shadow-byte map and legend (noise for a learner)."""
    cut = report.find("Shadow bytes around the buggy address")
    report = (report[:cut] if cut >= 0 else report).strip()
    return report if len(report) <= limit else report[:limit] + "\n[... report cut ...]"


def _sanitizer_env(sanitize: str) -> dict[str, str]:
    common = "halt_on_error=1:abort_on_error=0:exitcode=66:print_summary=1"
    env = {
        "ASAN_OPTIONS": f"{common}:detect_leaks=1:detect_stack_use_after_return=0:symbolize=1",
        "UBSAN_OPTIONS": "halt_on_error=1:print_stacktrace=1:exitcode=66",
        "LSAN_OPTIONS": "exitcode=0",  # leaks are judged per test by the harness
        "TSAN_OPTIONS": f"{common}:second_deadlock_stack=1",
        "MallocNanoZone": "0",  # macOS: silence a warning ASan triggers
    }
    return env


def run_tests(binary: Path, names: list[str], lab_dir: Path, test_dir: Path, sanitize: str = ADDRESS,
              limit_s: float = RUN_LIMIT_S) -> dict[str, Case]:
    """Run the test binary; after a crash or a sanitizer report, blame the test
    that was running and go on from the next one in a fresh process."""
    lab_dir, test_dir = Path(lab_dir).resolve(), Path(test_dir).resolve()
    learner_roots = [(lab_dir, "")]
    all_roots = [(lab_dir, ""), (test_dir, "tests/"), (HERE, "vtest/")]
    results: dict[str, Case] = {}
    remaining = list(names)
    env = {**os.environ, **_sanitizer_env(sanitize)}
    deadline = time.monotonic() + limit_s
    while remaining:
        with tempfile.TemporaryDirectory(prefix="vtest-") as tmp:
            out = Path(tmp) / "results.jsonl"
            env["VTEST_RESULTS"] = str(out)
            timed_out = False
            try:
                proc = subprocess.run([str(binary), *remaining], capture_output=True, env=env, cwd=tmp,
                                      timeout=max(0.5, deadline - time.monotonic()))
                stderr = proc.stderr.decode("utf-8", "replace")
            except subprocess.TimeoutExpired as exc:
                timed_out = True
                stderr = (exc.stderr or b"").decode("utf-8", "replace")
            events = []
            if out.is_file():
                for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
                    try:
                        events.append(json.loads(line))
                    except ValueError:
                        pass
        running = None
        for event in events:
            if event.get("event") == "start":
                running = event["name"]
            elif event.get("event") == "end":
                name = event["name"]
                file = _display(event.get("file", ""), all_roots) if event.get("file") else ""
                message = event.get("message", "")
                report = ""
                if message.startswith("LeakSanitizer"):
                    raw = _split_stderr(stderr).get(name, "")
                    report = _trim(_shorten(raw, all_roots))
                    headline, lfile, lline = explain_crash(raw, learner_roots, all_roots)
                    message, file, event["line"] = headline, lfile or file, lline or event.get("line", 0)
                elif message and file:
                    message = f"{file}:{event.get('line', 0)}: {message}"
                results[name] = Case(name, event.get("outcome", "failed"), message, file, int(event.get("line", 0)), report)
                running = None
        if running is not None:
            raw = _split_stderr(stderr).get(running, stderr)
            report = _trim(_shorten(raw, all_roots))
            if timed_out:
                headline, file, line = (f"did not finish within {limit_s:g} s: a deadlock or an endless loop?", "", 0)
            else:
                headline, file, line = explain_crash(raw, learner_roots, all_roots)
            results[running] = Case(running, "failed", headline, file, line, report)
        elif timed_out:
            running = next((n for n in remaining if n not in results), None)
            if running:
                results[running] = Case(running, "failed", f"did not finish within {limit_s:g} s", "", 0)
        done = set(results)
        if timed_out or deadline <= time.monotonic():
            for name in remaining:
                if name not in done:
                    results[name] = Case(name, "failed", "not run: the time for this lab's tests ran out")
            break
        nxt = [n for n in remaining if n not in done]
        if nxt == remaining:  # the binary ran nothing: a crash before the first test
            report = _trim(_shorten(stderr, all_roots))
            headline = explain_crash(stderr, learner_roots, all_roots)[0] if report else "the test binary ran no test"
            for name in remaining:
                results[name] = Case(name, "failed", headline, report=report)
            break
        remaining = nxt
    return results


# ------------------------------------------------------------------ the pytest side


_TEST_NAME = re.compile(r"^\s*VTEST\(\s*([A-Za-z_]\w*)\s*\)", re.M)


class Suite:
    """One lab's C++ tests, as seen from its pytest file:

        SUITE = Suite(__file__, "test_buffer.cpp")            # ASan + UBSan
        SUITE = Suite(__file__, "test_ring.cpp", sanitizers=(ADDRESS, THREAD))

    `names` lists the C++ tests (read from the source, so pytest can
    parametrize without compiling); results are computed once per directory
    under test and sanitizer within a pytest session."""

    def __init__(self, test_file: str, *sources: str, sanitizers: tuple[str, ...] = (ADDRESS,)):
        self.test_dir = Path(test_file).resolve().parent
        self.sources = [self.test_dir / s for s in sources]
        self.sanitizers = sanitizers
        self.names = [n for src in self.sources for n in _TEST_NAME.findall(src.read_text(encoding="utf-8"))]
        self.cases = [(san, n) for san in sanitizers for n in self.names]
        self._builds: dict[tuple[str, str], Build] = {}
        self._runs: dict[tuple[str, str], dict[str, Case]] = {}

    def build(self, lab_dir: Path, sanitize: str) -> Build:
        key = (str(lab_dir), sanitize)
        if key not in self._builds:
            self._builds[key] = build(lab_dir, self.sources, sanitize)
        return self._builds[key]

    def results(self, lab_dir: Path, sanitize: str) -> dict[str, Case] | None:
        key = (str(lab_dir), sanitize)
        if key not in self._runs:
            built = self.build(lab_dir, sanitize)
            if not built.ok:
                return None
            self._runs[key] = run_tests(built.binary, self.names, lab_dir, self.test_dir, sanitize)
        return self._runs[key]

    def _learner_files(self, lab_dir: Path) -> set[str]:
        return {str(p.relative_to(lab_dir)) for p in Path(lab_dir).rglob("*") if p.suffix in HEADERS + SOURCES}

    def assert_compiles(self, lab_dir: Path) -> None:
        """Every build compiles and links; no warning in the learner's files (-Wall -Wextra)."""
        import pytest

        lab_dir = Path(lab_dir).resolve()
        if len(self.sanitizers) > 1:  # the builds are independent: compile them side by side
            with ThreadPoolExecutor(max_workers=len(self.sanitizers)) as pool:
                list(pool.map(lambda san: self.build(lab_dir, san), self.sanitizers))
        problems: list[str] = []
        for sanitize in self.sanitizers:
            built = self.build(lab_dir, sanitize)
            if not built.ok:
                errors = built.errors or [Diagnostic("(compiler)", 0, "error", "compilation failed")]
                problems += [str(d) for d in errors[:12]]
                break
            problems += [str(d) for d in built.warnings_in(self._learner_files(lab_dir))]
        if problems:
            pytest.fail("\n".join(dict.fromkeys(problems)), pytrace=False)

    def assert_passes(self, lab_dir: Path, sanitize: str, name: str) -> None:
        import pytest

        lab_dir = Path(lab_dir).resolve()
        results = self.results(lab_dir, sanitize)
        if results is None:
            first = (self.build(lab_dir, sanitize).errors or [Diagnostic("", 0, "error", "compilation failed")])[0]
            pytest.fail(f"did not compile ({first}); see test_compiles", pytrace=False)
        case = results.get(name)
        if case is None:
            pytest.fail(f"{name} did not run", pytrace=False)
        if case.outcome != "passed":
            text = case.message + (f"\n\n{case.report}" if case.report else "")
            pytest.fail(text, pytrace=False)


def case_id(case: tuple[str, str]) -> str:
    """pytest id for (sanitizer, test): the test name, with '[tsan]' for the ThreadSanitizer build."""
    sanitize, name = case
    return name if sanitize == ADDRESS else f"{name}-tsan"
