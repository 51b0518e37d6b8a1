"""2×2 multimode interference (MMI) coupler: spec, FDTD layout and figures of merit.

A multimode section ``mmi_width`` × ``mmi_length``; four access guides meet it at
y = ±``port_offset`` through linear tapers (``width`` → ``taper_width`` over
``taper_length``) and are fanned out by S-bends to ``port_separation`` (so that each
port's mode monitor sees one guide only). Same port order as the directional coupler::

    o2 ─╮┌──────────────┐╭─ o3
        ╰┤              ├╯
        ╭┤   multimode  ├╮
    o1 ─╯└──────────────┘╰─ o4

General-interference self-imaging (Soldano & Pennings, J. Lightwave Technol. 13, 615
(1995)): with L_π = π / (β0 − β1) the beat length of the two lowest modes of the
multimode section, a single input forms two images of equal power in quadrature (90°
apart) at L = 3 L_π / 2 for any input offset. ``self_imaging_length`` computes that
length exactly from the 2D slab modes of the simulated material model (the
approximation L_π ≈ 4 n_r W_e² / 3λ is within ~1 % of it here); the default
``mmi_length`` is the FDTD optimum (best balance at 1.55 µm, 2D calibrated model at
30 px/µm), a little below the ideal-slab value because the tapers' and the finite
input's contributions shift the images.

Material model: the calibrated 2D model is fitted to a 500×220 nm strip; in the 2.5 µm
multimode section it is an extrapolation (its n_core ≈ 2.835 is close to the 220 nm
slab's 2.85, but the lateral step n_core/n_clad is larger than the real one).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from pydantic import model_validator

from pipeline.fdtd.layout import Layout, Mirror, Polygon, Port, Rect, sbend_polygon
from pipeline.specs import DeviceSpec, WavelengthBand, quantity

#: Scattering at the MMI ends: no unitarity check.
LOSSLESS = False


class MMISpec(DeviceSpec):
    """A symmetric 2×2 MMI coupler of Si in SiO2 (general interference, 3-dB length)."""

    device: ClassVar[str] = "mmi"
    width: float = quantity(0.5, "um", "core width of the access waveguides at the ports", gt=0.05, le=5.0)
    thickness: float = quantity(0.22, "um", "core (Si layer) thickness", gt=0.02, le=2.0)
    mmi_width: float = quantity(2.5, "um", "width of the multimode section", gt=0.5, le=20.0)
    mmi_length: float = quantity(23.0, "um", "length of the multimode section (FDTD balance point)", gt=0,
                                 le=500.0)
    port_offset: float = quantity(0.625, "um", "centre offset ±y of the access guides at the MMI (W/4)", gt=0)
    taper_width: float = quantity(1.0, "um", "access taper width where it meets the MMI", gt=0.05, le=5.0)
    taper_length: float = quantity(3.0, "um", "length of the linear access tapers", ge=0, le=100.0)
    port_separation: float = quantity(2.0, "um", "centre-to-centre distance of the guides at the ports", gt=0)
    bend_radius: float = quantity(5.0, "um", "radius of the fan-out S-bend arcs", ge=1.0, le=500.0)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of the S-matrix")

    @model_validator(mode="after")
    def _geometry(self) -> "MMISpec":
        if self.port_offset + 0.5 * self.taper_width > 0.5 * self.mmi_width:
            raise ValueError(f"port_offset = {self.port_offset} um puts the taper outside the MMI "
                             f"(mmi_width = {self.mmi_width} um). Fix: port_offset <= "
                             f"{0.5 * (self.mmi_width - self.taper_width):g}.")
        if self.port_offset <= 0.5 * self.taper_width:
            raise ValueError(f"port_offset = {self.port_offset} um: the two tapers overlap. "
                             f"Fix: port_offset > {0.5 * self.taper_width:g}.")
        if self.port_separation < 2 * self.port_offset:
            raise ValueError(f"port_separation = {self.port_separation} um is below 2 x port_offset. "
                             f"Fix: port_separation >= {2 * self.port_offset:g}.")
        dy = 0.5 * self.port_separation - self.port_offset
        if dy > 2 * self.bend_radius:
            raise ValueError(f"bend_radius = {self.bend_radius} um is too small for an offset of {dy:g} um. "
                             f"Fix: bend_radius >= {dy / 2:g}.")
        return self


#: The registry's name for this family's spec class.
Spec = MMISpec


def _taper(x_mmi: float, direction: int, y: float, spec: MMISpec) -> Polygon:
    """Linear taper from the MMI face at ``x_mmi`` outwards (``direction`` ±1)."""
    x1 = x_mmi + direction * spec.taper_length
    wt, w = spec.taper_width / 2, spec.width / 2
    pts = [(x_mmi - direction * 0.01, y - wt), (x1, y - w), (x1, y + w), (x_mmi - direction * 0.01, y + wt)]
    if direction < 0:
        pts = pts[::-1]
    return Polygon(vertices=tuple(pts))


def layout(spec: MMISpec) -> Layout:
    """Geometry and ports (pure data)."""
    half = spec.mmi_length / 2
    shapes: list[Any] = [Rect(0.0, 0.0, spec.mmi_length, spec.mmi_width)]
    dy = 0.5 * spec.port_separation - spec.port_offset
    xb = half + spec.taper_length  # where the tapers end and the S-bends start
    lb = 0.0
    for s in (-1, 1):
        y = s * spec.port_offset
        if spec.taper_length > 0:
            shapes += [_taper(half, 1, y, spec), _taper(-half, -1, y, spec)]
        if dy > 1e-9:
            right, lb = sbend_polygon(xb, y, s * dy, spec.bend_radius, spec.width)
            left, _ = sbend_polygon(-xb - lb, s * 0.5 * spec.port_separation, -s * dy, spec.bend_radius, spec.width)
            shapes += [right, left]
    xp, yp, w = xb + lb, 0.5 * spec.port_separation, spec.width
    ports = (Port("o1", -xp, -yp, "-x", w), Port("o2", -xp, yp, "-x", w),
             Port("o3", xp, yp, "+x", w), Port("o4", xp, -yp, "+x", w))
    ymax = max(yp + w / 2, spec.mmi_width / 2)
    return Layout(shapes=tuple(shapes), ports=ports, bbox=(-xp, xp, -ymax, ymax),
                  thickness=spec.thickness, core_width=w,
                  symmetries=(Mirror("y", 0.0, (("o1", "o2"), ("o4", "o3"))),
                              Mirror("x", 0.0, (("o1", "o4"), ("o2", "o3")))))


def self_imaging_length(mmi_width: float, wavelength: float, n_core: float, n_clad: float) -> dict[str, float]:
    """General-interference 3-dB length 3 L_π / 2 [µm] from the exact 2D slab modes (Hz) of the
    multimode section, and Soldano's approximation 4 n_r W_e² / 3λ with the TM-like
    (σ = 1, E in the plane ⟂ the side walls) effective width W_e."""
    from pipeline.fdtd import slab

    n0 = slab.slab_neff(wavelength, [(n_core, mmi_width / 2)], n_clad, even=True)
    n1 = slab.slab_neff(wavelength, [(n_core, mmi_width / 2)], n_clad, even=False)
    l_pi = wavelength / (2 * (n0 - n1))
    we = mmi_width + wavelength / math.pi * (n_clad / n_core) ** 2 / math.sqrt(n_core**2 - n_clad**2)
    return {"l_pi_um": l_pi, "length_3db_um": 1.5 * l_pi,
            "length_3db_soldano_um": 1.5 * 4 * n_core * we**2 / (3 * wavelength)}


def figures_of_merit(entry: Any, **_: Any) -> dict[str, Any]:
    """At the centre wavelength, input o1: ``imbalance_db`` = 10 log10(|S31|²/|S41|²),
    ``excess_loss_db`` = −10 log10(|S31|² + |S41|²), ``phase_difference_deg`` = arg(S31/S41)
    (self-imaging theory: ±90°), band worst cases, and the theoretical 3-dB length of the
    simulated 2D material model."""
    import numpy as np

    from pipeline.fdtd.simulate import centre_smatrix

    s_all = entry.smatrix
    c = centre_smatrix(s_all)
    s31, s41 = complex(c.sel(port_out="o3", port_in="o1")), complex(c.sel(port_out="o4", port_in="o1"))
    p31, p41 = abs(s31) ** 2, abs(s41) ** 2
    b31 = np.abs(s_all.sel(port_out="o3", port_in="o1").values) ** 2
    b41 = np.abs(s_all.sel(port_out="o4", port_in="o1").values) ** 2
    out: dict[str, Any] = {
        "imbalance_db": float(10 * np.log10(p31 / p41)),
        "excess_loss_db": float(-10 * np.log10(p31 + p41)),
        "phase_difference_deg": float(np.degrees(np.angle(s31 / s41))),
        "reflection_db": float(10 * np.log10(max(abs(complex(c.sel(port_out="o1", port_in="o1"))) ** 2, 1e-30))),
        "imbalance_max_db": float(np.max(np.abs(10 * np.log10(b31 / b41)))),
        "excess_loss_max_db": float(np.max(-10 * np.log10(b31 + b41))),
    }
    mm = entry.provenance.get("material_model", {})
    if "core_medium" in mm and "clad_medium" in mm:
        spec = entry.device_spec
        nc, nb = math.sqrt(mm["core_medium"]["eps_inf"]), math.sqrt(mm["clad_medium"]["eps_inf"])
        theory = self_imaging_length(spec.mmi_width, spec.band.center, nc, nb)
        out.update({f"theory_{k}": v for k, v in theory.items()})
    return out
