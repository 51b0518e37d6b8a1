"""photoprop S-matrices, compact models and cached entries as scikit-rf objects.

* :func:`network` — an S-matrix container as an ``skrf.Network``: frequency f = c/λ [Hz]
  in ascending order, ``port_names`` the photoprop ports (``o1``..), ``s[f, i, j]`` =
  ``S[port_out=i, port_in=j]`` (Touchstone's and scikit-rf's ``S_ij``: out of port i for a
  wave into port j — the same order as photoprop's).
* **z0 = 50 Ω, nominal.** photoprop's amplitudes are mode amplitudes normalised to unit
  power; scikit-rf needs a reference impedance. Any real, equal z0 on every port makes its
  power-wave S-parameters exactly those amplitudes, and connecting equal-z0 ports is then
  the plain amplitude identity a_in = b_out that :mod:`pipeline.circuit.netlist` uses. Do
  not renormalise (``Network.renormalize``) to other values: that has no optical meaning.
* **Time convention.** As :mod:`pipeline.touchstone`: by default the values stay in
  photoprop's ``exp(−iωt)``; ``time_convention="exp(+jwt)"`` conjugates them for tools that
  assume the RF convention. (Composition commutes with conjugation, so a circuit agrees
  either way once read back with the same convention.)
* Touchstone files: :func:`write_touchstone` / :func:`read_touchstone` are
  :func:`pipeline.touchstone.export_touchstone` / ``import_touchstone`` (one writer).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from pipeline.errors import ConventionError, SpecError
from pipeline.smatrix import TIME_CONVENTION, check_convention, make_smatrix, ports as port_names
from pipeline.touchstone import C_UM_HZ, export_touchstone, import_touchstone

#: nominal reference impedance of every port [Ω] (see the module doc)
Z0_OHM = 50.0
_CONJUGATE = {"exp(-iwt)": False, "exp(+jwt)": True}


def _conjugate(time_convention: str) -> bool:
    if time_convention not in _CONJUGATE:
        raise ConventionError(f"time_convention = {time_convention!r} is unknown. Fix: use one of {list(_CONJUGATE)}.")
    return _CONJUGATE[time_convention]


def network(s: xr.DataArray, *, name: str | None = None, time_convention: str = TIME_CONVENTION) -> Any:
    """``skrf.Network`` of one S-matrix container (dims wavelength × port_out × port_in)."""
    import skrf

    check_convention(s)
    extra = [d for d in s.dims if d not in ("wavelength", "port_out", "port_in")]
    if extra:
        raise SpecError(f"an skrf.Network holds one device; the S-matrix has sweep dims {extra}. "
                        "Fix: select one point with .sel()/.isel().")
    wl = np.asarray(s.wavelength.values, dtype=float)
    order = np.argsort(C_UM_HZ / wl)
    values = np.asarray(s.transpose("wavelength", "port_out", "port_in").values)[order]
    if _conjugate(time_convention):
        values = np.conj(values)
    freq = skrf.Frequency.from_f((C_UM_HZ / wl)[order], unit="hz")
    net = skrf.Network(frequency=freq, s=values, z0=Z0_OHM, name=name or str(s.name or "S"))
    net.port_names = port_names(s)
    return net


def smatrix_from_network(net: Any, *, time_convention: str = TIME_CONVENTION) -> xr.DataArray:
    """The photoprop container (wavelength ascending, ``exp(−iωt)``) of an ``skrf.Network``
    whose values are in ``time_convention``; its z0 must be real and equal on all ports."""
    z0 = np.asarray(net.z0)
    if np.any(np.abs(z0 - z0.flat[0]) > 1e-9 * abs(z0.flat[0])) or np.any(np.abs(np.imag(z0)) > 0):
        raise ConventionError(f"network {net.name!r} has z0 {np.unique(z0)} Ω: unequal or complex reference "
                              "impedances are not optical mode amplitudes. Fix: use one real z0 on every port.")
    values = np.asarray(net.s)
    if _conjugate(time_convention):
        values = np.conj(values)
    wl = C_UM_HZ / np.asarray(net.f, dtype=float)
    order = np.argsort(wl)
    names = (list(net.port_names) if net.port_names and len(net.port_names) == net.nports
             else [f"o{i + 1}" for i in range(net.nports)])
    return make_smatrix(values[order], wl[order], names, provenance={"source": f"skrf.Network {net.name}"})


def entry_network(entry: Any, wavelength: Any = None, **kw: Any) -> Any:
    """A cached entry (or S-matrix) as an ``skrf.Network``: on its own wavelength grid, or
    interpolated at ``wavelength`` [µm] inside its band (else ExtrapolationError)."""
    from pipeline.smatrix import interp_wavelength

    s = entry.smatrix if hasattr(entry, "smatrix") else entry
    if wavelength is not None:
        s = interp_wavelength(s, np.unique(np.asarray(wavelength, dtype=float)))
    return network(s, name=kw.pop("name", (getattr(entry, "key", "") or "")[:12] or None), **kw)


def compact_model_network(name: str, wavelength: Any, library: Any = None, *,
                          time_convention: str = TIME_CONVENTION, **params: Any) -> Any:
    """Compact model ``name`` (a ``pipeline.library.FAMILIES`` name) at ``wavelength`` [µm]
    with scalar ``params`` (those of its SAX model) as an ``skrf.Network``."""
    from pipeline.interop.sax_models import smatrix

    return network(smatrix(name, wavelength, library, **params), name=name, time_convention=time_convention)


def circuit(netlist: Any, *, time_convention: str = TIME_CONVENTION) -> Any:
    """A :class:`pipeline.circuit.Netlist` as an ``skrf.circuit.Circuit``: each instance a
    :func:`network`, each connection a two-port node, each circuit port an
    ``Circuit.Port`` (z0 = 50 Ω)."""
    from skrf.circuit import Circuit

    netlist.validate()
    nets = {k: network(s, name=k, time_convention=time_convention) for k, s in netlist.instances.items()}

    def node(ref: str) -> tuple[Any, int]:
        inst, port = ref.split(",")
        return nets[inst], list(nets[inst].port_names).index(port)

    freq = next(iter(nets.values())).frequency
    connections = [[(Circuit.Port(freq, ext, z0=Z0_OHM), 0), node(ref)] for ext, ref in netlist.ports.items()]
    connections += [[node(a), node(b)] for a, b in netlist.connections]
    return Circuit(connections)


def circuit_smatrix(netlist: Any, *, time_convention: str = TIME_CONVENTION) -> xr.DataArray:
    """The composed S-matrix of ``netlist`` computed by scikit-rf (:func:`circuit`), ports in
    ``netlist.ports`` order, back in photoprop's container and ``exp(−iωt)``."""
    from itertools import chain

    circ = circuit(netlist, time_convention=time_convention)
    # scikit-rf numbers the external ports in their order of appearance in the connections
    names = [ntw.name for ntw, _ in chain.from_iterable(circ.connections) if circ._is_port(ntw)]
    if sorted(names) != sorted(netlist.ports):
        raise ConventionError(f"scikit-rf found the circuit ports {names}, expected {list(netlist.ports)}.")
    net = circ.network.subnetwork([names.index(p) for p in netlist.ports])
    net.port_names = list(netlist.ports)
    return smatrix_from_network(net, time_convention=time_convention)


def write_touchstone(s: xr.DataArray, path: Any, **kw: Any) -> Any:
    """:func:`pipeline.touchstone.export_touchstone` (the one Touchstone writer)."""
    return export_touchstone(s, path, **kw)


def read_touchstone(path: Any, **kw: Any) -> xr.DataArray:
    """:func:`pipeline.touchstone.import_touchstone` (header decides the convention)."""
    return import_touchstone(path, **kw)
