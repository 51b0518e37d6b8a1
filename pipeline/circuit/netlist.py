"""General circuit composition by the connection-matrix method (any topology, reflections
and loops included).

With all instances' S-matrices stacked block-diagonally, outgoing waves b = S a; ports
split into external (e) and internal (i) ones, internal ports joined in pairs by the
permutation Γ (a_i = Γ b_i). Eliminating the internal waves:

    S_circuit = S_ee + S_ei (I − Γ S_ii)⁻¹ Γ S_ie

solved per wavelength (and sweep point) with one batched linear solve.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from pipeline.errors import SpecError
from pipeline.smatrix import check_convention, make_smatrix


@dataclass(frozen=True)
class Netlist:
    """Instances (name → S-matrix container), connections and the circuit's ports.

    ``connections``: pairs ``("inst,port", "inst,port")``. ``ports``: circuit port name →
    ``"inst,port"``, in the order of the composed matrix.
    """

    instances: Mapping[str, xr.DataArray]
    connections: Sequence[tuple[str, str]]
    ports: Mapping[str, str]
    provenance: Mapping[str, object] = field(default_factory=dict)

    def validate(self) -> list[str]:
        """All instance ports as ``"inst,port"``, after checking that every one is used once."""
        all_ports: list[str] = []
        for name, s in self.instances.items():
            check_convention(s)
            all_ports += [f"{name},{p}" for p in s.port_in.values]
        used: dict[str, str] = {}
        for a, b in self.connections:
            for p in (a, b):
                if p not in all_ports:
                    raise SpecError(f"connection {a!r}–{b!r}: no instance port {p!r}. Fix: use one of {all_ports}.")
                if p in used:
                    raise SpecError(f"instance port {p!r} is used twice ({used[p]} and the connection {a!r}–{b!r}).")
                used[p] = f"connection {a!r}–{b!r}"
        for ext, p in self.ports.items():
            if p not in all_ports:
                raise SpecError(f"circuit port {ext!r} → {p!r}: no such instance port. Fix: use one of {all_ports}.")
            if p in used:
                raise SpecError(f"instance port {p!r} is used twice ({used[p]} and circuit port {ext!r}).")
            used[p] = f"circuit port {ext!r}"
        dangling = [p for p in all_ports if p not in used]
        if dangling:
            raise SpecError(f"instance ports {dangling} are neither connected nor circuit ports. "
                            "Fix: connect them or expose them in `ports` (a terminated port: connect a load).")
        return all_ports


def compose(netlist: Netlist) -> xr.DataArray:
    """The circuit's S-matrix over the instances' common wavelength grid."""
    all_ports = netlist.validate()
    names = list(netlist.instances)
    first = netlist.instances[names[0]]
    wl = first.wavelength.values
    lead_dims = tuple(d for d in first.dims if d not in ("wavelength", "port_out", "port_in"))
    for n in names[1:]:
        s = netlist.instances[n]
        if not np.array_equal(s.wavelength.values, wl):
            raise SpecError(f"instance {n!r} has a different wavelength grid from {names[0]!r}. "
                            "Fix: interpolate all instances to one grid (pipeline.smatrix.interp_wavelength).")
        if tuple(d for d in s.dims if d not in ("wavelength", "port_out", "port_in")) != lead_dims:
            raise SpecError(f"instance {n!r} has sweep dims different from {names[0]!r}.")
    index = {p: k for k, p in enumerate(all_ports)}
    n = len(all_ports)
    shape = first.shape[:-2]
    big = np.zeros(shape + (n, n), complex)
    offset = 0
    for name in names:
        s = netlist.instances[name]
        m = s.sizes["port_in"]
        big[..., offset:offset + m, offset:offset + m] = s.transpose(*lead_dims, "wavelength", "port_out", "port_in").values
        offset += m
    ext = [index[p] for p in netlist.ports.values()]
    internal = [index[p] for pair in netlist.connections for p in pair]
    pos = {g: k for k, g in enumerate(internal)}
    gamma = np.zeros((len(internal), len(internal)))
    for a, b in netlist.connections:
        gamma[pos[index[a]], pos[index[b]]] = gamma[pos[index[b]], pos[index[a]]] = 1.0
    s_ee = big[..., ext, :][..., :, ext]
    if internal:
        s_ei = big[..., ext, :][..., :, internal]
        s_ie = big[..., internal, :][..., :, ext]
        s_ii = big[..., internal, :][..., :, internal]
        lhs = np.eye(len(internal)) - gamma @ s_ii
        cond = np.linalg.cond(lhs)
        if np.any(~np.isfinite(cond)) or np.any(cond > 1e12):
            raise SpecError("the circuit has a lossless resonance at a simulated wavelength "
                            "(I − ΓS_ii is singular); add loss or change the loop lengths.")
        s_ee = s_ee + s_ei @ np.linalg.solve(lhs, gamma @ s_ie)
    sweep = {d: first[d].values for d in lead_dims}
    return make_smatrix(s_ee, wl, list(netlist.ports), sweep=sweep or None,
                        provenance={"composed_from": names, **dict(netlist.provenance)})
