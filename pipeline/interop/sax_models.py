"""photoprop compact models and cached entries as SAX models.

A SAX model is a keyword-only function of ``wl`` (vacuum wavelength [µm], scalar or array)
and its parameters, every one with a default, returning an SDict ``{(p_a, p_b): S}``.

Conventions (checked against sax 0.18):

* **Port pairs.** SAX's key ``(p_a, p_b)`` is the amplitude *from* ``p_a`` *to* ``p_b``
  (``sax.sdense`` puts it at row ``p_a``, column ``p_b``); photoprop's container is
  ``S[port_out, port_in]``. So ``sdict[(a, b)] = S[port_out=b, port_in=a]``; every port pair
  is listed (reflections and the small non-reciprocity of FDTD entries included; no
  ``sax.reciprocal`` symmetrisation). Port names are photoprop's (``o1``..``o4``, gdsfactory
  order), so a SAX netlist uses ``"inst,o1"`` exactly as :mod:`pipeline.circuit.netlist`.
* **Time convention.** SAX's models are written for ``exp(−iωt)``: ``sax.models.straight``
  transmits ``exp(+i 2π n_eff L/λ)``, the phase advancing with length, as photoprop's
  (:mod:`pipeline.smatrix`, Meep's). The values are passed **unchanged** (no conjugation;
  the ``exp(+jωt)`` conjugation of :mod:`pipeline.touchstone` is for RF tools only).
* **Precision.** JAX computes in float32/complex64 unless ``jax_enable_x64`` is set; the
  models return complex128 numpy arrays, and :func:`compact_model` warns
  (:class:`~pipeline.errors.PhotopropWarning`) when x64 is off. Fix:
  ``jax.config.update("jax_enable_x64", True)`` before building circuits.
* The models evaluate photoprop's numpy compact models: call them (and ``sax.circuit``
  functions made of them) eagerly — not under ``jax.jit`` / ``jax.grad``. Parameters are
  scalars; ``wl`` may be any shape. Outside a model's validated range (wavelength band,
  swept offsets) they raise :class:`~pipeline.errors.ExtrapolationError`, naming the value
  and the range.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from pipeline.errors import PhotopropWarning, SpecError
from pipeline.smatrix import check_convention, interp_wavelength, make_smatrix, ports as port_names

#: default wavelength of every model [µm] (the library's band centre)
WL_DEFAULT = 1.55


# -- S-matrix <-> SDict ----------------------------------------------------------------------
def sdict_from_smatrix(s: xr.DataArray) -> dict[tuple[str, str], np.ndarray]:
    """SDict of a photoprop S-matrix (dims wavelength × port_out × port_in, no sweep dims):
    ``{(a, b): S[port_out=b, port_in=a]}`` over the wavelength axis, every port pair."""
    check_convention(s)
    extra = [d for d in s.dims if d not in ("wavelength", "port_out", "port_in")]
    if extra:
        raise SpecError(f"S-matrix has sweep dims {extra}; a SAX model is one device. Fix: select one point "
                        "with .sel()/.isel() first.")
    v = np.asarray(s.transpose("wavelength", "port_out", "port_in").values)
    names = port_names(s)
    return {(a, b): v[:, j, i] for i, a in enumerate(names) for j, b in enumerate(names)}


def smatrix_from_sdict(sdict: Mapping[tuple[str, str], Any], wavelength: Any,
                       ports: list[str] | None = None) -> xr.DataArray:
    """The photoprop S-matrix container of an SDict evaluated at ``wavelength`` [µm, 1-D
    ascending]; missing pairs are 0; ``ports`` (default: sorted names) sets the order."""
    wl = np.atleast_1d(np.asarray(wavelength, dtype=float))
    names = ports or sorted({p for pair in sdict for p in pair})
    s = np.zeros((wl.size, len(names), len(names)), complex)
    index = {p: k for k, p in enumerate(names)}
    for (a, b), val in sdict.items():
        if a not in index or b not in index:
            raise SpecError(f"SDict key {(a, b)!r}: port not in ports={names}. Fix: pass every port name.")
        s[:, index[b], index[a]] = np.broadcast_to(np.asarray(val, dtype=complex), wl.shape)
    return make_smatrix(s, wl, names, provenance={"source": "SDict"})


def _on_grid(wl: Any, evaluate: Callable[[np.ndarray], xr.DataArray]) -> dict[tuple[str, str], np.ndarray]:
    """Evaluate ``evaluate(sorted unique wavelengths)`` and return the SDict on ``wl``'s shape."""
    arr = np.asarray(wl, dtype=float)
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise SpecError(f"wl = {wl!r}: need finite vacuum wavelengths [µm], e.g. wl=1.55.")
    grid, inverse = np.unique(arr.ravel(), return_inverse=True)
    sd = sdict_from_smatrix(evaluate(grid))
    return {k: v[inverse].reshape(arr.shape) for k, v in sd.items()}


def _scalar(name: str, value: Any, unit: str) -> float:
    v = np.asarray(value, dtype=float)
    if v.ndim != 0 or not np.isfinite(v):
        raise SpecError(f"{name} = {value!r}: a photoprop SAX model takes one finite scalar {name} [{unit}] per "
                        "call. Fix: loop over the values (or build one instance per value).")
    return float(v)


