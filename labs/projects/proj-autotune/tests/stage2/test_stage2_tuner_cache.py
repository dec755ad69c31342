"""Stage 2: benchmark every config once, keep the fastest, cache it per
(kernel, device, shape bucket) in a JSON file written atomically."""
import builtins
import io
import json
import os

import pytest

from tui.core.labs.testing import load_lab_module


@pytest.fixture
def tn(lab_dir):
    return load_lab_module(lab_dir, "tuner.py")


CONFIGS = [{"BLOCK_SIZE": b, "num_warps": w} for b in (32, 64, 128, 256) for w in (2, 4, 8)]
DEFAULT = {"BLOCK_SIZE": 64, "num_warps": 4}


class Cost:
    """A deterministic benchmark: a made-up cost model, and a log of every call.
    Fastest for a row of n elements: the smallest BLOCK_SIZE >= n (fewer loop trips,
    no wasted lanes), with 4 warps; 256 with 8 warps for long rows."""

    def __init__(self, broken=()):
        self.calls = []
        self.broken = set(broken)

    def __call__(self, config, shape):
        self.calls.append((dict(config), tuple(shape)))
        key = (config["BLOCK_SIZE"], config["num_warps"])
        if key in self.broken:
            raise RuntimeError("out of resources")  # a config that does not compile
        n = shape[-1]
        trips = -(-n // config["BLOCK_SIZE"])
        waste = trips * config["BLOCK_SIZE"] - n
        warp_pen = {2: 0.3, 4: 0.0, 8: 0.1 if n < 1000 else -0.2}[config["num_warps"]]
        return 1.0 + trips + 0.01 * waste + warp_pen


def cache(tn, path, device="NVIDIA H100 80GB HBM3", kernel="rmsnorm", version="1"):
    return tn.ConfigCache(path, device, kernel, version)


def test_shape_bucket(tn):
    assert tn.shape_bucket((3, 100)) == "4x128"
    assert tn.shape_bucket((4, 128)) == "4x128"
    assert tn.shape_bucket((1,)) == "1"
    assert tn.shape_bucket((5, 129, 1)) == "8x256x1"
    with pytest.raises(ValueError):
        tn.shape_bucket((0, 4))


def test_picks_the_fastest_and_reports_speedup(tn, tmp_path):
    cost = Cost()
    r = tn.tune(cache(tn, tmp_path / "c.json"), (4, 100), CONFIGS, cost, DEFAULT)
    # n = 100: BLOCK 128 = 1 trip, 28 wasted lanes: 1 + 1 + 0.28 = 2.28 ms with 4 warps.
    # Default 64x4: 2 trips, 28 wasted: 3.28 ms. Speed-up 3.28 / 2.28.
    assert r.config == {"BLOCK_SIZE": 128, "num_warps": 4}
    assert r.best_ms == pytest.approx(2.28) and r.default_ms == pytest.approx(3.28)
    assert r.speedup == pytest.approx(3.28 / 2.28)
    assert r.cached is False


def test_every_config_benchmarked_exactly_once(tn, tmp_path):
    cost = Cost()
    r = tn.tune(cache(tn, tmp_path / "c.json"), (4, 100), CONFIGS, cost, DEFAULT)
    seen = [c for c, _ in cost.calls]
    assert sorted(map(str, seen)) == sorted(map(str, CONFIGS)), "the default is in CONFIGS: reuse its time"
    assert r.benchmarked == len(CONFIGS) == len(cost.calls)
    assert all(shape == (4, 100) for _, shape in cost.calls)


def test_default_outside_the_space_is_measured_once(tn, tmp_path):
    cost = Cost()
    default = {"BLOCK_SIZE": 16, "num_warps": 4}  # 7 trips, 12 wasted: 8.12 ms
    r = tn.tune(cache(tn, tmp_path / "c.json"), (4, 100), CONFIGS, cost, default)
    assert r.benchmarked == len(CONFIGS) + 1 == len(cost.calls)
    assert r.default_ms == pytest.approx(8.12) and r.speedup == pytest.approx(8.12 / 2.28)


def test_long_rows_pick_a_different_config(tn, tmp_path):
    r = tn.tune(cache(tn, tmp_path / "c.json"), (2, 5000), CONFIGS, Cost(), DEFAULT)
    # 256 x 8 warps: 20 trips, 120 wasted, -0.2: 1 + 20 + 1.2 - 0.2 = 22.0 ms.
    assert r.config == {"BLOCK_SIZE": 256, "num_warps": 8} and r.best_ms == pytest.approx(22.0)


def test_ties_go_to_the_earlier_config(tn, tmp_path):
    r = tn.tune(cache(tn, tmp_path / "c.json"), (1, 8), CONFIGS, lambda c, s: 1.0, DEFAULT)
    assert r.config == CONFIGS[0] and r.speedup == pytest.approx(1.0)


def test_failing_configs_are_skipped(tn, tmp_path):
    cost = Cost(broken={(128, 4)})  # the winner above no longer runs
    r = tn.tune(cache(tn, tmp_path / "c.json"), (4, 100), CONFIGS, cost, DEFAULT)
    assert r.config == {"BLOCK_SIZE": 128, "num_warps": 8}  # 2.28 + 0.1
    assert r.best_ms == pytest.approx(2.38)


def test_nan_or_non_positive_times_are_skipped(tn, tmp_path):
    def bench(c, s):
        return {32: float("nan"), 64: 0.0, 128: -1.0}.get(c["BLOCK_SIZE"], 5.0 + c["num_warps"])
    r = tn.tune(cache(tn, tmp_path / "c.json"), (1, 8), CONFIGS, bench, {"BLOCK_SIZE": 256, "num_warps": 8})
    assert r.config == {"BLOCK_SIZE": 256, "num_warps": 2} and r.best_ms == 7.0 and r.default_ms == 13.0


def test_nothing_runs(tn, tmp_path):
    def bench(c, s):
        raise RuntimeError("out of resources")
    with pytest.raises(tn.NoValidConfigError):
        tn.tune(cache(tn, tmp_path / "c.json"), (1, 8), CONFIGS, bench, DEFAULT)
    with pytest.raises(tn.NoValidConfigError):
        tn.tune(cache(tn, tmp_path / "c.json"), (1, 8), [], Cost(), DEFAULT)
    assert not (tmp_path / "c.json").exists()


def test_cache_hit_skips_benchmarking_across_processes(tn, tmp_path):
    path = tmp_path / "c.json"
    first = tn.tune(cache(tn, path), (4, 100), CONFIGS, Cost(), DEFAULT)
    cost = Cost()
    tn2 = load_lab_module_again(tn)
    again = tn2.tune(cache(tn2, path), (4, 100), CONFIGS, cost, DEFAULT)  # a fresh object, same file
    assert cost.calls == [] and again.cached is True and again.benchmarked == 0
    assert again.config == first.config
    assert (again.best_ms, again.default_ms, again.speedup) == pytest.approx((first.best_ms, first.default_ms, first.speedup))


def load_lab_module_again(tn):
    from tui.core.labs.testing import lab_directory
    return load_lab_module(lab_directory(), "tuner.py")


def test_same_bucket_hits_other_bucket_misses(tn, tmp_path):
    path = tmp_path / "c.json"
    tn.tune(cache(tn, path), (4, 100), CONFIGS, Cost(), DEFAULT)
    cost = Cost()
    assert tn.tune(cache(tn, path), (3, 128), CONFIGS, cost, DEFAULT).cached is True  # bucket 4x128 too
    assert cost.calls == []
    r = tn.tune(cache(tn, path), (4, 5000), CONFIGS, cost, DEFAULT)  # bucket 4x8192
    assert r.cached is False and len(cost.calls) == len(CONFIGS)
    assert r.config == {"BLOCK_SIZE": 256, "num_warps": 8}
    # Both buckets are kept: the first is still a hit.
    cost = Cost()
    assert tn.tune(cache(tn, path), (4, 100), CONFIGS, cost, DEFAULT).config == {"BLOCK_SIZE": 128, "num_warps": 4}
    assert cost.calls == []


def test_other_device_is_a_miss_and_both_are_kept(tn, tmp_path):
    path = tmp_path / "c.json"
    tn.tune(cache(tn, path, device="NVIDIA H100 80GB HBM3"), (4, 100), CONFIGS, Cost(), DEFAULT)
    cost = Cost()
    r = tn.tune(cache(tn, path, device="NVIDIA A100-SXM4-80GB"), (4, 100), CONFIGS, cost, DEFAULT)
    assert r.cached is False and len(cost.calls) == len(CONFIGS), "a config tuned on an H100 is not an A100's"
    for device in ("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB"):
        cost = Cost()
        assert tn.tune(cache(tn, path, device=device), (4, 100), CONFIGS, cost, DEFAULT).cached is True
        assert cost.calls == []


def test_other_kernel_is_a_miss(tn, tmp_path):
    path = tmp_path / "c.json"
    tn.tune(cache(tn, path, kernel="rmsnorm"), (4, 100), CONFIGS, Cost(), DEFAULT)
    cost = Cost()
    assert tn.tune(cache(tn, path, kernel="softmax"), (4, 100), CONFIGS, cost, DEFAULT).cached is False
    assert len(cost.calls) == len(CONFIGS)


def test_new_kernel_version_invalidates(tn, tmp_path):
    path = tmp_path / "c.json"
    tn.tune(cache(tn, path, version="1"), (4, 100), CONFIGS, Cost(), DEFAULT)
    cost = Cost()
    r = tn.tune(cache(tn, path, version="2"), (4, 100), CONFIGS, cost, DEFAULT)
    assert r.cached is False and len(cost.calls) == len(CONFIGS), "a changed kernel must be re-tuned"
    cost = Cost()
    assert tn.tune(cache(tn, path, version="2"), (4, 100), CONFIGS, cost, DEFAULT).cached is True
    assert cost.calls == []


def test_lookup_and_file_format(tn, tmp_path):
    path = tmp_path / "c.json"
    c = cache(tn, path)
    assert c.lookup((4, 100)) is None
    tn.tune(c, (4, 100), CONFIGS, Cost(), DEFAULT)
    data = json.loads(path.read_text())
    assert data["format"] == 1
    assert list(data["entries"]) == ["rmsnorm|NVIDIA H100 80GB HBM3|4x128"]
    entry = data["entries"]["rmsnorm|NVIDIA H100 80GB HBM3|4x128"]
    assert entry["kernel_version"] == "1" and entry["config"] == {"BLOCK_SIZE": 128, "num_warps": 4}
    assert entry["best_ms"] == pytest.approx(2.28) and entry["default_ms"] == pytest.approx(3.28)
    assert c.lookup((3, 127))["config"] == entry["config"]


@pytest.mark.parametrize("content", ["", "{not json", "[1, 2]", '{"format": 99, "entries": {}}'])
def test_unreadable_cache_reads_as_empty(tn, tmp_path, content):
    path = tmp_path / "c.json"
    path.write_text(content)
    cost = Cost()
    r = tn.tune(cache(tn, path), (4, 100), CONFIGS, cost, DEFAULT)
    assert r.cached is False and len(cost.calls) == len(CONFIGS)
    assert json.loads(path.read_text())["format"] == 1


def test_cache_folder_is_created(tn, tmp_path):
    path = tmp_path / "deep" / "er" / "c.json"
    tn.tune(cache(tn, path), (4, 100), CONFIGS, Cost(), DEFAULT)
    assert path.is_file()


def _spy_open(monkeypatch, target):
    """Record every mode the cache file itself is opened with, through open, io.open or Path.open."""
    modes = []
    real = io.open

    def spy(file, mode="r", *args, **kwargs):
        if isinstance(file, (str, bytes, os.PathLike)) and os.path.abspath(os.fsdecode(file)) == str(target):
            modes.append(mode)
        return real(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", spy)
    monkeypatch.setattr(io, "open", spy)
    return modes


def test_cache_file_is_replaced_never_rewritten_in_place(tn, tmp_path, monkeypatch):
    path = (tmp_path / "c.json").resolve()
    tn.tune(cache(tn, path), (4, 100), CONFIGS, Cost(), DEFAULT)  # the file exists now
    modes = _spy_open(monkeypatch, path)
    tn.tune(cache(tn, path), (4, 5000), CONFIGS, Cost(), DEFAULT)
    writes = [m for m in modes if set(m) & set("wax+")]
    assert writes == [], (f"the cache file was opened with mode {writes[0]!r}: a crash mid-write leaves it "
                          "truncated. Write a temporary file in the same folder and os.replace it over the cache.")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"], "temporary files must not be left behind"
    assert len(json.loads(path.read_text())["entries"]) == 2


def test_a_crash_mid_write_keeps_the_old_cache(tn, tmp_path, monkeypatch):
    path = tmp_path / "c.json"
    tn.tune(cache(tn, path), (4, 100), CONFIGS, Cost(), DEFAULT)
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(json, "dump", crash)
    monkeypatch.setattr(json, "dumps", crash)
    try:
        tn.tune(cache(tn, path), (4, 5000), CONFIGS, Cost(), DEFAULT)
    except OSError:
        pass  # raising or logging the failed write are both fine
    monkeypatch.undo()
    assert path.read_bytes() == before, "a failed write must leave the previous cache intact"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.json"], "temporary files must not be left behind"
