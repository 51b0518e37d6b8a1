"""MZI meshes: programming from a unitary, against the netlist composition of the same MZIs."""

import numpy as np
import pytest

from pipeline.circuit import Netlist, compose
from pipeline.circuit.mesh import IDEAL_COUPLER, decompose, mesh_layout, mesh_matrix, mzi_matrix
from pipeline.errors import SpecError
from pipeline.smatrix import make_smatrix


def haar(n, seed):
    rng = np.random.default_rng(seed)
    q, r = np.linalg.qr(rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


@pytest.mark.parametrize("kind", ["clements", "reck"])
@pytest.mark.parametrize("n", [2, 3, 4, 5, 8, pytest.param(64, marks=pytest.mark.slow)])  # 64: ~30 s each
def test_decomposition_reproduces_target_unitary(kind, n):
    u = haar(n, n)
    layout, theta, phi, out = decompose(u, kind)
    assert layout.n_mzi == n * (n - 1) // 2
    assert layout.n_columns == ((n if n > 2 else 1) if kind == "clements" else 2 * n - 3)
    assert np.abs(mesh_matrix(layout, theta, phi, out) - u).max() < 1e-12


def test_ideal_mesh_is_unitary_for_any_phases():
    layout = mesh_layout(64)
    rng = np.random.default_rng(3)
    u = mesh_matrix(layout, rng.uniform(0, 2 * np.pi, layout.n_mzi), rng.uniform(0, 2 * np.pi, layout.n_mzi))
    assert np.abs(u.conj().T @ u - np.eye(64)).max() < 1e-12


def test_mzi_states_and_closed_form():
    # θ = 0: cross; θ = π: bar; closed form of the docstring
    assert np.allclose(np.abs(mzi_matrix(0.0, 0.3)) ** 2, [[0, 1], [1, 0]])
    assert np.allclose(np.abs(mzi_matrix(np.pi, 0.3)) ** 2, [[1, 0], [0, 1]])
    th, ph = 0.9, -1.2
    s, c = np.sin(th / 2), np.cos(th / 2)
    closed = 1j * np.exp(1j * th / 2) * np.array([[np.exp(1j * ph) * s, c], [np.exp(1j * ph) * c, -s]])
    assert np.allclose(mzi_matrix(th, ph), closed)


def test_fast_path_matches_netlist_composition():
    """A 4-mode Clements mesh built as a netlist of 2×2 MZI instances (connection-matrix
    method) equals the transfer-matrix fast path, including non-ideal couplers."""
    n = 4
    layout, theta, phi, _ = decompose(haar(n, 7))

    wl = np.array([1.55])
    mzis, instances, connections = [], {}, []
    last = {m: ("in", m) for m in range(n)}
    for k, m in enumerate(layout.modes):
        c1 = np.array([[np.cos(0.8), 1j * np.sin(0.8)], [1j * np.sin(0.8), np.cos(0.8)]])  # 51:49-ish coupler
        t = mzi_matrix(theta[k], phi[k], coupler1=c1, coupler2=IDEAL_COUPLER, arm_transmission=0.98)
        mzis.append(t)
        s = np.zeros((1, 4, 4), complex)  # ports a0,a1 (in) b0,b1 (out); unidirectional transfer
        s[0, 2:, :2] = t
        s[0, :2, 2:] = t.T  # reciprocal
        instances[f"mzi{k}"] = make_smatrix(s, wl, ["a0", "a1", "b0", "b1"])
        for j, mode in enumerate((m, m + 1)):
            src = last[mode]
            if src[0] != "in":
                connections.append((f"{src[0]},b{src[1]}", f"mzi{k},a{j}"))
            else:
                last[("port", mode)] = f"mzi{k},a{j}"
            last[mode] = (f"mzi{k}", j)
    ports = {f"in{m}": last[("port", m)] for m in range(n)}
    ports.update({f"out{m}": f"{last[m][0]},b{last[m][1]}" for m in range(n)})
    s = compose(Netlist(instances, connections, ports))
    composed = s.sel(port_out=[f"out{m}" for m in range(n)], port_in=[f"in{m}" for m in range(n)]).values[0]
    fast = mesh_matrix(layout, theta, phi, mzis=np.array(mzis))
    assert np.abs(composed - fast).max() < 1e-12



def test_non_unitary_target_is_refused():
    with pytest.raises(SpecError, match="not unitary"):
        decompose(np.array([[1, 0], [0, 0.5]]))


@pytest.mark.parametrize("kind", ["clements", "reck"])
@pytest.mark.parametrize("n", [2, 3, 4, 7, 8, 16])
def test_mesh_layout_is_the_order_decompose_produces(kind, n):
    """mesh_layout builds the order from the index logic alone (O(N²)); it must equal the
    order of a real decomposition of a random unitary, column by column."""
    rng = np.random.default_rng(n)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)) + 1j * rng.normal(size=(n, n)))
    ref, lay = decompose(q, kind)[0], mesh_layout(n, kind)
    assert np.array_equal(lay.modes, ref.modes) and np.array_equal(lay.column, ref.column)
    assert lay.n_mzi == n * (n - 1) // 2
