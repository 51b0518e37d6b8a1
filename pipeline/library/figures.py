"""Device-library figures an attenuator die needs: the design coupling length of its 3-dB
couplers and their splitting (coupler compact model), the heater row's thermal crosstalk
(phase-shifter model), the 2×2 MMI's excess loss, the waveguide crossing's insertion loss
and crosstalk, and the Ge photodetector's responsivity.

All come from a :class:`~pipeline.library.Library` (compact models and shipped FDTD entries: ``cache/``,
built by ``photoprop library build``) at the die's laser wavelength, never typed in.

Crossing (:mod:`devices.crossing`, default :class:`~devices.crossing.CrossingSpec`:
parabolic-taper crossing, 2D FDTD: IL ≈ 0.77 dB, crosstalk ≈ −42 dB at 1.55 µm):
``insertion_loss_db`` = −10 log10 |S[o3,o1]|², ``crosstalk`` = max(|S[o2,o1]|², |S[o4,o1]|²)
— the power a crossing wire picks up in its forward direction (the two arms agree by
the device's mirror symmetry to the FDTD noise, ~0.5 dB; the worse is used, as in the
entry's ``crosstalk_db`` figure of merit).  |S|² is interpolated linearly in wavelength.

Detector responsivity.  The library's entry gives the absorbed fraction A(λ) of the
guided power in the Ge (FDTD, closed flux box; :mod:`devices.photodetector`); its
``responsivity_a_per_w`` is A·qλ/(hc) — the quantum limit of the absorbed light
(10 µm Ge: 1.20 A/W), with no contact or collection losses.  The die uses

    R = η_c · A(λ) · qλ/(hc),

with η_c the internal collection efficiency (electrons collected per photon absorbed in
the Ge: losses to metal-contact and free-carrier absorption, recombination at the
defective Ge/Si interface and in undepleted regions).  Its default 0.8 is derived, not
measured here: waveguide Ge-on-Si pin detectors reach 0.8–1.0 A/W at 1550 nm (J. Michel,
J. Liu & L. C. Kimerling, Nat. Photon. 4, 527 (2010); L. Vivien et al., Opt. Express 20,
1096 (2012): 0.8 A/W), i.e. an external efficiency of 0.64–0.80 for detectors that, like
the library's 10 µm device (A = 0.96), absorb nearly all the light; 0.8 sits at the upper
end of that range (modern foundry detectors, ~1 A/W), giving 0.96 A/W for 10 µm Ge and
0.85 A/W for 5 µm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from devices import coupler_model as cm
from devices import phase_shifter as ps
from pipeline.errors import CacheError, SpecError

DESIGN_WAVELENGTH_UM = 1.55


def design_coupling_length(lib: Any, wavelength: float = DESIGN_WAVELENGTH_UM) -> float:
    """Straight-section length [µm] of the library coupler giving a 3-dB split (κ² = 1/2 of
    the transmitted power) at dw = dt = 0: the design of every coupler on the die."""
    return lib.memo(("design_coupling_length", float(wavelength)),
                    lambda: _design_coupling_length(lib.model("coupler"), wavelength))


def _design_coupling_length(m: cm.CouplerModel, wavelength: float) -> float:
    from scipy.optimize import brentq

    def k2(length: float) -> float:
        return float(normalised_kappa2(m, wavelength, 0.0, 0.0, length)[0][0] - 0.5)

    lo = m.nominal_length
    hi = lo + float(cm.coupling_length_um(wavelength=wavelength, model=m)) / 2
    grid = np.linspace(max(lo - hi + lo, 1.0), hi, 41)
    vals = np.array([k2(v) for v in grid])
    i = int(np.flatnonzero(np.sign(vals[:-1]) != np.sign(vals[1:]))[0])
    return float(brentq(k2, grid[i], grid[i + 1], xtol=1e-14, rtol=1e-15))


def normalised_kappa2(model: cm.CouplerModel, wavelength: float, dw: np.ndarray, dt: np.ndarray, length: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(κ² of the transmitted power, excess loss [dB]) of library couplers (coupler ``model``)."""
    kap = cm.power_coupling(wavelength=wavelength, dw=dw, dt=dt, coupling_length=length, model=model)
    loss_db = cm.excess_loss_db(wavelength=wavelength, dw=dw, dt=dt, model=model)
    return np.atleast_1d(kap / 10 ** (-loss_db / 10)), np.atleast_1d(loss_db)


def mmi_excess_loss_db(lib: Any) -> float:
    """Excess loss [dB] of the library's default 2×2 MMI (a splitter-tree stage)."""
    import devices.mmi as mmi

    def compute() -> float:
        for entry in lib.entries("mmi"):
            if entry.device_spec == mmi.MMISpec():
                return float(mmi.figures_of_merit(entry)["excess_loss_db"])
        raise CacheError("no default MMI entry in the device library. Fix: `photoprop library build --devices mmi`.")

    return lib.memo(("mmi_excess_loss_db",), compute)


def heater_crosstalk(lib: Any, n: int, pitch: float, scale: float) -> np.ndarray:
    """(n, n) heater-row crosstalk at ``pitch`` from the library (off-diagonals × ``scale``);
    pairs beyond the simulated lateral extent (200 µm by default) are neglected."""
    out = np.eye(n)
    if scale == 0 or n == 1:
        return out
    m = lib.model("phase_shifter")
    reach = min(n - 1, int(np.floor(m.distance.max() / pitch + 1e-9)))
    row = np.zeros(n)
    if reach >= 1:
        row[:reach + 1] = ps.crosstalk_matrix(reach + 1, pitch, model=m)[0]
    d = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    return out + scale * np.where(d > 0, row[d], 0.0)


