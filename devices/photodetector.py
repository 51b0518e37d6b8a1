"""Waveguide-coupled Ge-on-Si photodetector (vertical, evanescent): spec, FDTD layout,
absorbed fraction and responsivity.

Model: a 2D **side view** (x along the guide, the layout's ``y`` is the height z). The
220 nm Si slab (bulk Si in SiO2) carries the slab TE mode (E along the lateral axis, out
of the simulated plane: Meep ODD_Z); a Ge layer ``ge_thickness`` × ``ge_length`` sits on
top of it, starting at x = 0. Why a side view: a vertical PD couples light *upwards*
from Si into the higher-index Ge, which a top (x–y) view cannot represent, and a 3D run
at a resolution that resolves λ/n_Ge ≈ 0.36 µm does not fit this machine's budget. The
side view treats the Ge and the (tapered-wide) Si under it as laterally uniform — right
for the usual 4–10 µm-wide Ge pads fed by a wide taper, and it ignores lateral
diffraction (a slight overestimate of the absorption per length).

Germanium at 1550 nm: n = 4.27 (bulk Ge; Li, J. Phys. Chem. Ref. Data 9, 561 (1980))
and α = 4000 cm⁻¹ (= 0.40 /µm) for ~0.25 % tensile-strained epitaxial Ge-on-Si, whose
direct gap shrinks to ~0.77 eV (Ishikawa et al., J. Appl. Phys. 98, 013501 (2005);
reviewed in Michel, Liu & Kimerling, Nat. Photonics 4, 527 (2010), where ~4000 cm⁻¹ at
1550 nm is quoted); bulk unstrained Ge has only ~500–1000 cm⁻¹ there. Both are spec
fields. The absorption is a Meep D-conductivity fitted at the band centre
(:func:`pipeline.fdtd.material2d.lossy_medium`), so α is constant across the band: the
steep fall of the real Ge absorption beyond ~1560 nm is **not** modelled (the red end of
the responsivity is optimistic).

Measured quantities (input o1, mode monitors in the lossless Si slab on both sides):
absorbed fraction = net inward Poynting flux through a closed box around the Ge (box
``ge``), normalised to the incident mode power; the same from boxes ending at 25/50/75 %
of the Ge length (absorption vs length from one run; the end facet of the shorter
detector is not represented); a large box (``device``) bounded by the port planes gives
the radiation. Responsivity R = η · A · qλ/(hc) with internal quantum efficiency η
(``quantum_efficiency``, 1 by default: an assumption — every absorbed photon in Ge
yields one collected electron; free-carrier/contact absorption is not modelled), so
R ≤ qλ/(hc) = 1.250 A/W at 1.55 µm.

Electrical side (dark current, capacitance, bandwidth, shot and thermal noise, with
sources): :mod:`devices.photodetector_electrical`, fed with this device's responsivity;
``figures_of_merit`` reports its summary under ``electrical`` (default electrical
parameters). Electrical parameters are deliberately not fields of this spec: they do not
change the optics and must not enter the FDTD cache key.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from pydantic import model_validator

from pipeline.fdtd.layout import FluxBox, Layout, Port, Rect
from pipeline.specs import DeviceSpec, WavelengthBand, quantity

#: Ge absorbs: no unitarity check.
LOSSLESS = False
#: The default solver's settings: 50 px/µm keeps the Ge absorption within ~1 % (and is
#: the resolution of the library's detector entries, so the default spec is a cache hit).
DEFAULT_SOLVER_SETTINGS = {"resolution": 50}
#: hc/q [V·µm] (CODATA exact): R_max = qλ/(hc) = λ[µm] / HC_OVER_Q A/W.
HC_OVER_Q = 1.2398419843320025
#: Fractions of the Ge length at which extra flux boxes end (absorption vs length).
LENGTH_FRACTIONS = (0.25, 0.5, 0.75)


class PhotodetectorSpec(DeviceSpec):
    """A vertical Ge-on-Si waveguide photodetector (2D side view)."""

    device: ClassVar[str] = "photodetector"
    si_thickness: float = quantity(0.22, "um", "Si slab thickness under the Ge", gt=0.02, le=2.0)
    ge_length: float = quantity(10.0, "um", "length of the Ge absorber along the guide", gt=0, le=200.0)
    ge_thickness: float = quantity(0.5, "um", "Ge layer thickness on top of the Si", gt=0.02, le=3.0)
    ge_index: float = quantity(4.27, "1", "real refractive index of Ge at the band centre (Li 1980)", gt=1.0, le=6.0)
    ge_alpha: float = quantity(4000.0, "1/cm",
                               "Ge power absorption coefficient at the band centre (tensile Ge-on-Si, "
                               "Ishikawa 2005 / Michel 2010)", gt=0, le=1e6)
    quantum_efficiency: float = quantity(1.0, "1", "internal quantum efficiency (electrons per absorbed photon)",
                                         gt=0, le=1.0)
    lead_length: float = quantity(1.5, "um", "bare Si slab between each port plane and the Ge", gt=0.3, le=50.0)
    band: WavelengthBand = quantity(WavelengthBand(start=1.50, stop=1.60, points=11), "um",
                                    "wavelengths of the S-matrix")

    @model_validator(mode="after")
    def _alpha(self) -> "PhotodetectorSpec":
        kappa = self.ge_alpha * 1e-4 * self.band.center / (4 * math.pi)
        if kappa > 0.5 * self.ge_index:
            raise ValueError(f"ge_alpha = {self.ge_alpha} /cm gives κ = {kappa:.3g} > n/2: not a weakly "
                             "absorbing dielectric. Fix: ge_alpha below ~1e5 /cm.")
        return self


#: The registry's name for this family's spec class.
Spec = PhotodetectorSpec


def layout(spec: PhotodetectorSpec) -> Layout:
    """Side view (plane x–z; the layout's y is the height), pure data."""
    from pipeline.fdtd.material2d import lossy_medium

    t, tg, lg = spec.si_thickness, spec.ge_thickness, spec.ge_length
    x_in, x_out = -spec.lead_length, lg + spec.lead_length
    ge_y = t / 2 + tg / 2
    ge = lossy_medium(spec.ge_index, spec.ge_alpha * 1e-4, spec.band.center)
    pad = 0.25  # box clearance around the Ge (and the Si beneath it) [µm]
    y0, y1 = -t / 2 - pad, t / 2 + tg + pad
    boxes = [FluxBox("ge", lg / 2, 0.5 * (y0 + y1), lg + 2 * pad, y1 - y0)]
    for f in LENGTH_FRACTIONS:  # start before the Ge, end inside it at f × length
        x1 = f * lg
        boxes.append(FluxBox(f"ge_{int(round(100 * f))}", 0.5 * (x1 - pad), 0.5 * (y0 + y1), x1 + pad, y1 - y0))
    ymax = t / 2 + tg
    big_h = 2 * (ymax + 0.8)  # inside the lateral margin (default 1.2 um) before the PML
    boxes.append(FluxBox("device", 0.5 * (x_in + x_out), 0.0, x_out - x_in, big_h))
    return Layout(
        shapes=(Rect(0.5 * (x_in + x_out), 0.0, x_out - x_in, t), Rect(lg / 2, ge_y, lg, tg, material="ge")),
        ports=(Port("o1", x_in, 0.0, "-x", t), Port("o2", x_out, 0.0, "+x", t)),
        bbox=(x_in, x_out, -ymax, ymax), thickness=t, core_width=t,
        media=(("ge", ge),), flux_boxes=tuple(boxes), plane="xz",
    )


def absorbed(entry: Any, box: str = "ge", port_in: str = "o1") -> Any:
    """Absorbed fraction per wavelength inside ``box`` (−Σ outward face fluxes)."""
    return -entry.data["box_flux"].sel(box=box, port_in=port_in).sum("face")


def figures_of_merit(entry: Any, **_: Any) -> dict[str, Any]:
    """``absorbed_fraction`` and ``responsivity_a_per_w`` at the centre wavelength (input o1),
    their spectra, absorption vs Ge length, the energy balance, and the electrical model.

    Energy balance: T + R (modal, overlap integrals) + A (box ``ge``) + radiated (Poynting
    flux leaving the ``device`` box through its top, bottom and output faces, minus the
    modal T) = 1. It tests the modal incident power against the flux actually entering
    the device and the two independent boxes against each other; backward non-modal
    radiation through the input face is not counted (it shows up as a deficit)."""
    import numpy as np

    spec = entry.device_spec
    s = entry.smatrix
    wl = np.asarray(s.wavelength.values)
    k = int(np.argmin(np.abs(wl - spec.band.center)))
    a = np.asarray(absorbed(entry).values)
    t = np.abs(s.sel(port_out="o2", port_in="o1").values) ** 2
    r = np.abs(s.sel(port_out="o1", port_in="o1").values) ** 2
    faces = entry.data["box_flux"].sel(box="device", port_in="o1")
    rad = np.asarray((faces.sel(face="+y") + faces.sel(face="-y") + faces.sel(face="+x")).values) - t
    balance = t + r + a + rad
    r_max = wl / HC_OVER_Q
    resp = spec.quantum_efficiency * a * r_max
    lengths = [f * spec.ge_length for f in LENGTH_FRACTIONS] + [spec.ge_length]
    a_len = [float(absorbed(entry, f"ge_{int(round(100 * f))}").values[k]) for f in LENGTH_FRACTIONS] + [float(a[k])]
    from devices.photodetector_electrical import PhotodetectorElectricalSpec

    electrical = PhotodetectorElectricalSpec(responsivity=float(resp[k]), wavelength=float(wl[k])).summary()
    return {
        "absorbed_fraction": float(a[k]),
        "responsivity_a_per_w": float(resp[k]),
        "responsivity_limit_a_per_w": float(r_max[k]),
        "wavelength_um": float(wl[k]),
        "transmission": float(t[k]), "reflection": float(r[k]), "radiated": float(rad[k]),
        "energy_balance": float(balance[k]),
        "energy_balance_max_error": float(np.max(np.abs(balance - 1))),
        "absorbed_fraction_device_box": float(-entry.data["box_flux"].sel(box="device", port_in="o1")
                                              .sum("face").values[k]),
        "responsivity_vs_wavelength": {"wavelength_um": wl.tolist(), "a_per_w": resp.tolist()},
        "absorbed_vs_ge_length": {"ge_length_um": lengths, "absorbed_fraction": a_len},
        "electrical": electrical,
        "assumptions": "2D side view (laterally uniform), constant alpha across the band, "
                       f"internal quantum efficiency {spec.quantum_efficiency}",
    }

