"""The chip package's module structure: the architectures' public doors, one-way imports
between its modules (no cycles), and the heater drive both architectures share."""

import ast
from pathlib import Path

import numpy as np

import pipeline.chip
from pipeline.chip import heater_drive
from pipeline.library import Library
from pipeline.library.figures import heater_crosstalk

CHIP = Path(pipeline.chip.__file__).parent


def test_public_doors():
    from pipeline.chip.attenuator import AttenuatorArchitecture, AttenuatorDie, AttenuatorSpec
    from pipeline.chip.mesh_network import MeshArchitecture, MeshDie, MeshNetwork, MeshNetworkSpec

    assert isinstance(AttenuatorArchitecture(AttenuatorSpec()).sample_die("ideal", 0), AttenuatorDie)
    assert issubclass(MeshArchitecture, MeshNetwork) and MeshNetworkSpec().n_modes >= 2
    assert isinstance(MeshArchitecture().sample_die("ideal", 0), MeshDie)


def _chip_imports(path: Path) -> set[str]:
    """pipeline.chip modules imported by ``path`` at module level."""
    out = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        out |= {n.split(".")[2] for n in names if n.startswith("pipeline.chip.") and
                (CHIP / f"{n.split('.')[2]}.py").exists()}
    return out


def test_chip_modules_import_one_way():
    graph = {p.stem: _chip_imports(p) for p in CHIP.glob("*.py")}
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in graph.get(m, ()):
            assert state.get(d) != 1, f"import cycle: {' -> '.join(path + [m, d])}"
            if d not in state:
                visit(d, path + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])


def test_dac_clips_and_rounds_to_its_grid():
    full, bits = 2.0, 3  # grid 2/7
    p = np.array([-0.1, 0.0, 0.1, 0.15, 1.0, 2.0, 2.5])
    np.testing.assert_array_equal(heater_drive.dac(p, full, bits),
                                  np.round(np.clip(p, 0, full) / (full / 7)) * (full / 7))
    np.testing.assert_array_equal(heater_drive.dac(p, full, 0), np.clip(p, 0, full))


def test_block_crosstalk_places_each_row_on_its_block():
    rows, lib = [np.arange(5), np.arange(5, 8)], Library()
    c = heater_drive.block_crosstalk(lib, rows, 8, 20.0, 1.0)
    np.testing.assert_array_equal(c[:5, :5], heater_crosstalk(lib, 5, 20.0, 1.0))
    np.testing.assert_array_equal(c[5:, 5:], heater_crosstalk(lib, 3, 20.0, 1.0))
    assert not c[:5, 5:].any() and not c[5:, :5].any()
    assert [m.shape for m in heater_drive.row_crosstalk(lib, rows, 20.0, 1.0)] == [(5, 5), (3, 3)]
