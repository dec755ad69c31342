"""The vLLM 0.33.0 source beside the lessons: where it lives, how it gets there,
and how a lesson's `path::Symbol` reference becomes a line range in it.

Where: `$VLEARN_VLLM_SOURCE` when set (a tree you manage: a git checkout at
v0.33.0 or an unpacked sdist, used as it is), otherwise
`user_cache_dir("vlearn")/vllm-0.33.0`, filled by `fetch_from()` or by
`vlearn source fetch`. It never depends on VLEARN_HOME: the source is a cache,
not the learner's data.

A fetched tree is complete exactly when its marker file (`MARKER`, JSON with the
version and the file count) is present. Files are written into a temporary
folder beside the target, the marker last, and the folder is then renamed into
place; an interrupted fetch leaves at most a temporary folder (removed by the
next fetch) and never a target without its marker. A target without a marker in
the cache location (left by something else) is removed and fetched again.

Resolution (`resolve`, `resolve_all`):
- Python files are parsed with `ast`: classes, functions, methods and nested
  definitions at any depth (`Outer.Inner.method`), definitions inside module-
  or class-level `if`/`try`/`with` blocks, and module- or class-level
  assignments (`NAME = ...`, `NAME: T = ...`) as the last component; failing
  those, `Class.attr` is the first `self.attr = ...` in the class's methods
  (`__init__` first). The range starts at the first decorator.
- CUDA/C++ files are scanned, not compiled: comments, string and character
  literals and preprocessor lines are blanked first, so braces inside them never
  count; so are the `#elif`/`#else` branches of conditionals (alternatives
  such as a CUDA and a ROCm parameter list each ending in `{` would unbalance
  the braces), with a second look keeping every branch when a name is defined
  only in one of them. Data members and variables are not looked up. A definition is a function whose parameter list is followed by its
  body (`{`), after qualifiers, a trailing return type or a constructor's
  initializer list; or a class/struct/union/enum/namespace with a body. The
  range starts at the first line of the declaration (so `template <...>` lines,
  `__global__`, attributes and a return type on its own line are included) and
  ends at the matching `}`. `A.b` (or `A::b`) looks for `b` inside the body of
  `A`, and for out-of-line definitions `A::b(...) {`. `#define NAME` is found
  too (its continued lines).
- Several definitions of one name (C++ overloads and template specializations,
  `#if` alternatives, Python `@overload` stubs or conditional redefinitions):
  `resolve_all` returns every one in file order and `resolve` picks one:
  Python, the first that is not an `@overload` stub (the implementation);
  C++, the longest (ties: the first), because a kernel's main template usually
  sits beside thin wrappers, narrower specializations or an `#if __CUDA_ARCH__`
  fallback stub (marlin_gemm in 0.33.0 has one before the real one). `vlearn
  source show` says when there are others and `--all` prints them. Declarations
  without a body (prototypes, `= default`) are not definitions.
"""
from __future__ import annotations

import ast
import contextlib
import difflib
import functools
import json
import os
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

VERSION = "0.33.0"
DIR_NAME = f"vllm-{VERSION}"
MARKER = ".vlearn-source.json"
ENV = "VLEARN_VLLM_SOURCE"
# What an unpack keeps: source and text. Everything else in the sdist (images,
# JSON configs, binaries) is left out.
SUFFIXES = frozenset({".py", ".cu", ".cuh", ".h", ".hpp", ".cpp", ".md", ".txt", ".toml"})
PY_SUFFIXES = frozenset({".py", ".pyi"})
CXX_SUFFIXES = frozenset({".cu", ".cuh", ".h", ".hpp", ".cpp", ".cc", ".c", ".cxx", ".hh"})


class SourceError(Exception):
    """A one-line, learner-facing problem: source missing, bad archive, symbol not found."""


class SourceMissing(SourceError):
    """The source has not been fetched yet."""


@dataclass(frozen=True)
class Range:
    path: str  # relative to the source root, as written in the reference
    first: int  # 1-based, inclusive
    last: int  # 1-based, inclusive
    symbol: str = ""
    file: Path | None = None  # the absolute file
    stub: bool = False  # a Python @overload stub

    @property
    def lines(self) -> int:
        return self.last - self.first + 1


# ---------------------------------------------------------------- location


def default_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("vlearn", appauthor=False)) / DIR_NAME