def _check_x64() -> None:
    import jax

    if not jax.config.jax_enable_x64:
        warnings.warn("jax_enable_x64 is off: SAX will round photoprop's complex128 S-parameters to complex64 "
                      "(~1e-7). Fix: jax.config.update('jax_enable_x64', True) before sax.circuit.",
                      PhotopropWarning, stacklevel=3)


# -- compact models ----------------------------------------------------------------------------
def _coupler(m: Any) -> Callable[..., dict]:
    from devices.coupler_model import coupler

    def coupler_model(*, wl: Any = WL_DEFAULT, dw: float = 0.0, dt: float = 0.0,
                      coupling_length: float = float(m.nominal_length)) -> dict:
        """photoprop directional coupler (ports o1..o4): ``wl`` [µm], width / thickness
        offsets ``dw``, ``dt`` [µm], ``coupling_length`` [µm]."""
        kw = dict(dw=_scalar("dw", dw, "µm"), dt=_scalar("dt", dt, "µm"),
                  coupling_length=_scalar("coupling_length", coupling_length, "µm"))
        return _on_grid(wl, lambda g: coupler(wavelength=g, model=m, **kw))

    return coupler_model


def _offset(m: Any, family: str) -> Callable[..., dict]:
    from devices.offset_model import instances

    def offset_model(*, wl: Any = WL_DEFAULT, dw: float = 0.0, dt: float = 0.0) -> dict:
        """photoprop library device (ports o1..o4): ``wl`` [µm], offsets ``dw``, ``dt`` [µm]."""
        w, t = _scalar("dw", dw, "µm"), _scalar("dt", dt, "µm")
        return _on_grid(wl, lambda g: instances(m, g, w, t, family))

    offset_model.__name__ = f"{family}_model"
    return offset_model


def _waveguide(m: Any) -> Callable[..., dict]:
    from devices.waveguide_model import waveguide

    def waveguide_model(*, wl: Any = WL_DEFAULT, length: float = 10.0, dw: float = 0.0, dt: float = 0.0,
                        temperature_offset: float = 0.0,
                        loss_db_per_cm: float = float(m.spec.propagation_loss)) -> dict:
        """photoprop strip waveguide (ports o1, o2): ``wl`` [µm], ``length`` [µm], offsets
        ``dw``, ``dt`` [µm], ``temperature_offset`` [K], ``loss_db_per_cm`` [dB/cm]."""
        kw = dict(length=_scalar("length", length, "µm"), dw=_scalar("dw", dw, "µm"), dt=_scalar("dt", dt, "µm"),
                  temperature_offset=_scalar("temperature_offset", temperature_offset, "K"),
                  loss_db_per_cm=_scalar("loss_db_per_cm", loss_db_per_cm, "dB/cm"))
        return _on_grid(wl, lambda g: waveguide(wavelength=g, model=m, **kw))

    return waveguide_model


def _phase_shifter(m: Any) -> Callable[..., dict]:
    from devices.phase_shifter import phase_shifter

    def phase_shifter_model(*, wl: Any = WL_DEFAULT, power_w: float = 0.0,
                            loss_db: float = float(m.insertion_loss_db)) -> dict:
        """photoprop thermo-optic phase shifter (ports o1, o2): ``wl`` [µm], heater power
        ``power_w`` [W], insertion loss ``loss_db`` [dB]."""
        p, il = _scalar("power_w", power_w, "W"), _scalar("loss_db", loss_db, "dB")
        return _on_grid(wl, lambda g: phase_shifter(wavelength=g, power_w=p, loss_db=il, model=m).isel(power=0))

    return phase_shifter_model


def _photodetector(m: Any) -> Callable[..., dict]:
    def photodetector_model(*, wl: Any = WL_DEFAULT, ge_length: float = 10.0) -> dict:
        """photoprop Ge detector as a 2-port (o1 in, o2 out): |S[o2, o1]| = sqrt(1 − A(L, λ)),
        the un-absorbed power counted as transmitted (an upper bound; its phase is not
        modelled: 0), no reflection. ``ge_length`` [µm]. Responsivity:
        :func:`devices.photodetector_model.responsivity`."""
        length = _scalar("ge_length", ge_length, "µm")

        def evaluate(g: np.ndarray) -> xr.DataArray:
            t = np.sqrt(np.clip(1.0 - m.absorbed_fraction(ge_length=length, wavelength=g), 0.0, 1.0))
            s = np.zeros((g.size, 2, 2), complex)
            s[:, 1, 0] = s[:, 0, 1] = t
            return make_smatrix(s, g, ["o1", "o2"], provenance={"model": "devices.photodetector_model"})

        return _on_grid(wl, evaluate)

    return photodetector_model


