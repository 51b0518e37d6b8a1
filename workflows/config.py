"""Typed workflow configs: the study (``workflows/impairments.toml``, :mod:`workflows.study`)
and the main job (``workflows/paper.toml``, :mod:`workflows.paper`) load into frozen specs
(:func:`pipeline.config.load_section`: unknown keys get "did you mean", naming the file and
the section; every other error names the field, the value and the fix).

The impairment grid stays typed until the die: each point of a study's ``[grid]`` and each
value of the main job's ``[sweep]`` is an :class:`~pipeline.chip.impairments.ImpairmentSpec`
(:class:`GridPoint`), validated when the file is loaded; it is flattened to the cells' scalar
parameters only for the study engine (their content keys), and
:meth:`workflows.cells.TrainCell.from_params` makes it one ImpairmentSpec again on the worker.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import field_validator, model_validator

from pipeline.chip.impairments import IMPAIRMENT_PRESETS, ImpairmentSpec, impairments
from pipeline.config import check_keys, did_you_mean, load_section, read_toml
from pipeline.errors import SpecError
from pipeline.specs import Spec, quantity
from pipeline.training.run import CALIBRATIONS
from workflows.cells import Scalar
from workflows.paper_results import CALIBRATION_INDEPENDENT
#: Training parameters a study's [grid] may sweep besides the impairment knobs (the die's
#: calibration: the hardware algorithms with and without the lab calibration, as a study axis).
GRID_TRAINING_AXES = ("calibration",)
#: Training parameters a [study] section may fix for every cell (when given).
FIXED_TRAINING = ("architecture", "algorithms", "preset", "epochs", "learning_rate", "batch_size", "n_samples",
                  "neuron")


def algorithm_names(algorithms: str | None) -> list[str]:
    """A comma list of algorithms as names."""
    return [a.strip() for a in str(algorithms or "").split(",") if a.strip()]


def _nonempty_list(value: Any, key: str, example: str) -> Any:
    if not isinstance(value, (list, tuple)) or not value:
        raise ValueError(f"need a non-empty list (e.g. {key} = {example})")
    return value


def _preset(value: Any) -> Any:
    if value not in IMPAIRMENT_PRESETS:
        raise ValueError(f"unknown preset. Fix: use one of {sorted(IMPAIRMENT_PRESETS)}")
    return value


class TrainingSection(Spec):
    """What the [study] sections of both files share: the cells' training parameters."""

    name: str | None = quantity(None, "", "output folder name under results/ (unless --out)")
    architecture: str = quantity("attenuator", "", "architecture name")
    datasets: tuple[str, ...] = quantity(..., "", "datasets, e.g. [\"moons\"]")
    seeds: tuple[int, ...] = quantity(..., "", "dies (each seed = one sampled die and its training stream)")
    algorithms: str | None = quantity(None, "", "comma list of algorithms (None: the cell's default)")
    preset: str = quantity("realistic", "", "impairment preset; knobs not set keep its values")
    epochs: int | None = quantity(None, "", "epochs (None: the TrainConfig default)", ge=1)
    learning_rate: float | None = quantity(None, "", "learning rate (None: the TrainConfig default)", gt=0)
    batch_size: int | None = quantity(None, "", "batch size (None: the TrainConfig default)", ge=1)
    n_samples: int | None = quantity(None, "", "samples of a generated dataset (None: 300)", ge=1)
    neuron: Literal["mzm", "ring"] | None = quantity(None, "", "attenuator neuron kind (None: mzm)")

    @field_validator("datasets", mode="before")
    @classmethod
    def _datasets(cls, v: Any) -> Any:
        return _nonempty_list(v, "datasets", '["moons"]')

    @field_validator("seeds", mode="before")
    @classmethod
    def _seeds(cls, v: Any) -> Any:
        return _nonempty_list(v, "seeds", "[0, 1, 2]")

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, v: str) -> str:
        return _preset(v)

    @property
    def base(self) -> ImpairmentSpec:
        """The preset's impairments."""
        return impairments(self.preset)

    def fixed(self) -> dict[str, Scalar]:
        """The training parameters every cell gets: those given in the file (``preset`` always)."""
        out = {k: getattr(self, k) for k in FIXED_TRAINING if k in self.model_fields_set}
        out.setdefault("preset", self.preset)
        return out


class GridPoint(Spec):
    """One point of an impairment grid: the die's impairments (an ImpairmentSpec) and,
    when the grid has that axis, the die's calibration; ``axes`` are the cell parameters the
    point sets (the grid's axes, in the file's order)."""

    impairments: ImpairmentSpec = quantity(..., "", "the die's impairments at this point")
    calibration: str | None = quantity(None, "", "the die's calibration, when it is an axis")
    axes: tuple[str, ...] = quantity((), "", "the grid's axes: impairment knobs and calibration")

    def params(self) -> dict[str, Scalar]:
        """The point as flat cell parameters (the study engine's cells; their content keys)."""
        return {k: (self.calibration if k == "calibration" else getattr(self.impairments, k)) for k in self.axes}


