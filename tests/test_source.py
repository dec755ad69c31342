"""The vLLM source beside the lessons (tui.core.source, `vlearn source`):
symbol resolution over a toy tree (tests/fixtures/vllm_tree, written for these
tests, not vLLM code), fetching from a folder or an archive safely and
atomically, the commands, and — when the real 0.33.0 tree is here — every
`vllm_refs` entry of the curriculum resolving."""
from __future__ import annotations

import io
import os
import shutil
import sys
import tarfile
from pathlib import Path

import pytest

from tui.cli import main
from tui.core import source

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "vllm_tree"
PY = "vllm/engine/toy.py"
CU = "csrc/attention/toy_kernels.cu"
FILES = 5  # PKG-INFO, docs/README.md, vllm/__init__.py, vllm/engine/toy.py, csrc/attention/toy_kernels.cu


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    """An empty cache location; no VLEARN_VLLM_SOURCE."""
    target = tmp_path / "cache" / source.DIR_NAME
    monkeypatch.delenv(source.ENV, raising=False)
    monkeypatch.setattr(source, "default_dir", lambda: target)
    return target


@pytest.fixture
def tree(monkeypatch) -> Path:
    """The toy tree, named by VLEARN_VLLM_SOURCE (used as it is, no marker)."""
    monkeypatch.setenv(source.ENV, str(FIXTURE))
    return FIXTURE


def span(ref: str) -> tuple[int, int]:
    r = source.resolve(ref)
    return r.first, r.last


def line(ref: str, n: int) -> str:
    return (FIXTURE / ref.split("::")[0]).read_text().splitlines()[n - 1]


# ------------------------------------------------------------- Python


@pytest.mark.parametrize("symbol, expected", [
    ("plain", (11, 12)),
    ("Scheduler", (27, 53)),
    ("Scheduler.schedule", (40, 44)),
    ("Scheduler.schedule.pick", (41, 42)),  # a function nested in a method
    ("Scheduler.Output", (46, 50)),  # a nested class
    ("Scheduler.Output.total", (49, 50)),
    ("Scheduler.size", (36, 38)),  # starts at the decorator
    ("Scheduler.step_async", (52, 53)),
    ("Scheduler.budget", (30, 30)),  # class-level annotated assignment
    ("Scheduler.policy", (31, 31)),
    ("BLOCK_SIZE", (6, 6)),  # module-level assignments
    ("LIMITS", (7, 7)),
    ("C", (8, 8)),  # inside a tuple target
    ("large_blocks", (58, 59)),  # inside `if`: the first branch
    ("fast_path", (71, 72)),  # inside `except`
    ("Runner.batch", (77, 77)),  # instance attributes: the first `self.x =`, __init__ first
    ("Runner.cache", (78, 78)),
    ("Runner.late", (82, 82)),  # `this` is the method's own name for self
])
def test_python_definitions(tree, symbol, expected):
    assert span(f"{PY}::{symbol}") == expected


def test_python_overloads_resolve_to_the_implementation_and_all_lists_every_one(tree):
    ranges = source.resolve_all(f"{PY}::parse")
    assert [(r.first, r.last, r.stub) for r in ranges] == [(15, 16, True), (19, 20, True), (23, 24, False)]
    assert span(f"{PY}::parse") == (23, 24)
    assert [(r.first, r.last) for r in source.resolve_all(f"{PY}::large_blocks")] == [(58, 59), (63, 64)]


def test_a_path_without_symbol_is_the_whole_file(tree):
    text = (FIXTURE / PY).read_text()
    assert span(PY) == (1, len(text.splitlines()))


# ------------------------------------------------------------ CUDA/C++


