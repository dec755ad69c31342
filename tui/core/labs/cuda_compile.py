"""Compile CUDA C without a GPU, and show errors at the learner's file and line.

NVRTC (through `cupy.cuda.nvrtc`) needs only its shared library, no device,
so every machine with CuPy can check a kernel. When NVRTC cannot be loaded we
fall back to `nvcc -ptx`. Both print `file(line): error: ...`; we turn that
into `Diagnostic(path, line, ...)` so the UI can jump to the line.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# compute_90 = Hopper; the check is about the source, not the device in hand.
DEFAULT_ARCH = "compute_90"
_DIAG = re.compile(r"^(?P<file>.*?)\((?P<line>\d+)\): (?P<sev>error|warning|catastrophic error)[^:]*: (?P<msg>.*)$")


@dataclass
class Diagnostic:
    path: str
    line: int
    severity: str  # "error" | "warning"
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


@dataclass
class CompileResult:
    path: str
    backend: str  # "nvrtc", "nvcc" or "none"
    ok: bool
    log: str = ""
    diagnostics: list[Diagnostic] = field(default_factory=list)

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "error"]

    def report(self) -> str:
        """What the learner reads: each error at file:line, or the raw log."""
        if self.ok:
            return f"{self.path}: compiled with {self.backend}"
        lines = [str(d) for d in self.errors] or [self.log.strip() or "compilation failed"]
        return "\n".join(lines)


def parse_log(log: str, display_path: str) -> list[Diagnostic]:
    """Pull `file(line): error: msg` lines out of an NVRTC or nvcc log."""
    out = []
    for raw in log.splitlines():
        match = _DIAG.match(raw.strip())
        if match:
            sev = "warning" if match["sev"] == "warning" else "error"
            out.append(Diagnostic(display_path, int(match["line"]), sev, match["msg"].strip()))
    return out


def nvrtc_available() -> bool:
    try:
        from cupy.cuda import nvrtc

        nvrtc.getVersion()
        return True
    except Exception:
        return False


def _cuda_include() -> list[str]:
    """A folder holding cuda_fp16.h for NVRTC: the toolkit's, else Triton's copy."""
    import glob
    import os

    candidates = [os.environ.get(v, "") + "/include" for v in ("CUDA_PATH", "CUDA_HOME") if os.environ.get(v)]
    candidates += ["/usr/local/cuda/include", *sorted(glob.glob("/usr/local/cuda-*/include"), reverse=True)]
    try:
        import importlib.util

        spec = importlib.util.find_spec("triton")
        if spec and spec.origin:
            candidates.append(str(Path(spec.origin).parent / "backends" / "nvidia" / "include"))
    except Exception:
        pass
    for folder in candidates:
        if Path(folder, "cuda_fp16.h").is_file():
            return [f"-I{folder}"]
    return []


def compile_source(source: str, display_path: str, include_dir: str | None = None,
                   arch: str = DEFAULT_ARCH, backend: str = "auto") -> CompileResult:
    """Compile `source` to PTX; diagnostics point at `display_path`."""
    if backend in ("auto", "nvrtc") and nvrtc_available():
        return _nvrtc(source, display_path, include_dir, arch)
    if backend in ("auto", "nvcc") and shutil.which("nvcc"):
        return _nvcc(source, display_path, include_dir, arch)
    return CompileResult(display_path, "none", False,
                         "no CUDA compiler: install cupy-cuda13x with nvidia-cuda-nvrtc, or the CUDA toolkit (nvcc)")


def compile_file(path: str | Path, arch: str = DEFAULT_ARCH, backend: str = "auto") -> CompileResult:
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        return CompileResult(str(path), "none", False, f"cannot read {path}: {exc}",
                             [Diagnostic(str(path), 0, "error", f"cannot read file: {exc}")])
    return compile_source(source, str(path), str(path.parent), arch, backend)


def _nvrtc(source: str, display_path: str, include_dir: str | None, arch: str) -> CompileResult:
    from cupy.cuda import nvrtc

    options = [f"--gpu-architecture={arch}", "-std=c++17", *_cuda_include()]
    if include_dir:
        options.append(f"-I{include_dir}")
    prog = nvrtc.createProgram(source, display_path, [], [])
    try:
        try:
            nvrtc.compileProgram(prog, options)
            ok = True
        except nvrtc.NVRTCError:
            ok = False
        log = nvrtc.getProgramLog(prog)
    finally:
        nvrtc.destroyProgram(prog)
    return CompileResult(display_path, "nvrtc", ok, log, parse_log(log, display_path))


def _nvcc(source: str, display_path: str, include_dir: str | None, arch: str) -> CompileResult:
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / Path(display_path).name
        src.write_text(source, encoding="utf-8")
        cmd = ["nvcc", "-ptx", f"-arch={arch}", "-std=c++17", "-o", str(Path(tmp) / "out.ptx"), str(src)]
        if include_dir:
            cmd.insert(1, f"-I{include_dir}")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return CompileResult(display_path, "nvcc", False, str(exc))
        log = (proc.stdout + proc.stderr).replace(str(src), display_path)
        return CompileResult(display_path, "nvcc", proc.returncode == 0, log, parse_log(log, display_path))


def load_module(path: str | Path, options: tuple[str, ...] = ()):
    """Compile a .cu file for the GPU in hand and return a cupy.RawModule.

    Compiles through `compile_file` first, so a broken file raises a
    `CudaCompileError` whose message is the file:line list, not CuPy's dump.
    """
    import cupy

    path = Path(path)
    checked = compile_file(path)
    if not checked.ok:
        raise CudaCompileError(checked.report())
    code = path.read_text(encoding="utf-8")
    return cupy.RawModule(code=code, options=("-std=c++17", f"-I{path.parent}", *options))


class CudaCompileError(RuntimeError):
    pass