def source_dir() -> Path:
    """Where the source is or will be (it may not exist yet)."""
    env = os.environ.get(ENV, "").strip()
    return Path(env).expanduser() if env else default_dir()


def read_marker(root: Path) -> dict | None:
    try:
        data = json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("version") != VERSION or not isinstance(data.get("files"), int):
        return None
    return data


def _user_tree(root: Path) -> bool:
    """A tree named by VLEARN_VLLM_SOURCE counts without a marker when it holds vllm/."""
    return bool(os.environ.get(ENV, "").strip()) and (root / "vllm").is_dir()


def source_root() -> Path | None:
    """The source tree when it is there and complete, else None."""
    root = source_dir()
    if read_marker(root) is not None or _user_tree(root):
        return root
    return None


def how_to_fetch() -> str:
    return (f"the vLLM {VERSION} source is not fetched yet: run `vlearn source fetch` "
            f"(or `vlearn source fetch --from PATH` with a v{VERSION} checkout or vllm-{VERSION}.tar.gz)")


def require_root() -> Path:
    root = source_root()
    if root is None:
        raise SourceMissing(how_to_fetch())
    return root


# ------------------------------------------------------------------- fetch


def _keep(rel: PurePosixPath) -> bool:
    return rel.suffix in SUFFIXES or rel.name == "PKG-INFO"


def _safe_rel(name: str) -> PurePosixPath:
    """A member name as a relative path; refuses absolute paths and `..`."""
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or "\\" in name:
        raise SourceError(f"refusing the archive: member {name!r} has an absolute or Windows path")
    rel = PurePosixPath(name)
    if any(part == ".." for part in rel.parts):
        raise SourceError(f"refusing the archive: member {name!r} points outside the folder (..)")
    return PurePosixPath(*[p for p in rel.parts if p not in ("", ".")])