@pytest.mark.parametrize("symbol, expected, first_text", [
    # template line above __global__; the prototype at 17-18 is not a definition
    ("scale_kernel", (20, 28), "template <typename T>"),
    ("toy.scale_kernel", (20, 28), "template <typename T>"),  # through the namespace
    # a two-line template header, __launch_bounds__, the name on its own line
    ("fused_kernel", (30, 38), "template <typename scalar_t, int VEC,"),
    ("Accumulator", (40, 52), "struct Accumulator {"),  # not also its constructor
    ("Accumulator.add", (45, 45), "  __device__ void add(float x) { total += x; }"),
    ("Accumulator.Inner", (47, 49), "  struct Inner {"),
    ("Accumulator.Accumulator", (43, 43), "  Accumulator(float start) : total(start) {}"),
    ("Accumulator.get", (54, 56), "float Accumulator::get() const {"),  # out-of-line
    ("Accumulator::get", (54, 56), "float Accumulator::get() const {"),
    ("toy", (11, 58), "namespace toy {"),
    ("trailing", (68, 71), "auto trailing(int n) -> int {"),  # raw string, digit separator
    ("TOY_CHECK", (4, 9), "#define TOY_CHECK(cond) \\"),  # a macro and its continued lines
    # a parameter list ending in `{` once per #ifndef/#else branch: braces still balance
    ("map_memory", (73, 82), "void map_memory(unsigned long long device,"),
    ("cuda_only", (85, 86), "void cuda_only() {"),
    ("rocm_only", (88, 89), "void rocm_only() {"),  # only in an #else branch
])
def test_cxx_definitions(tree, symbol, expected, first_text):
    assert span(f"{CU}::{symbol}") == expected
    assert line(CU, expected[0]) == first_text


def test_braces_in_comments_strings_and_chars_do_not_count(tree):
    text = (FIXTURE / CU).read_text()
    masked = source.mask_cxx(text)
    assert len(masked) == len(text) and masked.count("\n") == text.count("\n")
    assert "not the end" not in masked and "'{'" not in masked and "commented_kernel" not in masked
    assert "raw { string" not in masked and "#define" not in masked
    # each of these bodies holds an unbalanced brace in a string, char or comment
    assert span(f"{CU}::scale_kernel")[1] == 28
    assert span(f"{CU}::fused_kernel")[1] == 38
    assert span(f"{CU}::trailing")[1] == 71
    with pytest.raises(source.SourceError):
        source.resolve(f"{CU}::commented_kernel")  # only defined inside a comment


def test_cxx_overloads_all_in_order_and_the_longest_shown(tree):
    ranges = source.resolve_all(f"{CU}::launch_scale")
    assert [(r.first, r.last) for r in ranges] == [(60, 62), (64, 66)]
    assert span(f"{CU}::launch_scale") == (60, 62)  # equal length: the first
    longer = [source.Range(CU, 1, 3, file=FIXTURE / CU), source.Range(CU, 10, 30, file=FIXTURE / CU)]
    assert source.primary(longer).first == 10  # an #if fallback stub before the real one


@pytest.mark.parametrize("ref, words", [
    (f"{PY}::Schedulr", ["'Schedulr'", PY, "did you mean Scheduler"]),
    (f"{PY}::Scheduler.schedul", ["'schedul'", "in Scheduler", "did you mean schedule"]),
    (f"{PY}::Scheduler.Output.nothing_like_it", ["'nothing_like_it'", "in Scheduler.Output"]),
    (f"{PY}::BLOCK_SIZE.x", ["'BLOCK_SIZE'"]),  # a variable holds no definitions
    (f"{PY}::Runner.batchh", ["'batchh'", "in Runner", "did you mean batch"]),
    (f"{CU}::scale_kernal", ["'scale_kernal'", "did you mean scale_kernel"]),
    (f"{CU}::Accumulator.total", ["'total'", "in Accumulator"]),  # data members are not looked up
    (f"{CU}::Accumulator.Missing", ["'Missing'", "in Accumulator"]),
    ("vllm/engine/nope.py::X", ["vllm/engine/nope.py", "not a file"]),
    ("../outside.py::X", ["inside the vLLM tree"]),
    ("docs/README.md::Toy", ["Python and CUDA/C++ files only"]),
])
def test_missing_symbols_say_what_was_not_found(tree, ref, words):
    with pytest.raises(source.SourceError) as err:
        source.resolve(ref)
    for word in words:
        assert word in str(err.value)
    assert "\n" not in str(err.value)


# --------------------------------------------------------------- fetch


def _count_kept(folder: Path) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file() and source._keep(Path(p.name)))


def test_nothing_fetched_says_how(cache, capsys):
    assert source.source_root() is None
    with pytest.raises(source.SourceMissing, match="vlearn source fetch"):
        source.resolve(f"{PY}::plain")
    for argv in (["source", "show", f"{PY}::plain"], ["source", "open", f"{PY}::plain"], ["source", "where"]):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "vlearn source fetch" in err and "Traceback" not in err


