"""Touchstone (``.sNp``) exchange through scikit-rf.

Touchstone has no field for the time convention; RF tools assume ``exp(+jωt)``.
photoprop writes its convention into the file's comment header and by default keeps
its own ``exp(-iωt)`` values; ``time_convention="exp(+jwt)"`` writes the complex
conjugate for tools that expect the engineering convention. On import, the header
comment decides; a foreign file without one must be told its convention.

Port order: Touchstone's ``S_ij`` is "out of port i for a wave into port j", the
same as ``S[port_out=i, port_in=j]``; port names travel as ``! Port[k] = name``.
Frequencies are written in Hz, f = c / λ, in ascending frequency order.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import xarray as xr

from pipeline.errors import ConventionError, SpecError
from pipeline.smatrix import TIME_CONVENTION, check_convention, make_smatrix, ports

C_UM_HZ = 299_792_458.0e6  # speed of light [µm/s]
_CONVENTIONS = {"exp(-iwt)": False, "exp(+jwt)": True}  # value: conjugate?
_HEADER = re.compile(r"photoprop time_convention:\s*(\S+)")


def export_touchstone(s: xr.DataArray, path: Path | str, *, time_convention: str = TIME_CONVENTION) -> Path:
    """Write a single S-matrix (no sweep dims) to ``path`` (suffix ``.sNp`` added if absent)."""
    import skrf

    check_convention(s)
    if time_convention not in _CONVENTIONS:
        raise SpecError(f"time_convention={time_convention!r} is unknown. Fix: use one of {list(_CONVENTIONS)}.")
    extra = [d for d in s.dims if d not in ("wavelength", "port_out", "port_in")]
    if extra:
        raise SpecError(f"Touchstone holds one device; the S-matrix has sweep dims {extra}. Fix: select one point with .sel().")
    names = ports(s)
    n = len(names)
    path = Path(path)
    if path.suffix.lower() != f".s{n}p":
        path = path.with_name(path.name + f".s{n}p") if not path.suffix else path
    if path.suffix.lower() != f".s{n}p":
        raise SpecError(f"output file {path.name!r} has suffix {path.suffix!r}; a {n}-port S-matrix needs '.s{n}p'.")
    wl = np.asarray(s.wavelength.values)
    order = np.argsort(C_UM_HZ / wl)
    values = np.asarray(s.transpose("wavelength", "port_out", "port_in").values)[order]
    if _CONVENTIONS[time_convention]:
        values = np.conj(values)
    freq = skrf.Frequency.from_f((C_UM_HZ / wl)[order], unit="hz")
    net = skrf.Network(frequency=freq, s=values, z0=50.0)
    net.port_names = names
    meta = {k: s.attrs.get(k, "") for k in ("reference_planes", "provenance")}
    net.comments = "\n".join(
        [
            f"photoprop time_convention: {time_convention}",
            "photoprop convention: S[port_out, port_in] (Touchstone S_ij: out of port i, into port j)",
            "photoprop amplitudes: normalised to unit mode power; z0 is nominal",
            f"photoprop reference_planes_um: {meta['reference_planes']}",
            f"photoprop provenance: {meta['provenance']}",
        ]
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    net.write_touchstone(str(path.with_suffix("")), form="ri")
    written = path.with_suffix(f".s{n}p")
    if written != path:
        written.replace(path)
    return path


def import_touchstone(path: Path | str, *, time_convention: str | None = None) -> xr.DataArray:
    """Read an ``.sNp`` file into the S-matrix container (``exp(-iωt)``).

    ``time_convention`` is taken from photoprop's header comment; a foreign file
    without it needs ``time_convention="exp(+jwt)"`` (RF tools) or ``"exp(-iwt)"``.
    """
    import skrf

    path = Path(path)
    if not path.is_file():
        raise SpecError(f"Touchstone file {path} does not exist.")
    net = skrf.Network(str(path))
    header = _HEADER.search(net.comments or "")
    stored = header.group(1) if header else None
    if stored is not None and time_convention is not None and stored != time_convention:
        raise ConventionError(f"{path}: header says {stored}, caller says {time_convention}. Fix: drop the argument.")
    convention = stored or time_convention
    if convention is None:
        raise ConventionError(
            f"{path}: no 'photoprop time_convention' comment, so the sign of the phases is unknown. "
            "Fix: pass time_convention='exp(+jwt)' (RF tools) or 'exp(-iwt)' (Meep, photoprop)."
        )
    if convention not in _CONVENTIONS:
        raise ConventionError(f"{path}: time convention {convention!r} unknown; expected one of {list(_CONVENTIONS)}.")
    values = np.asarray(net.s)
    if _CONVENTIONS[convention]:
        values = np.conj(values)
    wl = C_UM_HZ / np.asarray(net.f)
    order = np.argsort(wl)
    names = list(net.port_names) if net.port_names and len(net.port_names) == net.nports else [f"o{i+1}" for i in range(net.nports)]
    planes_m = re.search(r"photoprop reference_planes_um:\s*(\{.*\})", net.comments or "")
    prov_m = re.search(r"photoprop provenance:\s*(\{.*\})", net.comments or "")
    planes = json.loads(planes_m.group(1)) if planes_m else {}
    prov = json.loads(prov_m.group(1)) if prov_m else {"source": str(path.name)}
    return make_smatrix(values[order], wl[order], names, reference_planes=planes, provenance=prov)
