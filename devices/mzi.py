"""Whole Mach–Zehnder interferometer in ONE FDTD cell: the check of the composed MZI.

Geometry: the shipped 3-dB directional coupler (:mod:`devices.directional_coupler`, gap
0.2 µm, straight length 16.5 µm) – two straight arms of ``arm_length`` at
y = ±``port_separation``/2 – the same coupler. A straight section of ``heated_length``,
centred in the upper arm, has its core index raised by ``delta_n_core`` (named medium
``"heated"``): what a thermo-optic heater does to the core, ΔT = Δn / (1.86e-4 /K)
(Si dn/dT, Cocorullo & Rendina, Electron. Lett. 28, 83 (1992)). Both arms have the same
length, so the phase difference between them is that of the heated section only.

Ports (as the coupler's)::

    o2 ──╮        ╭─[heated]─╮        ╭── o3
          ╰──────╯            ╰──────╯
          ╭──────╮            ╭──────╮
    o1 ──╯        ╰──────────╯        ╰── o4

Light entering o1 leaves at o3 ("cross") or o4 ("bar"). With no heating two 3-dB
couplers send it to o3; a phase difference π sends it to o4. Mirror: x = 0 (o1↔o4,
o2↔o3; the heated section is centred). The y mirror is broken by the heater, so two
source ports (o1, o2) are run.

The heated medium. The 2D engine uses the calibrated effective core medium
(:mod:`pipeline.fdtd.material2d`, constant index at the band centre). ``layout(spec)``
obtains that medium exactly as the engine does for the default :class:`Meep2DSpec`
(``pipeline.fdtd.simulate.media_for``, one ~30 s MPB calibration per process, memoised)
and declares ``"heated"`` with n = n_core + ``delta_n_core``. Solver specs with other
calibration settings need ``layout(spec, core=<their core medium>)``; the composition
(:mod:`pipeline.circuit.mzi`) reads the media each entry actually used from its
provenance, so a mismatch shows up there.

Figures of merit: cross/bar power from o1 at the centre λ, extinction, excess loss, the
predicted arm phase difference (exact 2D slab modes) and, when the coupler entry is
available, the largest |Δ|S|²| against the composed MZI.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import model_validator

from devices import directional_coupler as dc
from pipeline.fdtd.layout import Layout, Mirror, Polygon, Port, Rect
from pipeline.specs import DeviceSpec, WavelengthBand, quantity

#: Bends radiate a little: no unitarity check.
LOSSLESS = False
#: Thermo-optic coefficient of Si [1/K] (Cocorullo & Rendina 1992), for the equivalent ΔT.
DN_DT_SI = 1.86e-4
#: Fields shared with (and passed on to) the coupler spec.
COUPLER_FIELDS = ("width", "thickness", "gap", "coupling_length", "bend_radius", "port_separation", "band")


class MZISpec(DeviceSpec):
    """A balanced MZI: 3-dB coupler, two arms (upper one partly heated), 3-dB coupler."""

    device: ClassVar[str] = "mzi"
    width: float = quantity(0.5, "um", "core width of every guide", gt=0.05, le=5.0)
    thickness: float = quantity(0.22, "um", "core (Si layer) thickness", gt=0.02, le=2.0)
    gap: float = quantity(0.2, "um", "coupler gap (edge to edge) of both couplers", gt=0.02, le=3.0)
    coupling_length: float = quantity(16.5, "um", "straight coupling length of both couplers (3 dB at 16.5)",
                                      ge=0, le=2000.0)
    bend_radius: float = quantity(5.0, "um", "radius of the couplers' S-bend arcs", ge=1.0, le=500.0)
    port_separation: float = quantity(2.0, "um", "centre-to-centre distance of the two arms (and of the ports)",
                                      gt=0)
    arm_length: float = quantity(12.0, "um", "length of each straight arm between the couplers' port planes",
                                 gt=0, le=2000.0)
    heated_length: float = quantity(10.0, "um", "length of the heated section, centred in the upper arm",
                                    gt=0, le=2000.0)
    delta_n_core: float = quantity(0.0, "1", "core index rise of the heated section (ΔT = Δn / 1.86e-4 K)",
                                   ge=-0.3, le=0.3)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of the S-matrix")

    @model_validator(mode="after")
    def _geometry(self) -> "MZISpec":
        if self.heated_length > self.arm_length:
            raise ValueError(
                f"heated_length = {self.heated_length} um exceeds arm_length = {self.arm_length} um "
                f"(the heater sits inside the arm). Fix: set heated_length <= {self.arm_length} "
                f"or arm_length >= {self.heated_length}."
            )
        self.coupler_spec()  # the couplers' own geometry checks (port_separation, bend_radius)
        return self

    def coupler_spec(self) -> dc.DirectionalCouplerSpec:
        """The spec of each of the two (identical) couplers — the library entry to compose."""
        return dc.DirectionalCouplerSpec(**{k: getattr(self, k) for k in COUPLER_FIELDS})

    @property
    def equivalent_delta_t_k(self) -> float:
        """Temperature rise [K] of Si that gives ``delta_n_core`` (first order, dn/dT of Si)."""
        return self.delta_n_core / DN_DT_SI


#: The registry's name for this family's spec class.
Spec = MZISpec


def coupler_length(spec: MZISpec) -> float:
    """Length along x [µm] of one coupler between its port planes (straight part + 2 S-bends)."""
    lay = dc.layout(spec.coupler_spec())
    return lay.bbox[1] - lay.bbox[0]


def _shift(shape: Rect | Polygon, dx: float) -> Rect | Polygon:
    if isinstance(shape, Rect):
        return Rect(shape.x + dx, shape.y, shape.sx, shape.sy, shape.material)
    return Polygon(tuple((x + dx, y) for x, y in shape.vertices), shape.material)


def default_core_medium(spec: MZISpec) -> Any:
    """The core medium the engine uses for this geometry with the default Meep2DSpec
    (``pipeline.fdtd.simulate.media_for``; runs / reuses the MPB calibration)."""
    from pipeline.fdtd.simulate import media_for
    from pipeline.fdtd.specs import Meep2DSpec

    wl = spec.band.wavelengths()
    media, _ = media_for(Meep2DSpec(), dc.layout(spec.coupler_spec()), (wl[0], wl[-1]))
    return media["core"]


def heated_medium(core: Any, delta_n: float) -> Any:
    """``core`` with its index raised by ``delta_n`` (constant-index media only)."""
    from pipeline.errors import SpecError
    from pipeline.fdtd.material2d import Medium

    if core.sigma != 0 or core.d_conductivity != 0:
        raise SpecError("the MZI's heated medium needs a constant-index core medium (Meep2DSpec dispersive = "
                        "False). Fix: use the default solver spec or pass layout(spec, core=...) by hand.")
    return Medium(eps_inf=(math.sqrt(core.eps_inf) + delta_n) ** 2)


def layout(spec: MZISpec, *, core: Any = None) -> Layout:
    """Geometry, ports and the ``"heated"`` medium. ``core``: the engine's 2D core medium
    (default: that of the default Meep2DSpec, see :func:`default_core_medium`)."""
    core = core if core is not None else default_core_medium(spec)
    c = dc.layout(spec.coupler_spec())
    lc = c.bbox[1] - c.bbox[0]
    xc = 0.5 * (spec.arm_length + lc)  # coupler centres at ∓xc
    shapes: list[Rect | Polygon] = [_shift(s, -xc) for s in c.shapes] + [_shift(s, xc) for s in c.shapes]
    w, yp, la, lh = spec.width, 0.5 * spec.port_separation, spec.arm_length, spec.heated_length
    shapes.append(Rect(0.0, -yp, la, w))
    shapes.append(Rect(0.0, yp, lh, w, material="heated"))
    side = 0.5 * (la - lh)
    if side > 1e-9:  # unheated parts of the upper arm, left and right of the heater
        shapes += [Rect(s * 0.5 * (la - side), yp, side, w) for s in (-1, 1)]
    xp = xc + 0.5 * lc
    ports = (Port("o1", -xp, -yp, "-x", w), Port("o2", -xp, yp, "-x", w),
             Port("o3", xp, yp, "+x", w), Port("o4", xp, -yp, "+x", w))
    return Layout(shapes=tuple(shapes), ports=ports, bbox=(-xp, xp, -yp - w / 2, yp + w / 2),
                  thickness=spec.thickness, core_width=w,
                  symmetries=(Mirror("x", 0.0, (("o1", "o4"), ("o2", "o3"))),),
                  media=(("heated", heated_medium(core, spec.delta_n_core)),))


def companions(spec: MZISpec) -> dict[str, Any]:
    """The entries :func:`figures_of_merit` can use besides its own: ``coupler``, the entry of
    the MZI's coupler (``spec.coupler_spec()``, same solver)."""
    return {"coupler": spec.coupler_spec()}


