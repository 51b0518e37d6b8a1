"""Training datasets: shapes, seeds, the scaling rule, targets, CSV parsing and its errors."""

import numpy as np
import pytest

from pipeline.errors import SpecError
from pipeline.training import datasets as ds


@pytest.mark.parametrize("name,n_feat,n_out", [("moons", 2, 1), ("circles", 2, 1), ("xor", 2, 1), ("iris", 4, 3)])
def test_shapes_and_range(name, n_feat, n_out):
    d = ds.load(name)
    n = 150 if name == "iris" else 300
    assert d.x_train.shape[0] + d.x_test.shape[0] == n
    assert d.x_test.shape[0] == int(np.ceil(n / 3))
    assert d.x_train.shape[1] == d.x_test.shape[1] == n_feat
    assert d.t_train.shape == (d.x_train.shape[0], n_out)
    assert d.labels_train.shape == (d.x_train.shape[0],)
    # rule: training split spans exactly [0.05, 0.95]; test inside [0, 1]
    np.testing.assert_allclose(d.x_train.min(axis=0), 0.05, atol=1e-12)
    np.testing.assert_allclose(d.x_train.max(axis=0), 0.95, atol=1e-12)
    assert d.x_test.min() >= 0 and d.x_test.max() <= 1
    # stratified: class balance of both splits within one sample of the whole
    for labels in (d.labels_train, d.labels_test):
        frac = np.bincount(labels, minlength=d.n_classes) / labels.size
        assert np.all(np.abs(frac - 1 / d.n_classes) <= 1 / labels.size + 1e-12)


def test_seeds_fixed_and_distinct():
    a, b, c = ds.load("moons"), ds.load("moons"), ds.load("moons", data_seed=1)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert not np.allclose(a.x_train, c.x_train)
    d = ds.load("moons", split_seed=3)
    assert not np.array_equal(a.labels_test, d.labels_test) or not np.allclose(a.x_test, d.x_test)


def test_split_seed_changes_the_split_only():
    """split_seed reshuffles the same generated samples (data_seed fixed) between the splits."""
    raw, labels, _ = ds.generate("moons", 300, 0)
    for split_seed in (0, 1):
        d = ds.load("moons", split_seed=split_seed)
        x_tr = d.scale_min + (d.x_train - ds.MARGIN) * (d.scale_max - d.scale_min) / (1 - 2 * ds.MARGIN)
        # every training sample is one of the generated ones, with its label
        dist = np.linalg.norm(x_tr[:, None, :] - raw[None, :, :], axis=2)
        nearest = dist.argmin(1)
        assert dist.min(1).max() < 1e-9 and np.array_equal(labels[nearest], d.labels_train)
        assert np.array_equal(np.bincount(np.concatenate([d.labels_train, d.labels_test])), np.bincount(labels))
    a, b = ds.load("moons", split_seed=0), ds.load("moons", split_seed=1)
    assert not np.array_equal(np.sort(a.labels_test), np.sort(b.labels_test)) or not np.allclose(a.x_test, b.x_test)


def test_scaling_rule_matches_closed_form():
    d = ds.load("circles")
    from sklearn.datasets import make_circles
    from sklearn.model_selection import train_test_split

    x, y = make_circles(n_samples=300, noise=ds.CIRCLES_NOISE, factor=ds.CIRCLES_FACTOR, random_state=0)
    x_tr, x_te, _, _ = train_test_split(x, y, test_size=100, random_state=0, stratify=y)
    lo, hi = x_tr.min(0), x_tr.max(0)
    np.testing.assert_allclose(d.x_train, 0.05 + 0.9 * (x_tr - lo) / (hi - lo), atol=1e-12)
    np.testing.assert_allclose(d.x_test, np.clip(0.05 + 0.9 * (x_te - lo) / (hi - lo), 0, 1), atol=1e-12)
    # a point far outside the training range is clipped to the chip range
    np.testing.assert_array_equal(d.scale(np.array([[1e3, -1e3]])), [[1.0, 0.0]])


def test_constant_feature_maps_to_half():
    out = ds.scale_features(np.array([[2.0, 1.0], [2.0, 3.0]]), np.array([2.0, 1.0]), np.array([2.0, 3.0]), clip=True)
    np.testing.assert_allclose(out, [[0.5, 0.05], [0.5, 0.95]])


def test_xor_labels_follow_corners():
    d = ds.load("xor", n_samples=400)
    # in scaled units the corners sit near the quadrant centres around the mid-point
    x = np.vstack([d.x_train, d.x_test])
    lab = np.concatenate([d.labels_train, d.labels_test])
    mid = np.median(x, axis=0)
    rule = ((x[:, 0] > mid[0]) != (x[:, 1] > mid[1])).astype(int)
    assert np.mean(rule == lab) > 0.9


def test_targets_and_prediction():
    t = ds.targets(np.array([0, 1, 1]), 2, low=0.1, high=0.9)
    np.testing.assert_allclose(t, [[0.1], [0.9], [0.9]])
    np.testing.assert_array_equal(ds.predict(np.array([[0.49], [0.51]]), 2, 0.0, 1.0), [0, 1])
    oh = ds.targets(np.array([2, 0]), 3)
    np.testing.assert_array_equal(oh, [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(ds.predict(np.array([[0.1, 0.7, 0.2]]), 3), [1])
    with pytest.raises(SpecError, match="low < high"):
        ds.targets(np.array([0, 1]), 2, low=1, high=0)


def test_unknown_dataset_names_choices():
    with pytest.raises(SpecError, match=r"dataset = 'mons'.*moons"):
        ds.load("mons")


def _write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_with_header_and_string_labels(tmp_path):
    rows = ["f1,f2,f3,label"] + [f"{i},{i % 3},{-i},{'cat' if i % 2 else 'dog'}" for i in range(20)]
    d = ds.load(_write(tmp_path, "\n".join(rows) + "\n"))
    assert d.classes == ("cat", "dog")
    assert d.n_features == 3 and d.n_outputs == 1
    assert d.x_train.shape[0] + d.x_test.shape[0] == 20
    # label mapping: 'dog' (index 1) for even first feature; undo the scaling of feature 1
    f1 = (d.x_train[:, 0] - 0.05) / 0.9 * (d.scale_max[0] - d.scale_min[0]) + d.scale_min[0]
    np.testing.assert_array_equal(d.labels_train, (np.round(f1) % 2 == 0).astype(int))


def test_csv_without_header_numeric_labels(tmp_path):
    rows = [f"{0.1 * i},{np.sin(i):.4f},{i % 3}" for i in range(30)]
    d = ds.load(_write(tmp_path, "\n".join(rows)))
    assert d.classes == ("0", "1", "2") and d.n_outputs == 3


@pytest.mark.parametrize("text,match", [
    ("1,2,0\n3,x,1\n4,5,0\n", r"line 2, column 2: 'x' is not a number"),
    ("a,b,c\n1,2,0\n3,4\n5,6,1\n", r"line 3: 2 columns, expected 3"),
    ("1,2,0\n3,4,\n", r"line 2, column 3: empty label"),
    ("1,2,0\n3,4,0\n", r"at least two classes"),
    ("", r"empty"),
    ("1,2,0\n3,nan,1\n", r"line 2, column 2: 'nan' is not finite"),
])
def test_csv_errors_name_file_line_column(tmp_path, text, match):
    p = _write(tmp_path, text, "bad.csv")
    with pytest.raises(SpecError, match=match) as info:
        ds.load(p)
    assert "bad.csv" in str(info.value) and "Fix" in str(info.value)


def test_csv_missing_file(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        ds.load(tmp_path / "nope.csv")
