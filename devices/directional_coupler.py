"""2×2 directional coupler: spec, FDTD layout and figures of merit.

Two identical strips, ``gap`` apart over a straight section of ``coupling_length``,
fanned out by S-bends (two circular arcs of ``bend_radius``) to ``port_separation``.

Ports (gdsfactory order, counter-clockwise from bottom-left)::

    o2 ──╮                 ╭── o3
          ╰──────────────╯
          ╭──────────────╮          (gap between the straight sections)
    o1 ──╯                 ╰── o4

o1/o2 face −x, o3/o4 face +x. Light entering o1 leaves at o4 (bar) or o3 (cross).
Mirrors: y = 0 (o1↔o2, o3↔o4) and x = 0 (o1↔o4, o2↔o3), so one run from o1 gives the
whole S-matrix (TE0 everywhere: all signs +1, see :mod:`pipeline.fdtd.layout`).

Figures of merit: ``power_coupling`` = |S[o3, o1]|² at the centre wavelength and
``coupling_length_um`` — the length of straight section for full transfer, L_c = π/Δβ,
measured by FDTD from this entry and a companion entry whose straight section is
``LC_DELTA`` µm longer (the bends' contribution cancels; :mod:`pipeline.fdtd.coupling`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import model_validator

from pipeline.errors import SpecError
from pipeline.fdtd.layout import Layout, Mirror, Port, Rect, sbend_polygon
from pipeline.specs import DeviceSpec, WavelengthBand, quantity

#: Bends radiate a little: no unitarity check.
LOSSLESS = False
#: Extra straight length [µm] of the companion simulation used for coupling_length_um.
LC_DELTA = 10.0


class DirectionalCouplerSpec(DeviceSpec):
    """A symmetric 2×2 directional coupler of Si strips in SiO2."""

    device: ClassVar[str] = "directional_coupler"
    width: float = quantity(0.5, "um", "core width of both guides", gt=0.05, le=5.0)
    thickness: float = quantity(0.22, "um", "core (Si layer) thickness", gt=0.02, le=2.0)
    gap: float = quantity(0.2, "um", "edge-to-edge gap in the straight section", gt=0.02, le=3.0)
    coupling_length: float = quantity(10.0, "um", "length of the straight coupling section", ge=0, le=2000.0)
    bend_radius: float = quantity(5.0, "um", "radius of the S-bend arcs", ge=1.0, le=500.0)
    port_separation: float = quantity(2.0, "um", "centre-to-centre distance of the guides at the ports", gt=0)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of the S-matrix")

    @model_validator(mode="after")
    def _geometry(self) -> "DirectionalCouplerSpec":
        pitch = self.width + self.gap
        if self.port_separation <= pitch:
            raise ValueError(
                f"port_separation = {self.port_separation} um must exceed width + gap = {pitch:g} um "
                f"(the S-bends fan the guides out). Fix: set port_separation >= {pitch + 1:g}."
            )
        dy = 0.5 * (self.port_separation - pitch)
        if dy > 2 * self.bend_radius:
            raise ValueError(
                f"bend_radius = {self.bend_radius} um is too small for an S-bend offset of {dy:g} um. "
                f"Fix: set bend_radius >= {dy / 2:g} or reduce port_separation."
            )
        return self


#: The registry's name for this family's spec class.
Spec = DirectionalCouplerSpec


def layout(spec: DirectionalCouplerSpec) -> Layout:
    """Geometry and ports (pure data)."""
    w, half_l = spec.width, spec.coupling_length / 2
    yc = 0.5 * (spec.width + spec.gap)
    dy = 0.5 * spec.port_separation - yc
    shapes: list[Any] = []
    if spec.coupling_length > 0:
        shapes += [Rect(0.0, s * yc, spec.coupling_length, w) for s in (-1, 1)]
    _, lb = sbend_polygon(0.0, 0.0, dy, spec.bend_radius, w)
    for s in (-1, 1):
        right, _ = sbend_polygon(half_l, s * yc, s * dy, spec.bend_radius, w)
        left, _ = sbend_polygon(-half_l - lb, s * (yc + dy), -s * dy, spec.bend_radius, w)
        shapes += [right, left]
    xp, yp = half_l + lb, 0.5 * spec.port_separation
    ports = (Port("o1", -xp, -yp, "-x", w), Port("o2", -xp, yp, "-x", w),
             Port("o3", xp, yp, "+x", w), Port("o4", xp, -yp, "+x", w))
    return Layout(shapes=tuple(shapes), ports=ports, bbox=(-xp, xp, -yp - w / 2, yp + w / 2),
                  thickness=spec.thickness, core_width=w,
                  symmetries=(Mirror("y", 0.0, (("o1", "o2"), ("o4", "o3"))),
                              Mirror("x", 0.0, (("o1", "o4"), ("o2", "o3")))))


def companions(spec: DirectionalCouplerSpec) -> dict[str, DirectionalCouplerSpec]:
    """The entries :func:`figures_of_merit` can use besides its own: ``longer``, the same
    coupler with a straight section ``LC_DELTA`` µm longer (for ``coupling_length_um``)."""
    return {"longer": DirectionalCouplerSpec(**{**spec.model_dump(), "coupling_length": spec.coupling_length + LC_DELTA})}


def figures_of_merit(entry: Any, *, companions: Mapping[str, Any] | None = None, **_: Any) -> dict[str, Any]:
    """``power_coupling`` (cross, |S[o3,o1]|² at the centre λ), ``excess_loss_db``
    (−10 log10(|S31|² + |S41|²) at the centre λ) and, when ``companions`` holds the
    ``longer`` entry (:func:`companions`), ``coupling_length_um`` from FDTD.  Pure: reads
    only the entries it is given."""
    import numpy as np

    from pipeline.fdtd.coupling import coupling_length
    from pipeline.fdtd.simulate import centre_smatrix

    s = centre_smatrix(entry.smatrix)
    out: dict[str, Any] = {
        "power_coupling": float(np.abs(s.sel(port_out="o3", port_in="o1")) ** 2),
        "power_bar": float(np.abs(s.sel(port_out="o4", port_in="o1")) ** 2),
    }
    out["excess_loss_db"] = float(-10 * np.log10(out["power_coupling"] + out["power_bar"]))
    other = (companions or {}).get("longer")
    if other is not None:
        spec = entry.device_spec
        if other.device_spec.coupling_length - spec.coupling_length <= 0:
            raise SpecError(f"companion 'longer' has coupling_length = {other.device_spec.coupling_length} um, not "
                            f"more than this entry's {spec.coupling_length} um. Fix: pass the entry of "
                            "companions(spec)['longer'].")
        lc = coupling_length(entry.smatrix, spec.coupling_length, other.smatrix, other.device_spec.coupling_length)
        wl = np.asarray(entry.smatrix.wavelength.values)
        k = int(np.argmin(np.abs(wl - spec.band.center)))
        out["coupling_length_um"] = float(lc[k])
        out["coupling_length_wavelength_um"] = float(wl[k])
        out["companion_key"] = other.key
    return out
