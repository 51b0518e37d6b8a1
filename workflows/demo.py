"""The main job while the chip and training layers are being built: check (and build) the
device library on a local Dask cluster, report every device's figures of merit, and
compose an MZI switch and a heater row from the cached device physics.

Outputs (under ``out``): ``mzi_switch.nc`` (xarray: transmission vs heater power and
wavelength), ``mzi_switch.png`` and ``summary.json``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from pipeline import units_attrs
from pipeline.cache import DeviceCache
from pipeline.circuit import Netlist, compose
from pipeline.smatrix import interp_wavelength

MZI_COUPLER = {"gap": 0.20, "coupling_length": 16.5}


def library_report(cache: DeviceCache) -> list[dict[str, Any]]:
    """One row per entry: family, key, a few spec fields and its figures of merit."""
    from pipeline.simulate import figures_of_merit

    rows = []
    for path in cache.entry_paths():
        entry = cache.read_path(path)
        spec = entry.device_spec.model_dump()
        if spec.get("width", 0.5) != 0.5 or spec.get("thickness", 0.22) != 0.22:
            continue  # fabrication-offset sweep points: summarised by the compact model's accuracy
        short = {k: spec[k] for k in ("gap", "coupling_length", "length", "heater_width", "heater_height", "mmi_width",
                                      "mmi_length", "taper_width", "ge_length") if k in spec}
        rows.append({"device": entry.device_spec.device, "key": entry.key[:12], "spec": short,
                     "solver": entry.solver_spec.solver, "checks_passed": entry.checks.get("passed"),
                     "figures": figures_of_merit(entry, cache=cache, simulate_missing=False)})
    return rows


def _coupler_model_summary(cache: DeviceCache) -> dict[str, Any]:
    """Accuracy of the coupler compact model (fab-offset sweep) against held-out FDTD runs."""
    import devices.coupler_model as cm
    from pipeline.library import Library

    sweep = cm.CouplerSweepSpec()
    model = Library(cache).model("coupler")  # stored netCDF, else fitted from the cached entries
    acc = json.loads(model.dataset.attrs["accuracy"])
    kappa = cm.power_coupling(wavelength=1.55, dw=np.array([-0.02, 0.0, 0.02]), dt=0.0, model=model)
    return {"sweep_entries": len(sweep.runs()), "holdout_max_abs_dkappa2": acc["holdout_max_abs_dkappa2"],
            "holdout_max_lc_rel_error": acc["holdout_max_lc_rel_error"],
            "kappa2_at_dw_minus20_0_plus20nm": [float(k) for k in np.ravel(kappa)]}


def mzi_switch(cache: DeviceCache, powers_w: np.ndarray, wavelengths: np.ndarray) -> xr.Dataset:
    """An MZI (3-dB coupler, heater arm + unheated arm, 3-dB coupler) composed by the
    connection-matrix method from cached FDTD couplers and the thermo-optic model."""
    import devices.directional_coupler as dc
    import devices.phase_shifter as ps
    from pipeline.fdtd import Meep2DSpec
    from pipeline.errors import CacheError

    entry = cache.get(dc.DirectionalCouplerSpec(**MZI_COUPLER), Meep2DSpec())
    if entry is None:
        raise CacheError("the 3-dB coupler entry is missing from the library. Fix: `photoprop library build`.")
    coupler = interp_wavelength(entry.smatrix, wavelengths)
    ps_entry = cache.get(ps.PhaseShifterSpec(), ps.ThermoOpticSolverSpec())
    if ps_entry is None:
        raise CacheError("the phase-shifter entry is missing from the library. Fix: `photoprop library build`.")
    model = ps.PhaseShifterModel.from_entry(ps_entry)
    cold = ps.phase_shifter(wavelength=wavelengths, power_w=[0.0], model=model).isel(power=0, drop=True)
    out = []
    for p in powers_w:
        hot = ps.phase_shifter(wavelength=wavelengths, power_w=[p], model=model).isel(power=0, drop=True)
        net = Netlist({"c1": coupler, "c2": coupler, "top": hot, "bot": cold},
                      [("c1,o3", "top,o1"), ("c1,o4", "bot,o1"), ("top,o2", "c2,o2"), ("bot,o2", "c2,o1")],
                      {"in1": "c1,o1", "in2": "c1,o2", "out1": "c2,o4", "out2": "c2,o3"})
        out.append(compose(net))
    s = xr.concat(out, dim=xr.DataArray(np.asarray(powers_w), dims="heater_power", attrs={"units": "W"}))
    t = np.abs(s.sel(port_in="in1", port_out=["out1", "out2"])) ** 2
    ds = xr.Dataset({"transmission": t.rename(port_out="output")})
    ds["transmission"].attrs.update(units="1", long_name="|S|^2 from in1")
    ds.attrs.update(coupler_key=entry.key, phase_shifter_key=ps_entry.key,
                    method="connection-matrix composition of cached device S-matrices")
    return units_attrs.annotate(ds, {"output": ("1", "MZI output port")})


def _plot(ds: xr.Dataset, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    t = ds.transmission.sel(wavelength=1.55, method="nearest")
    for out in t.output.values:
        ax.plot(1e3 * t.heater_power, 10 * np.log10(np.maximum(t.sel(output=out), 1e-6)), label=str(out))
    ax.set(xlabel="heater power [mW]", ylabel="transmission [dB]", title="MZI switch from cached FDTD + thermal models")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_demo(out: Path, *, cache: DeviceCache | None = None, workers: int = 2) -> dict[str, Any]:
    """Library check/build, device report, MZI switch and heater-row crosstalk."""
    import devices.phase_shifter as ps
    from workflows.library_build import build_library, load_items

    t0 = time.perf_counter()
    cache = cache or DeviceCache()
    out.mkdir(parents=True, exist_ok=True)
    build = build_library(load_items(), cache=cache, workers=workers)
    rows = library_report(cache)
    wl = np.linspace(1.52, 1.58, 13)
    powers = np.linspace(0.0, 0.06, 121)
    ds = mzi_switch(cache, powers, wl)
    ds.to_netcdf(out / "mzi_switch.nc", engine="h5netcdf")
    _plot(ds, out / "mzi_switch.png")
    t = ds.transmission.sel(wavelength=1.55, method="nearest")
    cross, bar = t.sel(output="out2").values, t.sel(output="out1").values
    k_switch = int(np.argmax(bar))
    ps_entry = cache.get(ps.PhaseShifterSpec(), ps.ThermoOpticSolverSpec())
    xt = ps.crosstalk_matrix(8, 20.0, model=ps.PhaseShifterModel.from_entry(ps_entry))
    summary = {
        "library": {"root": str(cache.root), "entries": len(cache.entry_paths()), "built_now": len(build["built"]),
                    "already_cached": build["skipped"]},
        "devices": rows,
        "mzi_switch": {
            "cross_at_0mW_db": float(10 * np.log10(cross[0])),
            "bar_at_0mW_db": float(10 * np.log10(max(bar[0], 1e-12))),
            "switching_power_mw": float(1e3 * powers[k_switch]),
            "extinction_db": float(10 * np.log10(bar[k_switch] / max(cross[k_switch], 1e-12))),
            "insertion_loss_db": float(-10 * np.log10(bar[k_switch] + cross[k_switch])),
        },
        "coupler_compact_model": _coupler_model_summary(cache),
        "heater_row_8x20um": {"nearest_neighbour_crosstalk": float(xt[3, 4]), "next_nearest": float(xt[3, 5])},
        "outputs": [str(out / n) for n in ("mzi_switch.nc", "mzi_switch.png", "summary.json")],
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2, default=str))
    return summary
