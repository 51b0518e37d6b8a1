"""Waveguide cross-sections: a background layer stack plus rectangular cores.

Frame (µm): ``x`` is the horizontal transverse axis (across the chip, along the core
width), ``z`` the vertical axis (normal to the wafer); light propagates along ``y``.
The substrate (buried oxide, BOX) fills ``z < 0``, the cladding ``z >= 0``; without a
substrate the cladding fills all space. Cores are drawn on top of the background.
"""

from __future__ import annotations

from itertools import combinations

from pydantic import Field, model_validator

from pipeline.errors import SpecError
from pipeline.materials import SILICA, SILICON, T_REF, Material
from pipeline.specs import Spec, quantity


class Core(Spec):
    """A rectangular core [µm]."""

    x_center: float = quantity(0.0, "um", "horizontal centre of the core")
    width: float = quantity(0.5, "um", "core width along x", gt=0)
    thickness: float = quantity(0.22, "um", "core thickness along z", gt=0)
    z_bottom: float = quantity(0.0, "um", "bottom face of the core (substrate top at z = 0)")
    material: Material = Field(default=SILICON, description="core material")

    @property
    def x_span(self) -> tuple[float, float]:
        """(left, right) edges [µm]."""
        return (self.x_center - 0.5 * self.width, self.x_center + 0.5 * self.width)

    @property
    def z_span(self) -> tuple[float, float]:
        """(bottom, top) faces [µm]."""
        return (self.z_bottom, self.z_bottom + self.thickness)


class CrossSection(Spec):
    """Background stack (cladding, optional substrate/BOX) plus one or more cores."""

    cores: tuple[Core, ...] = Field(default=(Core(),), min_length=1, description="rectangular cores")
    cladding: Material = Field(default=SILICA, description="material above z = 0 (everywhere without substrate)")
    substrate: Material | None = Field(default=None, description="buried oxide below z = 0 (None: cladding)")

    @model_validator(mode="after")
    def _no_overlap(self) -> "CrossSection":
        for (i, a), (j, b) in combinations(enumerate(self.cores), 2):
            ox = min(a.x_span[1], b.x_span[1]) - max(a.x_span[0], b.x_span[0])
            oz = min(a.z_span[1], b.z_span[1]) - max(a.z_span[0], b.z_span[0])
            if ox > 1e-9 and oz > 1e-9:
                raise ValueError(
                    f"cores[{i}] (x_center = {a.x_center} um, width = {a.width} um) and cores[{j}] "
                    f"(x_center = {b.x_center} um, width = {b.width} um) overlap by {ox:.4g} um in x. "
                    "Fix: move them apart (edge-to-edge gap > 0) or merge them into one core."
                )
        return self

    def bounds(self) -> tuple[float, float, float, float]:
        """Bounding box of the cores (x_min, x_max, z_min, z_max) [µm]."""
        xs = [c.x_span for c in self.cores]
        zs = [c.z_span for c in self.cores]
        return (min(x[0] for x in xs), max(x[1] for x in xs), min(z[0] for z in zs), max(z[1] for z in zs))

    def background_index(self, wavelength_um: float, temperature_K: float = T_REF) -> float:
        """Highest background (cladding/substrate) index: guided modes have n_eff above it."""
        mats = [self.cladding] + ([self.substrate] if self.substrate is not None else [])
        return max(float(m.index(wavelength_um, temperature_K)) for m in mats)

    def max_index(self, wavelength_um: float, temperature_K: float = T_REF) -> float:
        """Highest index anywhere in the cross-section."""
        return max([self.background_index(wavelength_um, temperature_K)]
                   + [float(c.material.index(wavelength_um, temperature_K)) for c in self.cores])

    def at(self, wavelength_um: float, temperature_K: float = T_REF) -> "CrossSection":
        """Copy with every material frozen to its constant index at λ [µm] and T [K]."""
        return CrossSection(
            cores=tuple(c.model_copy(update={"material": c.material.at(wavelength_um, temperature_K)})
                        for c in self.cores),
            cladding=self.cladding.at(wavelength_um, temperature_K),
            substrate=None if self.substrate is None else self.substrate.at(wavelength_um, temperature_K),
        )


def _positive(name: str, value: float, hint: str) -> None:
    if not (value == value) or value <= 0:  # NaN or non-positive
        raise SpecError(f"{name} = {value!r} um: must be > 0. Fix: {hint}.")


def strip(width: float = 0.5, thickness: float = 0.22, *, core: Material = SILICON,
          cladding: Material = SILICA, substrate: Material | None = None) -> CrossSection:
    """A single strip waveguide of ``width`` × ``thickness`` [µm] centred at x = 0."""
    _positive("width", width, "give the strip width in um, e.g. width=0.5")
    _positive("thickness", thickness, "give the core thickness in um, e.g. thickness=0.22")
    return CrossSection(cores=(Core(width=width, thickness=thickness, material=core),),
                        cladding=cladding, substrate=substrate)


def coupled_strips(width: float = 0.5, thickness: float = 0.22, gap: float = 0.2, *,
                   width2: float | None = None, core: Material = SILICON,
                   cladding: Material = SILICA, substrate: Material | None = None) -> CrossSection:
    """Two parallel strips (widths ``width``, ``width2``) with edge-to-edge ``gap`` [µm],
    placed symmetrically about x = 0 (gap centre at x = 0)."""
    _positive("width", width, "give the strip width in um, e.g. width=0.5")
    _positive("thickness", thickness, "give the core thickness in um, e.g. thickness=0.22")
    _positive("gap", gap, "the edge-to-edge gap between the strips must be positive, e.g. gap=0.2 "
              "(touching or overlapping strips are one waveguide: use strip())")
    w2 = width if width2 is None else width2
    _positive("width2", w2, "give the second strip's width in um or leave it None (= width)")
    left = Core(x_center=-(0.5 * gap + 0.5 * width), width=width, thickness=thickness, material=core)
    right = Core(x_center=0.5 * gap + 0.5 * w2, width=w2, thickness=thickness, material=core)
    return CrossSection(cores=(left, right), cladding=cladding, substrate=substrate)
