"""Cheap but real study cell functions for the study-engine tests: the splitting-ratio
spread of a row of directional couplers on one die, from the coupler compact model
(cached FDTD fab-offset sweep) with width/thickness offsets sampled by
:func:`pipeline.chip.impairments.sample_fabrication`."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np
import xarray as xr

#: environment variable naming the folder of "already killed once" markers (test_study)
KILL_DIR_ENV = "PHOTOPROP_TEST_KILL_DIR"
WAVELENGTHS_UM = np.linspace(1.53, 1.57, 5)


def coupler_spread(*, seed: int, width_sigma: float, n_couplers: int = 16, pitch_um: float = 250.0) -> xr.Dataset:
    """κ² of ``n_couplers`` nominal 3-dB couplers in a row (pitch [µm]) on die ``seed`` with
    within-die width σ ``width_sigma`` [µm], independent from coupler to coupler
    (``correlation_length`` 0, so that the die's sample spread is ≈ σ; other knobs: the
    realistic preset)."""
    from devices.coupler_model import power_coupling
    from pipeline.chip.impairments import impairments, sample_fabrication
    from pipeline.library import Library  # a cell is an edge: the worker's default library

    spec = impairments("realistic", width_sigma=width_sigma, correlation_length=0.0)
    positions = np.column_stack([np.arange(n_couplers) * pitch_um, np.zeros(n_couplers)])
    dw, dt = sample_fabrication(spec, positions, np.random.default_rng(seed))
    k2 = power_coupling(wavelength=WAVELENGTHS_UM[None, :], dw=dw[:, None], dt=dt[:, None],
                        model=Library().model("coupler"))
    return xr.Dataset(
        {"kappa2": (("coupler", "wavelength"), k2, {"units": "1"}),
         "dw": ("coupler", dw, {"units": "um"}), "dt": ("coupler", dt, {"units": "um"}),
         "kappa2_std": ("wavelength", k2.std(axis=0), {"units": "1"})},
        coords={"coupler": np.arange(n_couplers), "wavelength": ("wavelength", WAVELENGTHS_UM, {"units": "um"})})


def coupler_spread_killer(**params) -> xr.Dataset:
    """:func:`coupler_spread`, but the first run of each cell SIGKILLs its own worker process
    (a marker file in ``$PHOTOPROP_TEST_KILL_DIR`` remembers that it happened)."""
    marker = Path(os.environ[KILL_DIR_ENV]) / ("killed-" + "-".join(f"{k}={v}" for k, v in sorted(params.items())))
    if not marker.exists():
        marker.write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return coupler_spread(**params)


def slow_coupler_spread(**params) -> xr.Dataset:
    """:func:`coupler_spread` taking ≥ 1 s (so a test can kill the study mid-way)."""
    import time

    time.sleep(1.0)
    return coupler_spread(**params)


def set_env(name: str, value: str) -> None:
    """Set an environment variable in the calling process (``client.run`` on workers/nannies)."""
    os.environ[name] = value