def _check_calibration(value: Any, key: str) -> None:
    if value not in CALIBRATIONS:
        raise ValueError(f"{key} = {value!r}: unknown. Fix: use {list(CALIBRATIONS)}.")


class ImpairmentGrid(Spec):
    """A study's [grid]: impairment knobs (and ``calibration``) → values, combined as a
    product or one knob at a time (the others at the preset / ``readout``); every value is
    validated against :class:`ImpairmentSpec` when the file is loaded."""

    base: ImpairmentSpec = quantity(..., "", "the preset the knobs override")
    axes: tuple[tuple[str, tuple[Any, ...]], ...] = quantity((), "", "(knob, values) in the file's order")
    mode: Literal["product", "one_at_a_time"] = quantity("product", "", "product | one_at_a_time")

    @model_validator(mode="after")
    def _values(self) -> "ImpairmentGrid":
        for knob, values in self.axes:
            if knob not in ImpairmentSpec.model_fields and knob not in GRID_TRAINING_AXES:
                raise ValueError(f"[grid] {knob}: neither an impairment knob nor {list(GRID_TRAINING_AXES)}.")
            if not values:
                raise ValueError(f"[grid] {knob} = []: need a non-empty list of values.")
            for v in values:
                if knob == "calibration":
                    _check_calibration(v, "[grid] calibration")
                else:
                    self.base.scaled(**{knob: v})
        return self

    def points(self) -> list[GridPoint]:
        """Every point (an ImpairmentSpec each), in the file's order."""
        names = [k for k, _ in self.axes]

        def point(values: dict[str, Any]) -> GridPoint:
            knobs = {k: v for k, v in values.items() if k not in GRID_TRAINING_AXES}
            return GridPoint(impairments=self.base.scaled(**knobs) if knobs else self.base,
                             calibration=values.get("calibration"), axes=tuple(names))

        if not self.axes:
            return [GridPoint(impairments=self.base)]
        if self.mode == "product":
            return [point(dict(zip(names, combo))) for combo in itertools.product(*(v for _, v in self.axes))]
        preset = {k: ("readout" if k == "calibration" else getattr(self.base, k)) for k in names}
        out: list[GridPoint] = []
        for knob, values in self.axes:
            for v in values:
                p = point({**preset, knob: v})
                if p not in out:
                    out.append(p)
        return out


class StudySection(TrainingSection):
    """``[study]`` of a study file (workflows/impairments.toml)."""

    mode: Literal["product", "one_at_a_time"] = quantity("product", "", "product of the [grid] knobs, or "
                                                         "one_at_a_time: each knob alone, the others at the preset")


class StudyConfig(Spec):
    """A study file: ``[study]`` and its ``[grid]`` (:class:`ImpairmentGrid`)."""

    path: str = quantity("", "", "the file it was read from")
    study: StudySection = quantity(..., "", "the [study] section")
    grid: ImpairmentGrid = quantity(..., "", "the [grid] section")

    def cells(self) -> list[dict[str, Scalar]]:
        """The study's cells: each dataset × die × grid point (flat cell parameters)."""
        s, fixed = self.study, self.study.fixed()
        points = [p.params() for p in self.grid.points()]
        return [{"dataset": d, "seed": int(seed), **fixed, **point} for d in s.datasets for seed in s.seeds
                for point in points]


def _check_knob_value(base: ImpairmentSpec, knob: str, value: Any, section: str, where: str) -> ImpairmentSpec:
    """``base`` with ``knob = value``; an invalid value names the section, the file and the fix."""
    try:
        return base.scaled(**{knob: value})
    except SpecError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if not line.startswith("invalid ")]
        raise SpecError(f"[{section}] {knob} = {value!r} in {where}: " + " ".join(lines)) from None


def load_study_config(path: str | Path) -> StudyConfig:
    """A study TOML file as a :class:`StudyConfig` (errors name the file, the key and the fix)."""
    p, doc = read_toml(path, "--config", "workflows/impairments.toml")
    where = str(p)
    check_keys(doc, ("study", "grid"), "", where)
    if "study" not in doc:
        raise SpecError(f"{where}: no [study] section. Fix: add [study] with datasets, seeds and algorithms.")
    study = load_section(StudySection, doc["study"], "study", where)
    raw = doc.get("grid", {})
    if not isinstance(raw, Mapping):
        raise SpecError(f"[grid] in {where}: not a table. Fix: write [grid] with knob = [values] lines.")
    check_keys(raw, [*GRID_TRAINING_AXES, *ImpairmentSpec.model_fields], "grid", where)
    for knob, values in raw.items():
        if not isinstance(values, list) or not values:
            raise SpecError(f"[grid] {knob} = {values!r} in {where}: need a non-empty list of values.")
    for knob, values in raw.items():  # every value now, not on a worker
        for v in values:
            if knob in GRID_TRAINING_AXES:
                if v not in CALIBRATIONS:
                    raise SpecError(f"[grid] calibration = {v!r} in {where}: unknown. Fix: use {list(CALIBRATIONS)}.")
            else:
                _check_knob_value(study.base, knob, v, "grid", where)
    try:
        grid = ImpairmentGrid(base=study.base, axes=tuple((k, tuple(v)) for k, v in raw.items()), mode=study.mode)
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None
    return StudyConfig(path=where, study=study, grid=grid)


