"""vlearn bench kernels [--json] [--workspace LAB_ID] [--kernel NAME ...]"""
from __future__ import annotations

import sys


def register(sub) -> None:
    p = sub.add_parser("bench", help="benchmark GPU kernels against PyTorch (needs an NVIDIA GPU)")
    p.add_argument("what", choices=["kernels"], help="what to benchmark")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--kernel", action="append", default=None, help="only this kernel unit (repeatable)")
    p.add_argument("--workspace", metavar="LAB_ID", help="bench your workspace copy of this CUDA lab's kernel")
    p.set_defaults(func=run)


def run(args) -> int:
    import json

    from ..core.labs.gpu import has_gpu, why_no_gpu

    if not has_gpu():
        message = f"no GPU: {why_no_gpu()}"
        print(json.dumps({"error": message}) if args.json else message)
        return 2
    from ..core.bench import format_table, run_kernels, to_json

    workspace = lab_unit = None
    if args.workspace:
        workspace, lab_unit = _workspace_kernel(args.workspace)
        if workspace is None:
            print(lab_unit, file=sys.stderr)
            return 2
    progress = None if args.json else (lambda msg: print(f"  timing {msg} ...", file=sys.stderr))
    result = run_kernels(args.kernel, workspace=workspace, lab_unit=lab_unit, progress=progress)
    print(to_json(result) if args.json else format_table(result))
    bad = [r for r in result["rows"] if r.get("error")]
    return 1 if bad else 0


def _workspace_kernel(lab_id: str):
    """(path of the learner's .cu, unit name) or (None, why not)."""
    import yaml

    from ..core.bench import kernels_root
    from ..core.paths import workspace_dir

    for path in sorted(kernels_root().glob("*/kernel.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if data.get("lab") == lab_id:
            candidate = workspace_dir() / lab_id / data["source"]
            if not candidate.is_file():
                return None, f"{candidate} does not exist: open the lab first to create your workspace copy"
            return candidate, path.parent.name
    return None, f"no kernel unit is taught by lab {lab_id!r}"


if __name__ == "__main__":  # `python -m tui.cli.bench kernels --json`: no other CLI module imported
    import argparse

    parser = argparse.ArgumentParser(prog="vlearn")
    register(parser.add_subparsers())
    ns = parser.parse_args(["bench", *sys.argv[1:]])
    sys.exit(ns.func(ns))
