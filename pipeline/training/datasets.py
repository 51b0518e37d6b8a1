"""Training datasets: XOR, two-moons, circles, Iris and user CSV files, split and scaled
to the chip's input range.

Generators (scikit-learn, fixed seeds, stated noise):

* ``moons``: :func:`sklearn.datasets.make_moons`, Gaussian noise σ = 0.1 (data units).
* ``circles``: :func:`sklearn.datasets.make_circles`, radii 1 and 0.5 (``factor`` 0.5),
  Gaussian noise σ = 0.08.
* ``xor``: :func:`sklearn.datasets.make_blobs` at the four corners (±1, ±1), cluster σ = 0.3;
  label = 1 where the corner's signs differ.
* ``iris``: scikit-learn's bundled copy of Fisher's Iris (150 samples, 4 features, 3 classes).
* a path ending in ``.csv``: feature columns then one label column; an optional header
  row (detected when a feature cell of the first row is not a number); labels may be
  integers or names (classes are their sorted unique values).

**Split.** Stratified train/test split (:func:`sklearn.model_selection.train_test_split`)
with ``test_fraction`` and a fixed ``split_seed``.

**Scaling rule (chip input range [0, 1]).** Per feature, min-max on the TRAINING split
into [0.05, 0.95]: ``x' = 0.05 + 0.9 (x − min_train) / (max_train − min_train)``; a
constant feature maps to 0.5.  The same affine map is applied to the test split, whose
values are then clipped to [0, 1] (the attenuators cannot transmit more than fully on or
less than off).  The 5 % margins leave room for test points slightly outside the
training range before clipping.

**Targets (MSE).** Binary tasks: one output, target ``high`` for class 1 and ``low`` for
class 0, prediction ``y > (low + high) / 2``.  Multi-class: one output per class, one-hot
with ``high`` / ``low``, prediction ``argmax``.  ``low``/``high`` default to 0 and 1
(the architecture's normalised output range).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipeline.errors import SpecError

#: Scaled training features span [MARGIN, 1 − MARGIN].
MARGIN = 0.05

GENERATED = ("moons", "circles", "xor")
BUILTIN = (*GENERATED, "iris")

#: Noise levels of the generators (data units), quoted in the module doc.
MOONS_NOISE = 0.1
CIRCLES_NOISE = 0.08
CIRCLES_FACTOR = 0.5
XOR_STD = 0.3


@dataclass(frozen=True)
class TrainingData:
    """A split, scaled dataset with MSE targets.

    ``x_*``: (samples, features) in [0, 1]; ``t_*``: (samples, outputs) targets;
    ``labels_*``: integer class indices; ``scale_min`` / ``scale_max``: the training split's
    per-feature min / max in data units (the scaling rule's parameters)."""

    name: str
    x_train: np.ndarray
    t_train: np.ndarray
    labels_train: np.ndarray
    x_test: np.ndarray
    t_test: np.ndarray
    labels_test: np.ndarray
    classes: tuple[str, ...]
    scale_min: np.ndarray
    scale_max: np.ndarray
    low: float = 0.0
    high: float = 1.0
    meta: dict = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.t_train.shape[1])

    @property
    def n_classes(self) -> int:
        return len(self.classes)

    def predict(self, y: np.ndarray) -> np.ndarray:
        """Class indices from (batch, n_outputs) outputs."""
        return predict(y, self.n_classes, self.low, self.high)

    def accuracy(self, y: np.ndarray, labels: np.ndarray) -> float:
        """Fraction of samples whose prediction from outputs ``y`` equals ``labels``."""
        return float(np.mean(self.predict(y) == labels))

    def scale(self, x_raw: np.ndarray) -> np.ndarray:
        """Apply this dataset's scaling rule to raw features (clipped to [0, 1])."""
        return scale_features(x_raw, self.scale_min, self.scale_max, clip=True)


