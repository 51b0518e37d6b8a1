"""Cache entry load time: median of DeviceCache.read_path (checksum + spec re-validation)
against xarray.open_dataset(...).load() of the same file, measured in the same run.

Target (issue 2): median load < 5 ms on the 2-core reference machine.

    .venv/bin/python benchmarks/bench_cache_load.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from fixture_specs import AnalyticSolverSpec, CirculatorFixtureSpec, compute  # noqa: E402

from pipeline.cache import DeviceCache  # noqa: E402
from pipeline.smatrix import make_smatrix  # noqa: E402

TARGET_MS = 5.0


def _median_ms(fn, repeats: int = 200) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def main() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = DeviceCache(Path(tmp))
        cases = {
            "3-port, 5 wavelengths": (CirculatorFixtureSpec(), None),
            "4-port, 101 wavelengths": (CirculatorFixtureSpec(gap=0.3), (101, 4)),
            "4-port, 101 wl x 25 sweep": (CirculatorFixtureSpec(gap=0.4), (101, 4, 25)),
        }
        for label, (dev, shape) in cases.items():
            if shape is None:
                data = lambda dev=dev: compute(dev)  # noqa: E731
            else:
                rng = np.random.default_rng(0)
                nwl, nport = shape[:2]
                sweep = {"gap": np.linspace(0.1, 0.4, shape[2])} if len(shape) == 3 else None
                full = ((shape[2],) if sweep else ()) + (nwl, nport, nport)
                s = make_smatrix(0.5 * (rng.normal(size=full) + 1j * rng.normal(size=full)),
                                 np.linspace(1.5, 1.6, nwl), [f"o{i+1}" for i in range(nport)], sweep=sweep)
                data = lambda s=s: (s, {}, {})  # noqa: E731
            entry, _ = cache.get_or_compute(dev, AnalyticSolverSpec(), data)
            ours = _median_ms(lambda: cache.read_path(entry.path))
            ref = _median_ms(lambda: xr.open_dataset(entry.path, engine="h5netcdf", cache=False).load().close())
            rows.append((label, entry.path.stat().st_size / 1024, ours, ref))
    print(f"{'entry':28s} {'kB':>7s} {'read_path ms':>13s} {'xarray ms':>10s} {'ratio':>6s} {'target':>8s}")
    for label, kb, ours, ref in rows:
        flag = "ok" if ours < TARGET_MS else "MISSED"
        print(f"{label:28s} {kb:7.1f} {ours:13.2f} {ref:10.2f} {ours / ref:6.2f} {'<' + str(TARGET_MS) + ' ' + flag:>8s}")


if __name__ == "__main__":
    main()