@dataclass(frozen=True)
class CrossingFigures:
    """One crossing at one wavelength (library FDTD entry, unscaled)."""

    wavelength_um: float
    insertion_loss_db: float  # −10 log10 |S[o3,o1]|²
    crosstalk: float  # max(|S[o2,o1]|², |S[o4,o1]|²), power fraction
    key: str

    @property
    def crosstalk_db(self) -> float:
        return float(10 * np.log10(self.crosstalk))


@dataclass(frozen=True)
class DetectorFigures:
    """One Ge photodetector at one wavelength (library FDTD entry) and the die's responsivity."""

    wavelength_um: float
    ge_length_um: float
    absorbed_fraction: float  # A(λ), FDTD
    quantum_limit_a_per_w: float  # qλ/(hc)
    collection_efficiency: float  # η_c
    key: str

    @property
    def responsivity_a_per_w(self) -> float:
        """R = η_c · A · qλ/(hc) [A/W]."""
        return self.collection_efficiency * self.absorbed_fraction * self.quantum_limit_a_per_w


def _best(entries: list) -> object:
    """Of several entries of one device spec, the finest FDTD grid."""
    return max(entries, key=lambda e: (getattr(e.solver_spec, "resolution", 0), e.key))


def _in_band(wl: np.ndarray, wavelength: float, what: str) -> None:
    if not wl.min() - 1e-12 <= wavelength <= wl.max() + 1e-12:
        raise SpecError(f"wavelength = {wavelength:.6g} um is outside the {what} entry's band "
                        f"{wl.min():.6g}-{wl.max():.6g} um. Fix: keep wavelength_offset inside the band, "
                        "or rebuild the entry over a wider band.")


def crossing_figures(lib: Any, wavelength: float = 1.55) -> CrossingFigures:
    """The default crossing's insertion loss and crosstalk at ``wavelength`` [µm] (module doc), once per Library."""
    return lib.memo(("crossing_figures", float(wavelength)), lambda: _crossing_figures(lib, wavelength))


def _crossing_figures(lib: Any, wavelength: float) -> CrossingFigures:
    """The default crossing's insertion loss and crosstalk at ``wavelength`` [µm] (module doc)."""
    from devices.crossing import CrossingSpec

    hits = [e for e in lib.entries("crossing") if e.device_spec == CrossingSpec()]
    if not hits:
        raise CacheError("no default crossing entry (devices.crossing.CrossingSpec()) in the device library. "
                         "Fix: `photoprop library build --devices crossing`.")
    e = _best(hits)
    s = e.smatrix
    wl = np.asarray(s.wavelength.values, float)
    _in_band(wl, wavelength, "crossing")
    p = np.abs(s) ** 2

    def at(o: str, i: str) -> float:
        return float(np.interp(wavelength, wl, np.asarray(p.sel(port_out=o, port_in=i).values, float)))

    return CrossingFigures(wavelength_um=float(wavelength), insertion_loss_db=-10 * np.log10(at("o3", "o1")),
                           crosstalk=max(at("o2", "o1"), at("o4", "o1")), key=e.key)


def detector_figures(lib: Any, ge_length: float = 10.0, wavelength: float = 1.55,
                     collection_efficiency: float = 0.8) -> DetectorFigures:
    """The library Ge photodetector with ``ge_length`` [µm] at ``wavelength`` [µm] and its
    responsivity (module doc), once per Library."""
    key = ("detector_figures", float(ge_length), float(wavelength), float(collection_efficiency))
    return lib.memo(key, lambda: _detector_figures(lib, ge_length, wavelength, collection_efficiency))


def _detector_figures(lib: Any, ge_length: float, wavelength: float,
                      collection_efficiency: float) -> DetectorFigures:
    """The library Ge photodetector with ``ge_length`` [µm] at ``wavelength`` [µm], and the
    responsivity η_c·A·qλ/(hc) (module doc)."""
    import devices.photodetector as pd
    from devices.photodetector_electrical import quantum_limit

    if not 0 < collection_efficiency <= 1:
        raise SpecError(f"collection_efficiency = {collection_efficiency}: must be in (0, 1]. "
                        "Fix: electrons per absorbed photon, e.g. 0.8.")
    entries = lib.entries("photodetector")
    want = pd.PhotodetectorSpec(ge_length=ge_length)
    hits = [e for e in entries if e.device_spec == want]
    if not hits:
        have = sorted({float(e.device_spec.ge_length) for e in entries
                       if e.device_spec == pd.PhotodetectorSpec(ge_length=e.device_spec.ge_length)})
        raise CacheError(f"no photodetector entry with ge_length = {ge_length} um (other fields default) in the "
                         f"device library (have ge_length {have} um). Fix: set detector_ge_length to one of "
                         f"{have}, or add {ge_length} to the photodetector sweep in workflows/library.toml and run "
                         "`photoprop library build --devices photodetector`.")
    e = _best(hits)
    a = pd.absorbed(e)
    wl = np.asarray(a.wavelength.values, float)
    _in_band(wl, wavelength, "photodetector")
    frac = float(np.interp(wavelength, wl, np.asarray(a.values, float)))
    return DetectorFigures(wavelength_um=float(wavelength), ge_length_um=float(ge_length), absorbed_fraction=frac,
                           quantum_limit_a_per_w=float(quantum_limit(wavelength)),
                           collection_efficiency=float(collection_efficiency), key=e.key)