def figures_of_merit(entry: Any, *, companions: Mapping[str, Any] | None = None, **_: Any) -> dict[str, Any]:
    """``power_cross`` |S[o3,o1]|², ``power_bar`` |S[o4,o1]|², ``extinction_db``,
    ``excess_loss_db`` at the centre λ; ``phase_difference_rad`` predicted from the exact
    slab modes of the media the run used; when ``companions`` holds the ``coupler`` entry
    (:func:`companions`), ``composed_max_abs_dpower`` = max over band and ports of |Δ|S|²|
    vs the composed MZI.  Pure: reads only the entries it is given."""
    import numpy as np

    from pipeline.circuit import mzi as cmzi
    from pipeline.fdtd.simulate import centre_smatrix

    spec = entry.device_spec
    s = centre_smatrix(entry.smatrix)
    cross = float(np.abs(s.sel(port_out="o3", port_in="o1")) ** 2)
    bar = float(np.abs(s.sel(port_out="o4", port_in="o1")) ** 2)
    n_core, n_clad, n_heated = (float(x[0]) for x in cmzi.entry_indices(entry, [spec.band.center]))
    out: dict[str, Any] = {
        "power_cross": cross, "power_bar": bar,
        "extinction_db": float(10 * np.log10(max(cross, bar) / max(min(cross, bar), 1e-30))),
        "excess_loss_db": float(-10 * np.log10(cross + bar)),
        "phase_difference_rad": float(cmzi.heater_phase(spec.band.center, spec.width, n_core, n_clad,
                                                        n_heated - n_core, spec.heated_length)[0]),
        "equivalent_delta_t_k": spec.equivalent_delta_t_k,
    }
    coupler = (companions or {}).get("coupler")
    if coupler is not None:
        composed = cmzi.compose_mzi_from_entries(spec, coupler)
        diff = np.abs(np.abs(entry.smatrix.values) ** 2 - np.abs(composed.values) ** 2)
        out["composed_max_abs_dpower"] = float(diff.max())
        out["coupler_key"] = coupler.key
    return out
