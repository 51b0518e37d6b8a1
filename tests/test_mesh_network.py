"""The ``mesh`` architecture and its dies: ideal die = ideal model, in-situ (Hughes)
gradients = finite differences of the die's own loss, impairments act as stated."""

import numpy as np
import pytest

from pipeline.chip.impairments import IDEAL, REALISTIC
from pipeline.chip.interface import Architecture, Die
from pipeline.chip.mesh_network import MeshNetwork, MeshNetworkSpec
from pipeline.errors import SpecError


@pytest.fixture(scope="module")
def arch():
    return MeshNetwork(MeshNetworkSpec(n_modes=4, n_layers=3))


@pytest.fixture(scope="module")
def problem(arch):
    rng = np.random.default_rng(0)
    return arch.init_params(rng), rng.uniform(0, 1, (12, 2)), rng.uniform(0, 0.5, (12, 2))


def fd(f, p, h=1e-6):
    out = []
    for i in range(p.size):
        e = np.zeros(p.size)
        e[i] = h
        out.append((f(p + e) - f(p - e)) / (2 * h))
    return np.array(out)


def test_protocols(arch):
    die = arch.sample_die(IDEAL, 0)
    assert isinstance(arch, Architecture) and isinstance(die, Die)


def test_ideal_die_equals_ideal_model(arch, problem):
    p, x, t = problem
    die = arch.sample_die(IDEAL, 3)
    die.program(p)
    assert np.abs(die.infer(x) - arch.ideal_forward(p, x)).max() < 1e-12
    assert abs(die.true_loss(p, x, t) - arch.ideal_loss_and_grad(p, x, t)[0]) < 1e-12


def test_ideal_gradient_matches_finite_differences(arch, problem):
    p, x, t = problem
    loss, grad = arch.ideal_loss_and_grad(p, x, t)
    num = fd(lambda q: 0.5 * np.mean(np.sum((arch.ideal_forward(q, x) - t) ** 2, 1)), p)
    assert np.abs(grad - num).max() < 1e-6 * np.abs(num).max()


def test_insitu_gradient_on_lossless_noise_free_die_equals_fd_of_its_loss(arch, problem):
    p, x, t = problem
    die = arch.sample_die(IDEAL, 1)
    die.program(p)
    loss, grad = die.insitu_gradient(x, t)
    num = fd(lambda q: die.true_loss(q, x, t), p)
    assert np.abs(grad - num).max() < 1e-6 * np.abs(num).max()
    assert abs(loss - die.true_loss(p, x, t)) < 1e-12
    assert die.measurements > 3 * 2 * arch.k * x.shape[0] * 3


def test_realistic_die_differs_and_its_measured_gradient_tracks_the_truth(arch, problem):
    p, x, t = problem
    die = arch.sample_die(REALISTIC.scaled(optical_power=1e-3, dac_bits=0), 2)  # continuous: FD is defined
    die.program(p)
    assert abs(die.true_loss(p, x, t) - arch.ideal_loss_and_grad(p, x, t)[0]) > 1e-4
    _, grad = die.insitu_gradient(x, t)
    true = fd(lambda q: die.true_loss(q, x, t), p, h=1e-4)
    cos = grad @ true / np.linalg.norm(grad) / np.linalg.norm(true)
    assert 0.95 < cos < 0.9999  # biased by loss, noise, tap gains, crosstalk, but informative


def test_noise_falls_with_optical_power(arch, problem):
    p, x, t = problem
    spread = []
    for power in (1e-6, 1e-3):
        die = arch.sample_die(IDEAL.scaled(detector_noise=True, optical_power=power), 4)
        die.program(p)
        spread.append(np.std([die.infer(x)[0, 0] for _ in range(30)]))
    assert spread[0] > 30 * spread[1] > 0


def test_thermal_crosstalk_shifts_phases_as_its_matrix_says():
    from devices.phase_shifter import crosstalk_matrix

    arch = MeshNetwork(MeshNetworkSpec(n_modes=4, n_layers=1))
    die = arch.sample_die(IDEAL.scaled(thermal_crosstalk_scale=1.0), 0)
    p = np.zeros(arch.n_params)
    p[0] = np.pi  # MZI 0 (column 0, modes 0-1) theta; MZI 1 (column 0, modes 2-3) is its row neighbour
    phases = die._realised_phases(die.heater_powers(p), noise=False)
    x = crosstalk_matrix(2, 2 * arch.spec.mode_pitch)[1, 0]
    assert arch.layout.column[1] == 0 and arch.layout.modes[1] == 2
    assert np.isclose(phases[0, 0, 1], np.pi * x, rtol=1e-12) and np.isclose(phases[0, 0, 0], np.pi)


def test_dataset_has_named_dims_and_units(arch):
    ds = arch.sample_die(REALISTIC, 5).to_dataset()
    assert ds["dw"].dims == ("layer", "mzi", "coupler") and ds["dw"].attrs["units"] == "um"
    assert ds.attrs["architecture"] == "mesh" and 0.4 < float(ds["kappa2"].mean()) < 0.6


def test_bad_input_is_refused(arch):
    with pytest.raises(SpecError, match="scaled to"):
        arch.encode(np.array([[0.2, 1.5]]))
    with pytest.raises(SpecError, match="params has shape"):
        arch.ideal_forward(np.zeros(3), np.zeros((1, 2)))
    with pytest.raises(SpecError, match="n_in"):
        MeshNetworkSpec(n_modes=3, n_in=3)


def test_task_sized_architecture_for_the_training_registry():
    from pipeline.chip.mesh_network import MeshArchitecture

    a = MeshArchitecture(n_in=4, n_out=3, n_layers=2)
    assert (a.spec.n_modes, a.n_in, a.n_out, a.n_params) == (5, 4, 3, 2 * 2 * 10)
    rng = np.random.default_rng(1)
    y = a.ideal_forward(a.init_params(rng), rng.uniform(0, 1, (6, 4)))
    assert y.shape == (6, 3) and np.all(y >= 0)