# ---------------------------------------------------------------------------------------------
# The main job (workflows/paper.toml)

#: Cell parameters that belong to the die (same value for every cell of one die).
PER_DIE = ("init_seed", "split_seed", "data_seed")
#: The lab cells' algorithms when ``[study] lab_algorithms`` is not set.
DEFAULT_LAB_ALGORITHMS = "insitu"


class DieSeedOffsets(Spec):
    """``[study.die_seed_offsets]``: each die's own seeds = offset + die (unset: not a cell parameter)."""

    init_seed: int | None = quantity(None, "", "initial parameters: init_seed = offset + die", ge=0)
    split_seed: int | None = quantity(None, "", "train/test split: split_seed = offset + die", ge=0)
    data_seed: int | None = quantity(None, "", "generated samples: data_seed = offset + die", ge=0)

    def for_die(self, die: int) -> dict[str, int]:
        """The die's seeds (only the offsets given)."""
        return {k: int(getattr(self, k)) + int(die) for k in PER_DIE
                if k in self.model_fields_set and getattr(self, k) is not None}


class MainStudySection(TrainingSection):
    """``[study]`` of the main job's file (workflows/paper.toml)."""

    calibrations: tuple[str, ...] = quantity(("readout",), "", "the die's calibrations, e.g. [\"readout\", \"lab\"]")
    lab_algorithms: str = quantity(DEFAULT_LAB_ALGORITHMS, "", "the lab cells' algorithms (comma list)")
    die_seed_offsets: DieSeedOffsets = quantity(DieSeedOffsets(), "", "each die's own seeds")

    @field_validator("seeds")
    @classmethod
    def _two_dies(cls, v: tuple[int, ...]) -> tuple[int, ...]:
        if len(v) < 2:
            raise ValueError("the paired intervals need >= 2 dies. Fix: list at least 2 dies, e.g. seeds = [0, 1, 2]")
        return v

    @field_validator("calibrations", mode="before")
    @classmethod
    def _calibrations(cls, cal: Any) -> Any:
        ok = isinstance(cal, (list, tuple)) and cal and all(isinstance(c, str) for c in cal) \
            and len(set(cal)) == len(cal)
        if not ok or not set(cal) <= set(CALIBRATIONS):
            raise ValueError(f"must be a non-empty list of distinct values of {list(CALIBRATIONS)}. Fix: e.g. "
                             "calibrations = [\"readout\", \"lab\"] (readout: node gains only, the paper's protocol; "
                             "lab: per-MZI phases, P_pi, crosstalk and gains measured)")
        return cal

    @model_validator(mode="after")
    def _lab_algorithms(self) -> "MainStudySection":
        if "lab" in self.calibrations and not algorithm_names(self.lab_algorithms):
            raise ValueError(f"lab_algorithms = {self.lab_algorithms!r}: empty. Fix: e.g. lab_algorithms = \"insitu\".")
        if {"readout", "lab"} <= set(self.calibrations):
            readout = algorithm_names(self.algorithms)
            twice = [a for a in algorithm_names(self.lab_algorithms) if a in CALIBRATION_INDEPENDENT and a in readout]
            if twice:
                raise ValueError(f"lab_algorithms = {self.lab_algorithms!r}: {twice} do not depend on the die's "
                                 "calibration and the readout cells already train them. Fix: drop them from "
                                 "lab_algorithms, e.g. lab_algorithms = \"insitu\".")
        return self

    def calibration_algorithms(self) -> dict[str, str | None]:
        """The algorithms (comma list) the cells of each configured calibration train."""
        by_cal = {"readout": self.algorithms, "lab": self.lab_algorithms}
        return {c: by_cal[c] for c in self.calibrations}