def targets(labels: np.ndarray, n_classes: int, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """MSE targets: (n, 1) for two classes, (n, n_classes) one-hot otherwise."""
    labels = np.asarray(labels, dtype=int)
    if n_classes < 2:
        raise SpecError(f"n_classes = {n_classes}: a classification task needs at least 2 classes. "
                        "Fix: provide samples of at least two labels.")
    if not low < high:
        raise SpecError(f"target levels low = {low}, high = {high}: need low < high. Fix: e.g. low=0, high=1.")
    if n_classes == 2:
        return np.where(labels[:, None] == 1, high, low).astype(float)
    out = np.full((labels.size, n_classes), low, dtype=float)
    out[np.arange(labels.size), labels] = high
    return out


def predict(y: np.ndarray, n_classes: int, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Class indices: threshold at the mid level (binary) or argmax (multi-class)."""
    y = np.asarray(y, dtype=float)
    if n_classes == 2:
        return (y[:, 0] > 0.5 * (low + high)).astype(int)
    return np.argmax(y, axis=1)


def scale_features(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, clip: bool) -> np.ndarray:
    """The module's scaling rule: [lo, hi] → [MARGIN, 1 − MARGIN]; constant features → 0.5."""
    x = np.asarray(x, dtype=float)
    span = hi - lo
    safe = np.where(span > 0, span, 1.0)
    out = np.where(span > 0, MARGIN + (1 - 2 * MARGIN) * (x - lo) / safe, 0.5)
    return np.clip(out, 0.0, 1.0) if clip else out


def generate(name: str, n_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Raw features, integer labels and class names of a built-in dataset."""
    from sklearn import datasets as skd

    if name == "moons":
        x, y = skd.make_moons(n_samples=n_samples, noise=MOONS_NOISE, random_state=seed)
        return x, y, ("0", "1")
    if name == "circles":
        x, y = skd.make_circles(n_samples=n_samples, noise=CIRCLES_NOISE, factor=CIRCLES_FACTOR,
                                random_state=seed)
        return x, y, ("0", "1")
    if name == "xor":
        corners = np.array([[-1, -1], [1, 1], [-1, 1], [1, -1]], dtype=float)
        x, c = skd.make_blobs(n_samples=n_samples, centers=corners, cluster_std=XOR_STD, random_state=seed)
        return x, (c >= 2).astype(int), ("0", "1")
    if name == "iris":
        iris = skd.load_iris()
        return iris.data.astype(float), iris.target.astype(int), tuple(str(n) for n in iris.target_names)
    raise SpecError(f"dataset = {name!r}: unknown dataset. Fix: use one of {list(BUILTIN)} or a path to a "
                    ".csv file (feature columns then a label column).")


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Features, integer labels and class names from a CSV file (header optional).

    Every error names the file, the line (1-based) and the column (1-based) and the fix."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"dataset = {str(path)!r}: no such file. Fix: give an existing .csv path or one of "
                        f"{list(BUILTIN)}.")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"dataset file {path}: cannot be read as UTF-8 text ({exc}). Fix: save it as a "
                        "UTF-8 CSV file.") from None
    rows = [(i + 1, [c.strip() for c in row]) for i, row in enumerate(csv.reader(text.splitlines()))]
    rows = [(ln, r) for ln, r in rows if any(r)]  # blank lines are ignored
    if not rows:
        raise SpecError(f"dataset file {path}: empty. Fix: one sample per line, feature columns then a label "
                        "column.")
    header = not all(_is_number(c) for c in rows[0][1][:-1])
    if header:
        rows = rows[1:]
    if not rows:
        raise SpecError(f"dataset file {path}: only a header line. Fix: add samples below it.")
    n_cols = len(rows[0][1])
    if n_cols < 2:
        raise SpecError(f"dataset file {path}, line {rows[0][0]}: {n_cols} column; need at least one feature "
                        "column and a label column. Fix: separate columns with commas.")
    feats, raw_labels = [], []
    for ln, row in rows:
        if len(row) != n_cols:
            raise SpecError(f"dataset file {path}, line {ln}: {len(row)} columns, expected {n_cols} (as on line "
                            f"{rows[0][0]}). Fix: every line needs the same number of comma-separated columns.")
        values = []
        for col, cell in enumerate(row[:-1], start=1):
            try:
                v = float(cell)
            except ValueError:
                raise SpecError(f"dataset file {path}, line {ln}, column {col}: {cell!r} is not a number. "
                                "Fix: feature columns must be numeric (the label is the last column).") from None
            if not np.isfinite(v):
                raise SpecError(f"dataset file {path}, line {ln}, column {col}: {cell!r} is not finite. "
                                "Fix: remove or impute the sample.")
            values.append(v)
        if row[-1] == "":
            raise SpecError(f"dataset file {path}, line {ln}, column {n_cols}: empty label. Fix: give every "
                            "sample a label in the last column.")
        feats.append(values)
        raw_labels.append(row[-1])
    if all(_is_number(v) for v in raw_labels):
        keys = sorted(set(raw_labels), key=float)
    else:
        keys = sorted(set(raw_labels))
    if len(keys) < 2:
        raise SpecError(f"dataset file {path}: every sample has label {keys[0]!r}. Fix: a classification "
                        "dataset needs at least two classes in the last column.")
    index = {k: i for i, k in enumerate(keys)}
    return np.asarray(feats, dtype=float), np.array([index[v] for v in raw_labels]), tuple(keys)


def load(name: str | Path, n_samples: int = 300, test_fraction: float = 1 / 3, data_seed: int = 0,
         split_seed: int = 0, low: float = 0.0, high: float = 1.0) -> TrainingData:
    """A dataset by name (``moons``, ``circles``, ``xor``, ``iris``) or CSV path, split and scaled.

    ``n_samples`` applies to the generated sets only (Iris and CSV files use all rows)."""
    from sklearn.model_selection import train_test_split

    if not 0 < test_fraction < 1:
        raise SpecError(f"test_fraction = {test_fraction}: must lie in (0, 1). Fix: e.g. 1/3.")
    key = str(name)
    if key in GENERATED:
        if n_samples < 8:
            raise SpecError(f"n_samples = {n_samples}: too few for a train/test split. Fix: use >= 8 (e.g. 300).")
        x, labels, classes = generate(key, n_samples, data_seed)
    elif key == "iris":
        x, labels, classes = generate(key, 0, data_seed)
    elif key.lower().endswith(".csv") or Path(key).suffix:
        x, labels, classes = read_csv(key)
    else:
        raise SpecError(f"dataset = {key!r}: unknown dataset. Fix: use one of {list(BUILTIN)} or a path to a "
                        ".csv file (feature columns then a label column).")
    counts = np.bincount(labels, minlength=len(classes))
    n_test = int(np.ceil(test_fraction * labels.size))
    stratify = labels if counts.min() >= 2 and n_test >= len(classes) and labels.size - n_test >= len(classes) \
        else None
    if labels.size - n_test < 2 or n_test < 1:
        raise SpecError(f"dataset {key}: {labels.size} samples are too few for test_fraction = {test_fraction:.3g}. "
                        "Fix: provide more samples (at least 4).")
    x_tr, x_te, l_tr, l_te = train_test_split(x, labels, test_size=n_test, random_state=split_seed,
                                              stratify=stratify)
    lo, hi = x_tr.min(axis=0), x_tr.max(axis=0)
    nc = len(classes)
    return TrainingData(
        name=Path(key).name if key not in BUILTIN else key,
        x_train=scale_features(x_tr, lo, hi, clip=False), t_train=targets(l_tr, nc, low, high),
        labels_train=np.asarray(l_tr, dtype=int),
        x_test=scale_features(x_te, lo, hi, clip=True), t_test=targets(l_te, nc, low, high),
        labels_test=np.asarray(l_te, dtype=int),
        classes=classes, scale_min=lo, scale_max=hi, low=low, high=high,
        meta={"source": key, "n_samples": int(labels.size), "test_fraction": float(test_fraction),
              "data_seed": int(data_seed), "split_seed": int(split_seed),
              "noise": {"moons": MOONS_NOISE, "circles": CIRCLES_NOISE, "xor": XOR_STD}.get(key)},
    )