def test_fetch_from_a_folder_then_a_second_call_returns_at_once(cache, capsys, monkeypatch):
    assert main(["source", "fetch", "--from", str(FIXTURE)]) == 0
    assert "source at" in capsys.readouterr().out
    marker = source.read_marker(cache)
    assert marker["version"] == "0.33.0" and marker["files"] == _count_kept(FIXTURE) == FILES
    assert marker["version_checked"] is True  # from PKG-INFO
    assert (cache / PY).read_text() == (FIXTURE / PY).read_text()
    assert source.source_root() == cache and span(f"{PY}::plain") == (11, 12)
    monkeypatch.setattr(source, "_copy_tree", lambda *a: pytest.fail("fetched twice"))
    assert main(["source", "fetch", "--from", str(FIXTURE)]) == 0
    assert main(["source", "fetch"]) == 0  # no download either
    assert capsys.readouterr().out.count("already present at") == 2
    assert not list(cache.parent.glob(".*partial*"))


def _archive(path: Path, members: dict[str, bytes], *, top: str = "vllm-0.33.0", links=()) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(f"{top}/{name}" if top and not name.startswith(("/", "..")) else name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(f"{top}/{name}")
            info.type, info.linkname = tarfile.SYMTYPE, target
            tf.addfile(info)
    return path


def _sdist_members() -> dict[str, bytes]:
    files = {str(p.relative_to(FIXTURE)): p.read_bytes() for p in FIXTURE.rglob("*") if p.is_file()}
    files["vllm/model_executor/weights.bin"] = b"\0" * 64  # not source: left out
    files["docs/assets/logo.png"] = b"\x89PNG"
    return files


def test_fetch_from_an_archive_keeps_source_only_and_strips_the_top_folder(cache, tmp_path):
    archive = _archive(tmp_path / "vllm-0.33.0.tar.gz", _sdist_members(),
                       links=[("vllm/link.py", "/etc/passwd")])
    root = source.fetch_from(archive)
    assert root == cache and (cache / PY).is_file() and (cache / CU).is_file()
    assert not (cache / "vllm/model_executor/weights.bin").exists() and not (cache / "docs/assets").exists()
    assert not (cache / "vllm/link.py").exists() and not (cache / "vllm-0.33.0").exists()
    assert source.read_marker(cache)["files"] == FILES
    assert span(f"{CU}::fused_kernel") == (30, 38)


@pytest.mark.parametrize("bad", ["../evil.py", "vllm/../../evil.py", "/tmp/vlearn-evil.py"])
def test_a_malicious_archive_is_refused_and_nothing_is_written(cache, tmp_path, bad):
    members = _sdist_members()
    members[bad] = b"print('pwned')\n"
    archive = _archive(tmp_path / "vllm-0.33.0.tar.gz", members)
    with pytest.raises(source.SourceError, match="refusing the archive"):
        source.fetch_from(archive)
    assert not cache.exists() and source.source_root() is None
    assert not list(cache.parent.glob(".*partial*"))
    assert not (tmp_path / "evil.py").exists() and not (cache.parent / "evil.py").exists()
    assert not Path("/tmp/vlearn-evil.py").exists()


def test_another_version_or_a_non_vllm_archive_is_refused(cache, tmp_path, capsys):
    members = _sdist_members()
    members["PKG-INFO"] = b"Metadata-Version: 2.4\nName: vllm\nVersion: 0.32.1\n"
    archive = _archive(tmp_path / "vllm-0.32.1.tar.gz", members)
    assert main(["source", "fetch", "--from", str(archive)]) == 1
    assert "0.32.1, not 0.33.0" in capsys.readouterr().err
    other = _archive(tmp_path / "other.tar.gz", {"README.md": b"# hi\n"}, top="other-1.0")
    with pytest.raises(source.SourceError, match="no vllm/ folder"):
        source.fetch_from(other)
    (tmp_path / "junk.tar.gz").write_bytes(b"not a tar at all")
    with pytest.raises(source.SourceError, match="tar archive"):
        source.fetch_from(tmp_path / "junk.tar.gz")
    assert not cache.exists() and not list(cache.parent.glob(".*partial*"))


def test_an_interrupted_unpack_leaves_nothing_mistaken_for_finished(cache, tmp_path, monkeypatch):
    archive = _archive(tmp_path / "vllm-0.33.0.tar.gz", _sdist_members())
    calls = []
    real_copy = shutil.copyfileobj

    def dies_on_the_third(*args, **kw):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_copy(*args, **kw)

    monkeypatch.setattr(source.shutil, "copyfileobj", dies_on_the_third)
    with pytest.raises(KeyboardInterrupt):
        source.fetch_from(archive)
    assert source.source_root() is None and not cache.exists()
    assert not list(cache.parent.glob(".*partial*"))
    monkeypatch.setattr(source.shutil, "copyfileobj", real_copy)
    assert source.fetch_from(archive) == cache and source.read_marker(cache)["files"] == FILES


def test_a_partial_tree_without_marker_is_redone(cache, tmp_path):
    # what a crash could leave if the tree were not renamed into place: some files, no marker;
    # and a stale temporary folder from a killed fetch
    (cache / "vllm").mkdir(parents=True)
    (cache / "vllm" / "half_written.py").write_text("def half(")
    stale = cache.parent / f".{cache.name}.partial-killed"
    (stale / "vllm").mkdir(parents=True)
    assert source.source_root() is None
    with pytest.raises(source.SourceMissing):
        source.resolve(f"{PY}::plain")
    assert source.fetch_from(FIXTURE) == cache
    assert not (cache / "vllm" / "half_written.py").exists() and not stale.exists()
    assert source.read_marker(cache)["files"] == FILES


def test_a_marker_of_another_version_does_not_count(cache):
    source.fetch_from(FIXTURE)
    (cache / source.MARKER).write_text('{"version": "0.32.0", "files": 6}')
    assert source.source_root() is None
    (cache / source.MARKER).write_text('{"version": "0.33.0", "fil')  # torn write
    assert source.source_root() is None


def test_a_tree_named_by_the_environment_is_used_as_is_and_never_deleted(tmp_path, monkeypatch):
    monkeypatch.setenv(source.ENV, str(FIXTURE))
    assert source.source_root() == FIXTURE  # a checkout: no marker needed
    mine = tmp_path / "my-notes"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    monkeypatch.setenv(source.ENV, str(mine))
    assert source.source_root() is None
    with pytest.raises(source.SourceError, match="is not a complete vLLM 0.33.0 tree"):
        source.fetch_from(FIXTURE)
    assert (mine / "notes.txt").read_text() == "mine"
    fresh = tmp_path / "fresh"
    monkeypatch.setenv(source.ENV, str(fresh))
    assert source.fetch_from(FIXTURE) == fresh and source.read_marker(fresh)["files"] == FILES


# ---------------------------------------------------- fetch through pip


def _index(tmp_path: Path, archive: Path, digest: str) -> str:
    folder = tmp_path / "index" / "vllm"
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(
        f'<html><body><a href="{archive.as_uri()}#sha256={digest}">{archive.name}</a></body></html>')
    return (tmp_path / "index").as_uri()


@pytest.fixture
def pip_env(monkeypatch):
    pytest.importorskip("pip")
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    for var in ("PIP_FIND_LINKS", "PIP_EXTRA_INDEX_URL", "PIP_NO_INDEX"):
        monkeypatch.delenv(var, raising=False)


@pytest.mark.slow
def test_fetch_downloads_through_pip_settings_and_checks_the_hash(cache, tmp_path, monkeypatch, capsys, pip_env):
    import hashlib

    archive = _archive(tmp_path / "vllm-0.33.0.tar.gz", _sdist_members())
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    monkeypatch.setenv("PIP_INDEX_URL", _index(tmp_path / "bad", archive, "0" * 64))
    assert main(["source", "fetch"]) == 1
    assert "does not match the index" in capsys.readouterr().err
    assert list(cache.parent.iterdir()) == []  # the download folder is gone, nothing unpacked
    monkeypatch.setenv("PIP_INDEX_URL", _index(tmp_path / "good", archive, digest))
    assert main(["source", "fetch"]) == 0
    marker = source.read_marker(cache)
    assert marker["sha256"] == digest and marker["from"] == archive.as_uri() and marker["files"] == FILES
    assert [p.name for p in cache.parent.iterdir() if p.name.startswith(".vllm-download")] == []


@pytest.mark.slow
def test_fetch_without_network_says_to_use_from(cache, monkeypatch, capsys, pip_env):
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")  # nothing listens on discard
    assert main(["source", "fetch"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: cannot reach http://127.0.0.1:9/simple") and "--from PATH" in err[-1]
    assert not cache.exists()


# --------------------------------------------------------- show / open


def test_show_prints_numbered_lines_without_colour_when_piped(tree, capsys):
    assert main(["source", "show", f"{CU}::fused_kernel"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{CU}:30-38 (fused_kernel)"
    assert out[1] == "30  template <typename scalar_t, int VEC," and out[-1] == "38  }"
    assert len(out) == 10 and "\033[" not in "".join(out)


def test_show_names_other_definitions_and_all_prints_them(tree, capsys):
    assert main(["source", "show", f"{CU}::launch_scale"]) == 0
    captured = capsys.readouterr()
    assert "2 definitions of launch_scale" in captured.err and "64-66" in captured.err
    assert main(["source", "show", "--all", f"{CU}::launch_scale"]) == 0
    out = capsys.readouterr().out
    assert f"{CU}:60-62" in out and f"{CU}:64-66" in out


def test_show_of_a_missing_symbol_is_one_line(tree, capsys):
    assert main(["source", "show", f"{PY}::Scheduler.nope"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'nope'" in err


def test_open_starts_the_editor_at_the_first_line(tree, tmp_path, monkeypatch):
    record = tmp_path / "argv.txt"
    script = tmp_path / "editor.py"
    script.write_text(f"import sys\nopen({str(record)!r}, 'w').write('\\n'.join(sys.argv[1:]))\n")
    monkeypatch.delenv("VISUAL", raising=False)
    monkeypatch.setenv("EDITOR", f"{sys.executable} {script}")
    assert main(["source", "open", f"{PY}::Scheduler.schedule"]) == 0
    assert record.read_text().splitlines() == ["+40", str(FIXTURE / PY)]


def test_helpers_for_doctor_and_the_app(cache, monkeypatch):
    from types import SimpleNamespace

    present, line = source.status()
    assert not present and "vlearn source fetch" in line
    lessons = [SimpleNamespace(id="toy-lesson", vllm_refs=[f"{PY}::plain", f"{PY}::gone", f"{CU}::fused_kernel"])]
    with pytest.raises(source.SourceMissing):
        source.unresolved_refs(lessons)
    source.fetch_from(FIXTURE)
    present, line = source.status()
    assert present and str(cache) in line and f"{FILES} files" in line
    assert [(lesson, ref) for lesson, ref, _ in source.unresolved_refs(lessons)] == [("toy-lesson", f"{PY}::gone")]
    r = source.resolve(f"{PY}::plain")
    assert source.read_range(r) == [(11, "def plain(x):"), (12, "    return x + 1")]
    assert [n for n, _ in source.read_range(r, context=2)] == [9, 10, 11, 12, 13, 14]


def test_editor_forms():
    from tui.core.paths import editor_command

    assert editor_command(["vim"], "f.py", 7) == ["vim", "+7", "f.py"]
    assert editor_command(["/usr/bin/code", "--wait"], "f.py", 7) == ["/usr/bin/code", "--wait", "-g", "f.py:7"]


# ------------------------------------------------------ the real source


def _real_source() -> Path | None:
    for cand in (os.environ.get(source.ENV), "/work/vllm-src/vllm-0.33.0"):
        if cand and (Path(cand) / "vllm").is_dir():
            return Path(cand)
    marker = source.read_marker(source.default_dir())
    return source.default_dir() if marker else None


@pytest.mark.slow
def test_every_vllm_ref_of_the_curriculum_resolves(catalog):
    root = _real_source()
    if root is None:
        pytest.skip(f"the vLLM 0.33.0 source is not here (set {source.ENV} or run `vlearn source fetch`)")
    lessons = list(catalog.lessons.values())
    total = sum(len(lesson.vllm_refs) for lesson in lessons)
    assert total, "the curriculum names no vllm_refs"
    unresolved = source.unresolved_refs(lessons, root)
    assert not unresolved, (f"{len(unresolved)} of {total} vllm_refs do not resolve in {root}:\n"
                            + "\n".join(f"{lesson}: {ref}: {why}" for lesson, ref, why in unresolved))


def test_the_issue_examples_resolve_in_the_real_source():
    root = _real_source()
    if root is None:
        pytest.skip(f"the vLLM 0.33.0 source is not here (set {source.ENV} or run `vlearn source fetch`)")
    r = source.resolve("vllm/v1/core/sched/scheduler.py::Scheduler.schedule", root)
    lines = r.file.read_text().splitlines()
    assert lines[r.first - 1].lstrip().startswith("def schedule(")
    assert lines[r.last].strip() == "" or not lines[r.last].startswith(" " * 8)  # the method ends there
    k = source.resolve("csrc/cache_kernels.cu::reshape_and_cache_flash_kernel", root)
    lines = k.file.read_text().splitlines()
    assert lines[k.first - 1].startswith("template <") and "__global__ void reshape_and_cache_flash_kernel(" in \
        lines[k.first]
    assert lines[k.last - 1] == "}"
