"""The solver-task boundary (pipeline.solver_process): interpreter setting, protocol, result packing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from pipeline.errors import SolverError
from pipeline import solver_process as sp


def test_missing_solver_interpreter_is_named_with_a_fix(monkeypatch, tmp_path):
    monkeypatch.setenv(sp.ENV_VAR, str(tmp_path / "no-python"))
    assert sp.separate_interpreter()
    with pytest.raises(SolverError, match=r"PHOTOPROP_SOLVER_PYTHON = .*no-python.*no executable interpreter.*Fix"):
        sp.run_task({"kind": "heat"})


def test_setting_file_in_the_prefix_names_the_interpreter(monkeypatch, tmp_path):
    monkeypatch.delenv(sp.ENV_VAR, raising=False)
    monkeypatch.delenv(sp.IN_WORKER_ENV, raising=False)
    (tmp_path / sp.SETTING_FILE).write_text("/opt/solvers/bin/python\n")
    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    assert sp.solver_python() == "/opt/solvers/bin/python" and sp.separate_interpreter()
    monkeypatch.setenv(sp.IN_WORKER_ENV, "1")  # inside a solver process: solve here
    assert not sp.separate_interpreter()


def test_dataset_and_arrays_survive_the_boundary(tmp_path):
    ds = xr.Dataset({"neff": (("wavelength", "mode"), np.array([[2.4, 1.7]]), {"units": "1"}),
                     "Ex": (("mode", "x"), np.array([[1 + 2j, 3j], [0.5, -1j]]))},
                    coords={"wavelength": ("wavelength", [1.55], {"units": "um"}), "mode": [0, 1]},
                    attrs={"solver": "mpb", "margin_um": [1.0, 1.0]})
    packed = sp.pack_result({**sp.dataset_to_result(ds), "extra": np.arange(3.0), "n": 2}, tmp_path)
    back = sp.unpack_result(json.loads(json.dumps(packed)), tmp_path)
    xr.testing.assert_identical(sp.dataset_from_result(back), ds)
    assert back["n"] == 2 and np.array_equal(back["extra"], np.arange(3.0))


def test_worker_refuses_a_task_of_another_protocol(tmp_path):
    task = tmp_path / "task.json"
    task.write_text(json.dumps({"kind": "heat", "protocol": sp.PROTOCOL + 1}))
    root = Path(__file__).resolve().parents[1]
    res = subprocess.run([sys.executable, "-m", "pipeline.solver_worker", str(task), str(tmp_path / "r.json")],
                         capture_output=True, text=True, cwd=root)
    assert res.returncode != 0 and "different photoprop version" in res.stderr
    assert not (tmp_path / "r.json").exists()
