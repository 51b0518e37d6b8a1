"""Straight SOI strip waveguide: spec and FDTD layout.

Ports: ``o1`` at x = −length/2 (facing −x), ``o2`` at x = +length/2 (facing +x), both on
y = 0. The x-mirror maps o1 ↔ o2. Targets: |S21|² ≥ 0.99 and reflection below −30 dB.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pipeline.fdtd.layout import Layout, Mirror, Port, Rect
from pipeline.specs import DeviceSpec, WavelengthBand, quantity

#: A straight guide neither radiates nor absorbs: |S|² sums to 1 per input.
LOSSLESS = True


class WaveguideSpec(DeviceSpec):
    """A straight strip waveguide (Si core in SiO2)."""

    device: ClassVar[str] = "waveguide"
    width: float = quantity(0.5, "um", "core width", gt=0.05, le=5.0)
    thickness: float = quantity(0.22, "um", "core (Si layer) thickness", gt=0.02, le=2.0)
    length: float = quantity(5.0, "um", "length between the two port planes", gt=0, le=1000.0)
    mode: int = quantity(0, "1", "TE mode index at both ports (0 = TE0)", ge=0, le=4)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of the S-matrix")


#: The registry's name for this family's spec class.
Spec = WaveguideSpec


def layout(spec: WaveguideSpec) -> Layout:
    """Geometry and ports of the straight guide (pure data)."""
    h = spec.length / 2
    return Layout(
        shapes=(Rect(0.0, 0.0, spec.length, spec.width),),
        ports=(Port("o1", -h, 0.0, "-x", spec.width, spec.mode), Port("o2", h, 0.0, "+x", spec.width, spec.mode)),
        bbox=(-h, h, -spec.width / 2, spec.width / 2),
        thickness=spec.thickness,
        core_width=spec.width,
        symmetries=(Mirror("x", 0.0, (("o1", "o2"),)),),
    )


def figures_of_merit(entry: Any, **_: Any) -> dict[str, float]:
    """Transmission |S21|² [1] and reflection |S11|² [dB] at the centre wavelength."""
    import numpy as np

    from pipeline.fdtd.simulate import centre_smatrix

    s = centre_smatrix(entry.smatrix)
    t = float(np.abs(s.sel(port_out="o2", port_in="o1")) ** 2)
    r = float(np.abs(s.sel(port_out="o1", port_in="o1")) ** 2)
    return {"transmission": t, "reflection_db": float(10 * np.log10(max(r, 1e-30)))}