class SweepSection(Spec):
    """``[sweep]``: accuracy vs one impairment knob (first dataset, first dies)."""

    knob: str = quantity(..., "", "the ImpairmentSpec field swept, e.g. knob = \"optical_power\"")
    values: tuple[Any, ...] = quantity(..., "", "the knob's values (its unit: ImpairmentSpec)")
    sweep_dies: int = quantity(2, "", "the first dies the sweep runs on", ge=1)
    algorithms: str | None = quantity(None, "", "the sweep's algorithms (default: its calibration's)")
    calibration: str | None = quantity(None, "", "the sweep's calibration (default: the first of [study])")

    @field_validator("knob")
    @classmethod
    def _knob(cls, v: str) -> str:
        if v not in ImpairmentSpec.model_fields:
            raise ValueError(f"not an impairment knob.{did_you_mean(v, ImpairmentSpec.model_fields)} Fix: use a "
                             f"field of ImpairmentSpec: {sorted(ImpairmentSpec.model_fields)}")
        return v

    @field_validator("values", mode="before")
    @classmethod
    def _values(cls, v: Any) -> Any:
        return _nonempty_list(v, "values", "[1e-6, 1e-4]")

    @field_validator("calibration")
    @classmethod
    def _calibration(cls, v: str | None) -> str | None:
        if v is not None and v not in CALIBRATIONS:
            raise ValueError(f"unknown. Fix: use one of {list(CALIBRATIONS)}, e.g. calibration = \"lab\"")
        return v


class ClaimsSection(Spec):
    """``[claims]``: the paper's claims, decided from per-die paired differences."""

    subject: str = quantity("insitu", "", "the algorithm the claims are about")
    min_accuracy: float = quantity(..., "", "\"> min_accuracy\" for the mean and the interval's lower bound, "
                                   "e.g. min_accuracy = 0.90", ge=0, le=1)
    equivalence_margin: float = quantity(..., "", "two-sided equivalence margin of subject - reference, "
                                         "e.g. equivalence_margin = 0.02", gt=0, le=1)
    equivalent_to: tuple[str, ...] = quantity(("ideal",), "", "references of the equivalence verdicts")
    compare_with: tuple[str, ...] = quantity((), "", "references of the better/worse/inconclusive verdicts")


class MainJobConfig(Spec):
    """The main job's file: ``[study]``, ``[sweep]``, ``[claims]``."""

    path: str = quantity("", "", "the file it was read from")
    study: MainStudySection = quantity(..., "", "the [study] section")
    sweep: SweepSection = quantity(..., "", "the [sweep] section")
    claims: ClaimsSection = quantity(..., "", "the [claims] section")

    @model_validator(mode="after")
    def _sweep_values(self) -> "MainJobConfig":
        self.sweep_points()  # every swept value is a valid ImpairmentSpec, now, not on a worker
        return self

    @property
    def base(self) -> ImpairmentSpec:
        """The preset's impairments (the paper cells')."""
        return self.study.base

    @property
    def sweep_calibration(self) -> str:
        """``[sweep] calibration`` (default: the first of ``[study] calibrations``)."""
        return self.sweep.calibration or self.study.calibrations[0]

    @property
    def base_value(self) -> Any:
        """The preset's value of the swept knob."""
        return getattr(self.base, self.sweep.knob)

    def sweep_points(self) -> list[GridPoint]:
        """One ImpairmentSpec per swept value (the preset with the knob set)."""
        knob = self.sweep.knob
        return [GridPoint(impairments=self.base.scaled(**{knob: v}), axes=(knob,)) for v in self.sweep.values]

    def document(self) -> dict[str, Any]:
        """The file's content as a plain document (what was set; for results attrs and plots)."""
        return self.model_dump(mode="json", exclude_unset=True, exclude={"path"})

    @classmethod
    def coerce(cls, doc: "MainJobConfig | Mapping[str, Any]") -> "MainJobConfig":
        """``doc`` as a MainJobConfig (a parsed TOML document is validated)."""
        return doc if isinstance(doc, cls) else main_job_from_document(doc, "the config mapping")


def main_job_from_document(doc: Mapping[str, Any], where: str) -> MainJobConfig:
    """A parsed main-job document as a :class:`MainJobConfig` (errors name ``where``)."""
    check_keys(doc, ("study", "sweep", "claims"), "", where)
    sections = {}
    for name, cls in (("study", MainStudySection), ("sweep", SweepSection), ("claims", ClaimsSection)):
        if name not in doc:
            raise SpecError(f"{where}: no [{name}] section. Fix: start from workflows/paper.toml.")
        sections[name] = load_section(cls, doc[name], name, where)
    base = sections["study"].base
    for v in sections["sweep"].values:
        _check_knob_value(base, sections["sweep"].knob, v, "sweep", where)
    try:
        return MainJobConfig(path=where, **sections)
    except SpecError as exc:
        raise SpecError(f"{where}: {exc}") from None


def load_main_job_config(path: str | Path) -> MainJobConfig:
    """The main job's TOML file as a :class:`MainJobConfig`."""
    p, doc = read_toml(path, "--config", "workflows/paper.toml")
    return main_job_from_document(doc, str(p))