def _pn_phase_shifter(m: Any) -> Callable[..., dict]:
    from devices.pn_phase_shifter_model import pn_phase_shifter

    def pn_phase_shifter_model(*, wl: Any = WL_DEFAULT, voltage: float = 0.0, doping_offset: float = 0.0,
                               junction_offset: float = 0.0, length: float = 1000.0,
                               propagation_loss: float = 2.0) -> dict:
        """photoprop carrier-depletion phase shifter (ports o1, o2): ``wl`` [µm], ``voltage``
        [V] (≤ 0), relative dose offset ``doping_offset``, ``junction_offset`` [µm], ``length``
        [µm], undoped ``propagation_loss`` [dB/cm]."""
        kw = dict(voltage=_scalar("voltage", voltage, "V"), doping_offset=_scalar("doping_offset", doping_offset, "1"),
                  junction_offset=_scalar("junction_offset", junction_offset, "µm"),
                  length=_scalar("length", length, "µm"),
                  propagation_loss=_scalar("propagation_loss", propagation_loss, "dB/cm"))
        return _on_grid(wl, lambda g: pn_phase_shifter(wavelength=g, model=m, **kw))

    return pn_phase_shifter_model


_BUILDERS: dict[str, Callable[[Any], Callable[..., dict]]] = {
    "coupler": _coupler, "crossing": lambda m: _offset(m, "crossing"), "mmi": lambda m: _offset(m, "mmi"),
    "waveguide": _waveguide, "phase_shifter": _phase_shifter, "photodetector": _photodetector,
    "pn_phase_shifter": _pn_phase_shifter,
}


def compact_model(name: str, library: Any = None) -> Callable[..., dict]:
    """The compact model of family ``name`` (one of ``pipeline.library.FAMILIES``) as a SAX
    model, read through ``library`` (a :class:`~pipeline.library.Library`; default: a new
    ``Library()``). Never simulates."""
    from pipeline.library import FAMILIES, Library

    if name not in FAMILIES:
        raise SpecError(f"compact model {name!r} is unknown. Fix: use one of {', '.join(FAMILIES)}.")
    if name not in _BUILDERS:
        raise SpecError(f"compact model {name!r} has no SAX adapter yet. Fix: add it to "
                        "pipeline.interop.sax_models._BUILDERS.")
    _check_x64()
    lib = library if library is not None else Library()
    return _BUILDERS[name](lib.model(name))


def compact_models(library: Any = None) -> dict[str, Callable[..., dict]]:
    """Every family of ``pipeline.library.FAMILIES`` as a SAX model: the ``models=`` of
    ``sax.circuit``."""
    from pipeline.library import FAMILIES, Library

    lib = library if library is not None else Library()
    return {name: compact_model(name, lib) for name in FAMILIES}


# -- cached entries and bare S-matrices ------------------------------------------------------------
def entry_model(entry: Any) -> Callable[..., dict]:
    """A cached entry (:class:`~pipeline.cache.CacheEntry`) or an S-matrix container as a SAX
    model of ``wl`` [µm] alone: magnitude and unwrapped phase interpolated linearly over the
    simulated band (:func:`pipeline.smatrix.interp_wavelength`); outside it
    :class:`~pipeline.errors.ExtrapolationError`."""
    s = entry.smatrix if hasattr(entry, "smatrix") else entry
    sdict_from_smatrix(s)  # validates: convention, no sweep dims
    centre = float(np.mean(s.wavelength.values[[0, -1]]))
    label = getattr(entry, "key", None)

    def cached_entry_model(*, wl: Any = centre) -> dict:
        """Cached S-matrix (entry ``label``) interpolated at ``wl`` [µm]."""
        return _on_grid(wl, lambda g: interp_wavelength(s, g))

    cached_entry_model.__doc__ = f"Cached S-matrix {label[:12] if label else ''} interpolated at ``wl`` [µm]."
    return cached_entry_model


def netlist_models(netlist: Any) -> tuple[dict[str, Any], dict[str, Callable[..., dict]]]:
    """A :class:`pipeline.circuit.Netlist` (instances are S-matrices) as a SAX netlist and its
    models (each instance an :func:`entry_model`): ``sax.circuit(*netlist_models(n))``."""
    netlist.validate()
    models = {name: entry_model(s) for name, s in netlist.instances.items()}
    sax_netlist = {"instances": {name: name for name in netlist.instances},
                   "connections": {a: b for a, b in netlist.connections},
                   "ports": dict(netlist.ports)}
    return sax_netlist, models


def smatrix(name: str, wavelength: Any = WL_DEFAULT, library: Any = None, **params: Any) -> xr.DataArray:
    """The photoprop S-matrix container (wavelength × port_out × port_in) of compact model
    ``name`` at ``wavelength`` [µm] with the SAX model's scalar ``params`` — the same numbers
    as :func:`compact_model`, without JAX (used by :mod:`pipeline.interop.skrf_networks`)."""
    from pipeline.library import FAMILIES, Library

    if name not in _BUILDERS:
        raise SpecError(f"compact model {name!r} is unknown. Fix: use one of {', '.join(FAMILIES)}.")
    lib = library if library is not None else Library()
    grid = np.unique(np.atleast_1d(np.asarray(wavelength, dtype=float)))
    sd = _BUILDERS[name](lib.model(name))(wl=grid, **params)
    names = sorted({p for pair in sd for p in pair})
    return smatrix_from_sdict(sd, grid, names)