@contextlib.contextmanager
def _lock(target: Path) -> Iterator[None]:
    """One fetch at a time per target (so a stale temporary can be removed safely)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    lock_path = target.parent / f".{target.name}.lock"
    with open(lock_path, "a+b") as fh:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - Windows: no lock, still atomic rename
            pass
        yield


def _clear_partials(target: Path) -> None:
    for stale in target.parent.glob(f".{target.name}.partial-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _strip_top(names: list[PurePosixPath]) -> int:
    """1 when every path sits in one top folder (an sdist's vllm-0.33.0/), else 0."""
    tops = {n.parts[0] for n in names if n.parts}
    if len(tops) == 1 and all(len(n.parts) > 1 for n in names):
        return 1
    return 0


def _version_of(pkg_info: str | None, name_hint: str = "") -> str | None:
    if pkg_info:
        found = re.search(r"^Version:\s*(\S+)", pkg_info, re.M)
        if found:
            return found.group(1)
    found = re.search(r"vllm-(\d+\.\d+\.\d+[^/]*?)(?:\.tar\.gz|\.tgz|\.tar)?$", name_hint)
    return found.group(1) if found else None


def _check_version(found: str | None, what: Path) -> None:
    if found is not None and found != VERSION:
        raise SourceError(f"{what} is vLLM {found}, not {VERSION}: the lessons cite {VERSION}")


def _write_marker(tmp: Path, count: int, origin: str, version: str | None, sha256: str | None) -> None:
    data = {"version": VERSION, "files": count, "from": origin,
            "version_checked": version == VERSION}
    if sha256:
        data["sha256"] = sha256
    (tmp / MARKER).write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def _prepare_target(target: Path) -> None:
    """Clear the way for the rename: a marker-less leftover in the cache goes; a
    folder of the learner's own (VLEARN_VLLM_SOURCE) is never deleted unless empty."""
    if not target.exists() and not target.is_symlink():
        return
    if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
        target.rmdir()
        return
    if target == default_dir() and target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
        return
    raise SourceError(f"{target} exists and is not a complete vLLM {VERSION} tree; "
                      f"move it away or point {ENV} elsewhere")


def _unpack_tar(archive: Path, dest: Path) -> tuple[int, str | None]:
    try:
        tf = tarfile.open(archive)  # noqa: SIM115 - closed below
    except (tarfile.TarError, OSError) as exc:
        raise SourceError(f"cannot read {archive} as a tar archive: {exc}") from None
    with tf:
        try:
            members = tf.getmembers()
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise SourceError(f"{archive} is damaged or truncated: {exc}") from None
        rels = [_safe_rel(m.name) for m in members]  # every member checked before anything is written
        strip = _strip_top([r for r, m in zip(rels, members, strict=True) if m.isfile()])
        count, pkg_info = 0, None
        for member, rel in zip(members, rels, strict=True):
            if not member.isfile():
                continue  # folders are made as needed; links, devices and fifos are never written
            rel = PurePosixPath(*rel.parts[strip:])
            if not rel.parts or not _keep(rel):
                continue
            out = dest.joinpath(*rel.parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            try:
                src = tf.extractfile(member)
                if src is None:
                    continue
                with src, open(out, "wb") as fh:
                    shutil.copyfileobj(src, fh, 1 << 20)
            except (tarfile.TarError, EOFError, OSError) as exc:
                if isinstance(exc, OSError) and exc.filename:
                    raise
                raise SourceError(f"{archive} is damaged or truncated at {member.name}: {exc}") from None
            if rel == PurePosixPath("PKG-INFO"):
                pkg_info = out.read_text(encoding="utf-8", errors="replace")
            count += 1
    return count, pkg_info


def _copy_tree(folder: Path, dest: Path) -> int:
    count = 0
    for dirpath, dirnames, filenames in os.walk(folder):  # does not follow folder links
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d != "__pycache__")
        base = Path(dirpath)
        for name in sorted(filenames):
            src = base / name
            rel = PurePosixPath(src.relative_to(folder).as_posix())
            if not _keep(rel) or src.is_symlink() or not src.is_file():
                continue
            out = dest.joinpath(*rel.parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, out)
            count += 1
    return count


def fetch_from(path: Path | str, *, sha256: str | None = None, origin: str | None = None) -> Path:
    """Fill the source location from a checkout folder or an sdist archive
    (.tar.gz, .tgz, .tar). Returns the tree; already complete: returns at once."""
    path = Path(path).expanduser()
    target = source_dir()
    existing = source_root()
    if existing is not None:
        return existing
    if not path.exists():
        raise SourceError(f"cannot find {path}")
    if path.is_dir():
        if not (path / "vllm").is_dir():
            raise SourceError(f"{path} has no vllm/ folder: give a vLLM {VERSION} checkout or the sdist archive")
        pkg = path / "PKG-INFO"
        version = _version_of(pkg.read_text(encoding="utf-8", errors="replace") if pkg.is_file() else None)
        _check_version(version, path)
    with _lock(target):
        if source_root() is not None:  # another fetch finished while we waited
            return target
        _clear_partials(target)
        _prepare_target(target)
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.partial-", dir=target.parent))
        try:
            if path.is_dir():
                count = _copy_tree(path, tmp)
            else:
                count, pkg_info = _unpack_tar(path, tmp)
                version = _version_of(pkg_info, path.name)
                _check_version(version, path)
                if not (tmp / "vllm").is_dir():
                    raise SourceError(f"{path} holds no vllm/ folder: not a vLLM source archive")
            _write_marker(tmp, count, origin or str(path.resolve()), version, sha256)  # last
            umask = os.umask(0)
            os.umask(umask)
            tmp.chmod(0o777 & ~umask)  # mkdtemp made it private; the tree is ordinary files
            os.replace(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return target


# ------------------------------------------------------------- resolution


def split_ref(ref: str) -> tuple[str, str]:
    path, _, symbol = ref.partition("::")
    path, symbol = path.strip(), symbol.strip()
    if not path:
        raise SourceError(f"empty path in reference {ref!r} (expected path/to/file.py::Symbol)")
    return path, symbol


def _file_of(root: Path, rel: str) -> Path:
    pure = PurePosixPath(rel)
    if pure.is_absolute() or ".." in pure.parts:
        raise SourceError(f"{rel}: a reference is a path inside the vLLM tree")
    file = root.joinpath(*pure.parts)
    if not file.is_file():
        hint = ""
        if file.suffix and file.suffix not in SUFFIXES:
            hint = f" ({file.suffix} files are not unpacked)"
        raise SourceError(f"{rel} is not a file of the vLLM {VERSION} source at {root}{hint}")
    return file


def resolve_all(ref: str, root: Path | None = None) -> list[Range]:
    """Every definition `ref` names, in file order (see the module docstring)."""
    rel, symbol = split_ref(ref)
    root = root or require_root()
    file = _file_of(root, rel)
    try:
        text = file.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise SourceError(f"cannot read {file}: {exc.strerror or exc}") from None
    if not symbol:
        return [Range(rel, 1, max(1, text.count("\n") + (0 if text.endswith("\n") else 1)), "", file)]
    parts = [p for p in re.split(r"\.|::", symbol) if p]
    if not parts:
        raise SourceError(f"empty symbol in reference {ref!r}")
    if file.suffix in PY_SUFFIXES:
        spans = _py_resolve(text, parts, rel)
    elif file.suffix in CXX_SUFFIXES:
        spans = [(a, b, False) for a, b in _cxx_resolve(text, parts, rel)]
    else:
        raise SourceError(f"{rel}: symbols are looked up in Python and CUDA/C++ files only")
    return [Range(rel, a, b, symbol, file, stub) for a, b, stub in sorted(spans)]


def primary(ranges: list[Range]) -> Range:
    """The definition `resolve` shows among several (see the module docstring)."""
    real = [r for r in ranges if not r.stub] or ranges
    if real[0].file is not None and real[0].file.suffix in CXX_SUFFIXES:
        return max(real, key=lambda r: (r.lines, -r.first))
    return real[0]


def resolve(ref: str, root: Path | None = None) -> Range:
    """`path::Symbol` or `path::Class.method` → (path, first line, last line)."""
    return primary(resolve_all(ref, root))


def _not_found(rel: str, parts: list[str], depth: int, known: list[str]) -> SourceError:
    missing = parts[depth]
    where = f"in {'.'.join(parts[:depth])} " if depth else ""
    close = difflib.get_close_matches(missing, sorted(set(known)), n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    return SourceError(f"{missing!r} is not defined {where}in {rel}{hint}")


# Python


def _py_children(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of one scope, looking through if/try/with/for/while blocks."""
    for node in body:
        yield node
        if isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith)):
            yield from _py_children(node.body)
            yield from _py_children(getattr(node, "orelse", []))
        elif isinstance(node, ast.Try) or type(node).__name__ == "TryStar":
            yield from _py_children(node.body)
            for handler in node.handlers:
                yield from _py_children(handler.body)
            yield from _py_children(node.orelse)
            yield from _py_children(node.finalbody)


def _py_names(node: ast.stmt) -> list[str]:
    if isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        return [node.name]
    targets: list[ast.expr] = []
    if isinstance(node, ast.Assign):
        targets = list(node.targets)
    elif isinstance(node, (ast.AnnAssign, ast.AugAssign)):
        targets = [node.target]
    elif type(node).__name__ == "TypeAlias":
        targets = [node.name]  # type: ignore[attr-defined]
    names = []
    while targets:
        t = targets.pop()
        if isinstance(t, ast.Name):
            names.append(t.id)
        elif isinstance(t, (ast.Tuple, ast.List)):
            targets.extend(t.elts)
    return names


def _is_overload(node: ast.stmt) -> bool:
    for dec in getattr(node, "decorator_list", []):
        name = dec.attr if isinstance(dec, ast.Attribute) else getattr(dec, "id", "")
        if name == "overload":
            return True
    return False


def _py_span(node: ast.stmt) -> tuple[int, int]:
    first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return first, node.end_lineno or node.lineno


@functools.lru_cache(maxsize=16)
def _parse_py(text: str) -> ast.Module:
    return ast.parse(text)


def _py_resolve(text: str, parts: list[str], rel: str) -> list[tuple[int, int, bool]]:
    try:
        tree = _parse_py(text)
    except SyntaxError as exc:
        raise SourceError(f"{rel} does not parse as Python (line {exc.lineno}): {exc.msg}") from None
    scopes: list[list[ast.stmt]] = [tree.body]
    owners: list[ast.stmt] = []
    for depth, name in enumerate(parts):
        last = depth == len(parts) - 1
        found: list[ast.stmt] = []
        for body in scopes:
            for node in _py_children(body):
                if name in _py_names(node) and (last or isinstance(node, (ast.ClassDef, ast.FunctionDef,
                                                                         ast.AsyncFunctionDef))):
                    found.append(node)
        if not found and last:
            for owner in owners:  # an instance attribute: its first `self.name = ...`
                first = _self_attributes(owner).get(name)
                if first is not None:
                    return [(first.lineno, first.end_lineno or first.lineno, False)]
        if not found:  # only now gather the names, for "did you mean"
            known = [n for body in scopes for node in _py_children(body) for n in _py_names(node)]
            known += [a for o in owners for a in _self_attributes(o)] if last else []
            raise _not_found(rel, parts, depth, known)
        if last:
            return [(*_py_span(n), _is_overload(n)) for n in found]
        scopes = [n.body for n in found]  # type: ignore[attr-defined]
        owners = [n for n in found if isinstance(n, ast.ClassDef)]
    raise AssertionError("unreachable")


@functools.lru_cache(maxsize=256)
def _self_attributes(cls: ast.stmt) -> dict[str, ast.stmt]:
    """`self.NAME = ...` in a class's own methods: NAME → the first assignment,
    looking in __init__ before the other methods."""
    methods = [n for n in _py_children(cls.body)  # type: ignore[attr-defined]
               if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    methods.sort(key=lambda f: (f.name != "__init__", f.lineno))
    attrs: dict[str, ast.stmt] = {}
    for method in methods:
        if not method.args.args:
            continue
        this = method.args.args[0].arg
        stmts = sorted((n for n in ast.walk(method) if isinstance(n, (ast.Assign, ast.AnnAssign, ast.AugAssign))),
                       key=lambda n: n.lineno)
        for stmt in stmts:
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for t in targets:
                for el in (t.elts if isinstance(t, (ast.Tuple, ast.List)) else [t]):
                    if (isinstance(el, ast.Attribute) and isinstance(el.value, ast.Name)
                            and el.value.id == this):
                        attrs.setdefault(el.attr, stmt)
    return attrs


# CUDA / C++

_RAW_PREFIX = re.compile(r"(?:u8|u|U|L)?R$")
_IDENT = re.compile(r"[A-Za-z_]\w*")
_SCOPE_KW = re.compile(r"\b(class|struct|union|namespace|enum(?:\s+(?:class|struct))?)\s+"
                       r"(?:(?:__attribute__\s*\(\([^;{]*?\)\)|__align__\s*\([^;{()]*\)|alignas\s*\([^;{]*?\)|\[\[[^;{]*?\]\]|"
                       r"[A-Z_][A-Z0-9_]*)\s+)*$")


@functools.lru_cache(maxsize=16)
def mask_cxx(text: str) -> str:
    """The text with comments, string/char literals and preprocessor lines turned
    into spaces (newlines kept), so offsets and line numbers stay the same."""
    out = list(text)
    n = len(text)
    i = 0
    line_start = True  # only whitespace since the last newline

    def blank(a: int, b: int) -> None:
        for k in range(a, min(b, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if c == "\n":
            line_start = True
            i += 1
            continue
        if c in " \t\r\f\v":
            i += 1
            continue
        if c == "#" and line_start:
            j = i
            while j < n:  # the directive and its backslash-continued lines
                e = text.find("\n", j)
                if e < 0:
                    e = n
                # a comment may open inside a directive; it is blanked with it
                if text[j:e].rstrip().endswith("\\"):
                    j = e + 1
                    continue
                j = e
                break
            blank(i, j)
            i = j
            continue
        line_start = False
        if text.startswith("//", i):
            e = text.find("\n", i)
            e = n if e < 0 else e
            blank(i, e)
            i = e
        elif text.startswith("/*", i):
            e = text.find("*/", i + 2)
            e = n if e < 0 else e + 2
            blank(i, e)
            i = e
        elif c == '"':
            raw = _RAW_PREFIX.search(text[max(0, i - 3):i])
            if raw and (i - len(raw.group(0)) == 0 or not (text[i - len(raw.group(0)) - 1].isalnum()
                                                            or text[i - len(raw.group(0)) - 1] == "_")):
                paren = text.find("(", i)
                delim = text[i + 1:paren] if paren > 0 else ""
                end = text.find(")" + delim + '"', paren) if paren > 0 else -1
                e = n if end < 0 else end + len(delim) + 2
                blank(i + 1, e - 1)
                i = e
                continue
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, j)
            i = j + 1
        elif c == "'":
            prev = text[i - 1] if i else ""
            nxt = text[i + 1] if i + 1 < n else ""
            if (prev.isalnum() or prev == "_") and (nxt.isalnum() or nxt == "_") and _in_number(text, i):
                i += 1  # digit separator: 1'000'000
                continue
            j = i + 1
            while j < n and text[j] != "'" and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            blank(i + 1, j)
            i = j + 1
        else:
            i += 1
    return "".join(out)


_DIRECTIVE = re.compile(r"^\s*#\s*(ifdef|ifndef|if|elifdef|elifndef|elif|else|endif)\b")


@functools.lru_cache(maxsize=16)
def mask_cxx_first_branch(text: str) -> str:
    """mask_cxx, and also the `#elif`/`#else` branches of every conditional, so
    alternatives written side by side (a parameter list ending in `{` twice,
    once per platform) leave the braces balanced."""
    out = []
    depth_else: list[bool] = []
    for raw, masked in zip(text.split("\n"), mask_cxx(text).split("\n"), strict=True):
        found = _DIRECTIVE.match(raw)
        if found:
            word = found.group(1)
            if word.startswith("if"):
                depth_else.append(False)
            elif word.startswith("el") and depth_else:
                depth_else[-1] = True
            elif word == "endif" and depth_else:
                depth_else.pop()
        out.append(" " * len(masked) if any(depth_else) and not found else masked)
    return "\n".join(out)


def _in_number(text: str, i: int) -> bool:
    j = i
    while j > 0 and (text[j - 1].isalnum() or text[j - 1] in "_'."):
        j -= 1
    return text[j].isdigit()


def _match_close(m: str, i: int) -> int:
    """Index of the bracket closing the one at m[i] (-1 when unbalanced)."""
    pairs = {"(": ")", "{": "}", "[": "]"}
    opener, closer = m[i], pairs[m[i]]
    depth = 0
    for j in range(i, len(m)):
        ch = m[j]
        if ch == opener:
            depth += 1
        elif ch == closer:
            depth -= 1
            if depth == 0:
                return j
    return -1


def _skip_ws(m: str, i: int) -> int:
    while i < len(m) and m[i].isspace():
        i += 1
    return i


def _skip_angle(m: str, i: int) -> int:
    """m[i] == '<': the index after the matching '>' (template argument lists)."""
    depth = 0
    j = i
    while j < len(m):
        ch = m[j]
        if ch == "<":
            depth += 1
        elif ch == ">":
            depth -= 1
            if depth == 0:
                return j + 1
        elif ch in ";{}":
            return -1
        elif ch == "(":
            j = _match_close(m, j)
            if j < 0:
                return -1
        j += 1
    return -1


_TRAILER_WORDS = {"const", "noexcept", "override", "final", "mutable", "volatile", "throw",
                  "__restrict__", "__attribute__", "requires", "try", "__host__", "__device__"}


def _body_after_params(m: str, close: int, allow_init: bool = True) -> int:
    """After a parameter list's ')': the index of the body's '{', or -1 for a
    declaration, a call or anything else."""
    j = _skip_ws(m, close + 1)
    while j < len(m):
        ch = m[j]
        if ch == "{":
            return j
        if ch in ";=,)]}":
            return -1
        if ch == "&":
            j = _skip_ws(m, j + 1)
            continue
        if m.startswith("[[", j):
            e = m.find("]]", j)
            if e < 0:
                return -1
            j = _skip_ws(m, e + 2)
            continue
        if m.startswith("->", j):  # trailing return type: up to the body or a ';'
            k = j + 2
            while k < len(m) and m[k] not in "{;":
                if m[k] == "(":
                    k = _match_close(m, k)
                    if k < 0:
                        return -1
                k += 1
            return k if k < len(m) and m[k] == "{" else -1
        if ch == ":" and not m.startswith("::", j) and allow_init:
            return _after_init_list(m, j + 1)
        word = _IDENT.match(m, j)
        if word and word.group(0) in _TRAILER_WORDS:
            j = _skip_ws(m, word.end())
            if j < len(m) and m[j] == "(":
                e = _match_close(m, j)
                if e < 0:
                    return -1
                j = _skip_ws(m, e + 1)
            continue
        return -1
    return -1


def _after_init_list(m: str, j: int) -> int:
    """A constructor's `: a(x), b{y}` list; the index of the body's '{'."""
    while True:
        j = _skip_ws(m, j)
        word = re.compile(r"[A-Za-z_][\w:]*").match(m, j)
        if not word:
            return -1
        j = _skip_ws(m, word.end())
        if j < len(m) and m[j] == "<":
            j = _skip_angle(m, j)
            if j < 0:
                return -1
            j = _skip_ws(m, j)
        if j >= len(m) or m[j] not in "({":
            return -1
        e = _match_close(m, j)
        if e < 0:
            return -1
        j = _skip_ws(m, e + 1)
        if m.startswith("...", j):
            j = _skip_ws(m, j + 3)
        if j < len(m) and m[j] == ",":
            j += 1
            continue
        return j if j < len(m) and m[j] == "{" else -1


def _decl_start(m: str, pos: int) -> int:
    """The first character of the declaration holding m[pos]: after the last
    ';', '{' or '}' before it (and after an access label like `public:`)."""
    k = max(m.rfind(";", 0, pos), m.rfind("{", 0, pos), m.rfind("}", 0, pos))
    k = _skip_ws(m, k + 1)
    label = re.compile(r"(public|private|protected)\s*:(?!:)").match(m, k)
    while label:
        k = _skip_ws(m, label.end())
        label = re.compile(r"(public|private|protected)\s*:(?!:)").match(m, k)
    return k


class _Lines:
    def __init__(self, text: str) -> None:
        self.starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def of(self, offset: int) -> int:
        import bisect

        return bisect.bisect_right(self.starts, offset)


def _cxx_defs(m: str, name: str, lo: int, hi: int, qualifier: str | None = None) -> list[tuple[int, int, int, str]]:
    """Definitions of `name` in m[lo:hi]: (decl start, body '{', body '}', kind)."""
    found = []
    pat = re.compile(r"(?<![\w~])" + re.escape(name) + r"(?!\w)")
    for hit in pat.finditer(m, lo, hi):
        s, e = hit.start(), hit.end()
        before = m[lo:s].rstrip()
        if before.endswith((".", "->")):
            continue
        qualified = before.endswith("::")
        if before.endswith(",") or (before.endswith(":") and not qualified
                                    and not re.search(r"\b(public|private|protected)\s*:$", before)):
            continue  # an entry of a constructor's initializer list: `: total(start) {}`
        if qualifier is not None:
            # an out-of-line member: Qualifier::name or Qualifier<...>::name
            head = re.search(r"(?<!\w)" + re.escape(qualifier) + r"\s*(?:<[^;{}]*>)?\s*::\s*$", m[max(lo, s - 400):s])
            if not head:
                continue
        scope = _SCOPE_KW.search(m[max(lo, s - 200):s])
        if scope and not qualified:
            j = _skip_ws(m, e)
            if j < hi and m[j] == "<":  # a specialization: struct Foo<float> {
                j = _skip_angle(m, j)
                if j < 0:
                    continue
            k = j
            while k < hi and m[k] not in "{;()=":
                k += 1
            if k < hi and m[k] == "{" and re.fullmatch(r"\s*(final\s*)?(:[^;{]*)?", m[j:k]):
                close = _match_close(m, k)
                if close > 0:
                    found.append((_decl_start(m, s), k, close, "scope"))
            continue
        j = _skip_ws(m, e)
        if j < hi and m[j] == "<":
            j = _skip_angle(m, j)
            if j < 0:
                continue
            j = _skip_ws(m, j)
        if j >= hi or m[j] != "(":
            continue
        close = _match_close(m, j)
        if close < 0:
            continue
        body = _body_after_params(m, close)
        if body < 0:
            continue
        word_before = re.search(r"(\w+)\s*$", before)
        if word_before and word_before.group(1) in {"return", "new", "else", "do", "case", "goto", "throw"}:
            continue
        end = _match_close(m, body)
        if end < 0:
            continue
        found.append((_decl_start(m, s), body, end, "function"))
    return found


def _cxx_macro(text: str, name: str) -> list[tuple[int, int]]:
    spans = []
    lines = text.split("\n")
    pat = re.compile(r"^\s*#\s*define\s+" + re.escape(name) + r"\b")
    for i, line in enumerate(lines):
        if pat.match(line):
            j = i
            while j + 1 < len(lines) and lines[j].rstrip().endswith("\\"):
                j += 1
            spans.append((i + 1, j + 1))
    return spans


def _cxx_known(m: str) -> list[str]:
    names = re.findall(r"\b(?:class|struct|union|namespace|enum)\s+([A-Za-z_]\w*)\s*[:{<]", m)
    names += re.findall(r"([A-Za-z_]\w*)\s*\([^;{}]*\)\s*(?:const\s*)?\{", m)
    return [n for n in names if n not in {"if", "for", "while", "switch", "catch", "sizeof"}]


def _cxx_resolve(text: str, parts: list[str], rel: str) -> list[tuple[int, int]]:
    try:
        return _cxx_resolve_in(mask_cxx_first_branch(text), text, parts, rel)
    except SourceError:
        # defined only in an #else branch: look again with every branch kept
        return _cxx_resolve_in(mask_cxx(text), text, parts, rel)


def _cxx_resolve_in(m: str, text: str, parts: list[str], rel: str) -> list[tuple[int, int]]:
    lines = _Lines(text)
    regions = [(0, len(m))]
    for depth, name in enumerate(parts):
        last = depth == len(parts) - 1
        found: list[tuple[int, int, int, str]] = []
        for lo, hi in regions:
            found += _cxx_defs(m, name, lo, hi)
        if depth:  # out-of-line members: void Outer::name(...) { ... }
            found += _cxx_defs(m, name, 0, len(m), qualifier=parts[depth - 1])
        if not last:
            found = [f for f in found if f[3] == "scope"]
        found = sorted(set(found))
        # a constructor inside its class (or a namesake inside a definition) is not a second match
        found = [f for f in found if not any(o is not f and o[1] < f[0] and f[2] <= o[2] for o in found)]
        if not found:
            if last and depth == 0:
                macros = _cxx_macro(text, name)
                if macros:
                    return macros
            raise _not_found(rel, parts, depth, _cxx_known(m))
        if last:
            return [(lines.of(a), lines.of(c)) for a, _, c, _ in found]
        regions = [(b + 1, c) for _, b, c, _ in found]
    raise AssertionError("unreachable")


# ------------------------------------------------- for doctor and the app


def status() -> tuple[bool, str]:
    """(present, one line): where the source is and how many files, or how to fetch it."""
    root = source_root()
    if root is None:
        return False, how_to_fetch()
    marker = read_marker(root)
    if marker is None:
        return True, f"vLLM {VERSION} source: {root} (named by {ENV})"
    return True, f"vLLM {VERSION} source: {root} ({marker['files']} files)"


REFS_CACHE = ".vlearn-refs.json"  # ref -> why it does not resolve ("" when it does), beside the marker


def unresolved_refs(lessons, root: Path | None = None) -> list[tuple[str, str, str]]:
    """(lesson id, reference, why) for every `vllm_refs` entry of `lessons` (an
    iterable of Lesson) that does not resolve in the source; [] when all do.
    Raises SourceMissing when the source is absent. The source never changes,
    so each reference's verdict is kept in the tree (parsing every cited file
    takes seconds) and only references not seen before are resolved."""
    root = root or require_root()
    cache_file = root / REFS_CACHE
    try:
        verdicts = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        verdicts = {}
    pairs = [(lesson.id, ref) for lesson in lessons for ref in lesson.vllm_refs]
    # New references by file, so each file is read and parsed once (the parse cache is small).
    for ref in sorted({ref for _, ref in pairs if ref not in verdicts}, key=lambda r: split_ref(r)[0]):
        try:
            resolve_all(ref, root)
            verdicts[ref] = ""
        except SourceMissing:
            raise
        except SourceError as exc:
            verdicts[ref] = str(exc)
    try:
        from .fsutil import atomic_path

        with atomic_path(cache_file) as tmp:
            tmp.write_text(json.dumps(verdicts, sort_keys=True), encoding="utf-8")
    except OSError:
        pass  # a read-only tree: resolve again next time
    return sorted((lesson_id, ref, verdicts[ref]) for lesson_id, ref in pairs if verdicts[ref])


def read_range(r: Range, context: int = 0) -> list[tuple[int, str]]:
    """(line number, text) of a range, with `context` lines either side."""
    if r.file is None:
        raise SourceError(f"{r.path}: no file behind this range")
    lines = r.file.read_text(encoding="utf-8", errors="replace").splitlines()
    lo, hi = max(1, r.first - context), min(len(lines), r.last + context)
    return [(n, lines[n - 1]) for n in range(lo, hi + 1)]
