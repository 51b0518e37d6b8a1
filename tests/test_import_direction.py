"""The import direction of the layers (ARCHITECTURE.md), read from the code: every import
statement of every module — module level and function-local — is checked against the layer
ranks; a module may import its own layer and the layers below, never a higher one.

Known exceptions are listed in :data:`KNOWN` with their reason; the test fails if one of
them disappears (so the list shrinks as the code is fixed) or a new violation appears.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: (prefix, rank): the longest matching prefix of a dotted module name gives its layer.
LAYERS: tuple[tuple[str, int], ...] = (
    # 0: the base — specs, errors, materials, S-matrix container, circuit algebra
    ("pipeline.errors", 0), ("pipeline.specs", 0), ("pipeline.materials", 0), ("pipeline.smatrix", 0),
    ("pipeline.touchstone", 0), ("pipeline.units_attrs", 0),
    # 1: solvers, the cache and circuit composition (peers: the cache stores what solvers make,
    #    solvers write through it, circuits compose cached S-matrices; versions asks the solver
    #    interpreter which packages made an entry)
    ("pipeline.fdtd", 1), ("pipeline.modes", 1), ("pipeline.thermal", 1), ("pipeline.thermo_optic", 1),
    ("pipeline.solver_process", 1), ("pipeline.solver_worker", 1), ("pipeline.cache", 1),
    ("pipeline.versions", 1), ("pipeline.circuit", 1), ("pipeline.charge", 1), ("pipeline.free_carrier", 1),
    # 2: device families (specs, layouts, sweeps, fit, Model, model functions)
    ("devices", 2),
    # 3: spec -> solver -> cache dispatch and the library layer
    ("pipeline.simulate", 3), ("pipeline.library", 3),
    # 4: chips (architectures, dies)
    ("pipeline.chip", 4),
    # 5: training
    ("pipeline.training", 5),
    # 6: the edges — workflows, CLI, execution, configs, notebooks, the package facade
    ("pipeline.progress", 0),
    ("pipeline.execution", 6), ("pipeline.config", 6), ("pipeline.study", 6), ("pipeline.notebook_io", 6),
    ("pipeline.cli", 6), ("workflows", 6), ("pipeline", 6),  # "pipeline": the package facade only
    ("pipeline.interop", 6),  # adapters to SAX / scikit-rf (imports library, cache, circuit, devices)
)
#: prefixes that name exactly one module (not its submodules)
EXACT = {"pipeline"}

#: (importer, imported) pairs that break the direction today, with the reason.
KNOWN: dict[tuple[str, str], str] = {}


def layer(module: str) -> int | None:
    """Rank of a dotted module name (None: third-party or stdlib)."""
    best = None
    for prefix, rank in LAYERS:
        if module == prefix or (module.startswith(prefix + ".") and prefix not in EXACT):
            if best is None or len(prefix) > len(best[0]):
                best = (prefix, rank)
    return None if best is None else best[1]


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(source: str, module: str, is_package: bool = False) -> list[str]:
    """Every module imported anywhere in ``source`` (module level and inside functions),
    relative imports resolved against ``module``."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                pkg = module.split(".") if is_package else module.split(".")[:-1]
                pkg = pkg[:len(pkg) - node.level + 1]
                base = ".".join(pkg + ([base] if base else []))
            # ``from pkg import name``: ``pkg.name`` if that is a module of this tree, else ``pkg``
            out += [f"{base}.{a.name}" if a.name != "*" and _is_module(f"{base}.{a.name}") else base
                    for a in node.names]
    return out


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def violations(edges: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """(importer, imported) pairs where a lower layer imports a higher one, reduced to the
    imported side's package prefix of :data:`LAYERS` (so KNOWN entries are stable)."""
    bad = set()
    for src, dst in edges:
        ls, ld = layer(src), layer(dst)
        if ls is not None and ld is not None and ld > ls:
            prefix = max((p for p, _ in LAYERS if dst == p or (dst.startswith(p + ".") and p not in EXACT)),
                         key=len)
            bad.add((src, prefix))
    return sorted(bad)


def code_edges() -> list[tuple[str, str]]:
    edges = []
    for top in ("pipeline", "devices", "workflows"):
        for path in sorted((ROOT / top).rglob("*.py")):
            mod = module_name(path)
            for dst in imports_of(path.read_text(), mod, path.name == "__init__.py"):
                edges.append((mod, dst))
    return edges


def test_no_lower_layer_imports_a_higher_one():
    found = violations(code_edges())
    new = [v for v in found if v not in KNOWN]
    assert not new, "imports against the layer direction (ARCHITECTURE.md):\n  " + "\n  ".join(
        f"{a} -> {b}" for a, b in new)
    fixed = [k for k in KNOWN if k not in found]
    assert not fixed, f"known exceptions no longer present, remove them from KNOWN: {fixed}"


def test_every_module_has_a_layer():
    """A new package gets its row in LAYERS (and in ARCHITECTURE.md) before it is imported."""
    unplaced = sorted({m for edge in code_edges() for m in edge
                       if m.split(".")[0] in ("pipeline", "devices", "workflows") and layer(m) is None})
    assert not unplaced, f"modules without a layer: add them to LAYERS: {unplaced[:20]}"


@pytest.mark.parametrize("src, dst", [
    ("devices.toy", "pipeline.chip.attenuator"),
    ("pipeline.chip.toy", "pipeline.cli.main"),
    ("pipeline.library.toy", "pipeline.training.run"),
    ("pipeline.specs", "devices"),
])
def test_checker_flags_a_planted_violation(src, dst):
    assert violations([(src, dst)]), (src, dst)


def test_checker_reads_function_local_and_relative_imports():
    source = ("import numpy\nfrom pipeline.errors import SpecError\n"
              "def f():\n    from pipeline.chip import attenuator\n    import pipeline.cli.main\n"
              "def g():\n    from ..training import run\n")
    found = imports_of(source, "pipeline.library.toy")
    assert {"pipeline.chip.attenuator", "pipeline.cli.main", "pipeline.training.run",
            "pipeline.errors", "numpy"} <= set(found)
    assert violations([("pipeline.library.toy", d) for d in found]) == [
        ("pipeline.library.toy", "pipeline.chip"), ("pipeline.library.toy", "pipeline.cli"),
        ("pipeline.library.toy", "pipeline.training")]


def test_allowed_directions_pass():
    assert not violations([("pipeline.chip.mesh_chip", "pipeline.library"), ("pipeline.library.figures", "devices"),
                           ("devices.mmi", "pipeline.fdtd.layout"), ("pipeline.training.run", "pipeline.chip"),
                           ("pipeline.cli.main", "pipeline.training"), ("devices.mmi", "numpy")])


def test_import_pipeline_imports_no_device_module():
    import subprocess
    import sys

    code = ("import sys, pipeline, pipeline.specs\n"
            "bad = sorted(m for m in sys.modules if m == 'devices' or m.startswith('devices.'))\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


# -- devices are pure: no solver run or cache access in a device module ----------------------------
#: Calls that run a solver or touch the entry store; a device module may define specs,
#: layouts, build/extract, fits and models, but never call these (pipeline.simulate and
#: pipeline.library do).
RUN_OR_CACHE_CALLS = frozenset({
    "get_or_compute", "publish", "read_path", "entry_paths", "DeviceCache", "run_task", "solve_modes",
    "solve_steady_state", "resolve_heated", "thermo_optic_kernel", "compute_smatrix", "media_for", "model_2d",
    "strip_modes_3d", "solve_junction", "simulate"})
#: (device module, call) pairs still present, with the reason; the test fails when one goes away.
IMPURE_KNOWN: dict[tuple[str, str], str] = {
    ("devices.mzi", "media_for"): "layout() obtains the engine's calibrated core medium for the heated arm (an "
                                  "MPB calibration); the engine should resolve a medium declared relative to core",
    ("devices.pn_phase_shifter", "get_or_compute"): "own simulate(): runner not yet moved to pipeline.simulate",
    ("devices.pn_phase_shifter", "solve_junction"): "own _compute(): build/run/extract not yet split",
    ("devices.pn_phase_shifter", "solve_modes"): "own _compute(): build/run/extract not yet split",
    ("devices.pn_phase_shifter", "resolve_heated"): "own _compute(): build/run/extract not yet split",
    ("devices.ring_coupler", "get_or_compute"): "own simulate(): runner not yet moved to pipeline.simulate",
    ("devices.ring_coupler", "compute_smatrix"): "own simulate(): runner not yet moved to pipeline.simulate",
    ("devices.ring_modulator", "get_or_compute"): "own simulate(): runner not yet moved to pipeline.simulate",
    ("devices.ring_modulator", "simulate"): "own simulate() simulates its PN section",
    ("devices.ring_modulator", "DeviceCache"): "reads its PN section entry from the cache or the shipped library",
}


def impure_calls(source: str, module: str) -> set[tuple[str, str]]:
    """(module, name) for every call of a :data:`RUN_OR_CACHE_CALLS` name in ``source``."""
    out = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", None)
            if name in RUN_OR_CACHE_CALLS:
                out.add((module, name))
    return out


def test_device_modules_neither_run_solvers_nor_touch_the_cache():
    found = set()
    for path in sorted((ROOT / "devices").glob("*.py")):
        found |= impure_calls(path.read_text(), module_name(path))
    new = sorted(found - set(IMPURE_KNOWN))
    assert not new, "device modules that run a solver or touch the cache (move it to pipeline.simulate / " \
                    "pipeline.library):\n  " + "\n  ".join(f"{m}: {c}()" for m, c in new)
    fixed = sorted(set(IMPURE_KNOWN) - found)
    assert not fixed, f"no longer present, remove them from IMPURE_KNOWN: {fixed}"


def test_purity_checker_flags_a_planted_run():
    source = "def figures_of_merit(entry, cache):\n    return cache.get_or_compute(1, 2, f)\n"
    assert impure_calls(source, "devices.toy") == {("devices.toy", "get_or_compute")}
    assert not impure_calls("def fit(x):\n    return x.sum()\n", "devices.toy")
