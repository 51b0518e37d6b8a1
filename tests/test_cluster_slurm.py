"""A study on a REAL one-node SLURM cluster (Debian's slurmctld/slurmd/munge, started by
workflows/slurm/start-local-cluster.sh): the Dask workers arrive as SLURM jobs (squeue)
and results.nc equals a local run with the same cells. ``make test-cluster``."""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import xarray as xr

from pipeline.execution import open_client
from pipeline import open_results
from pipeline.study import grid, run_study

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parent.parent
START = ROOT / "workflows" / "slurm" / "start-local-cluster.sh"
STOP = ROOT / "workflows" / "slurm" / "stop-local-cluster.sh"
TESTS = Path(__file__).resolve().parent
JOB_NAME = "photoprop-test-worker"
CELLS = grid(seed=[0, 1, 2], width_sigma=[0.0, 0.005])
FN = "study_cells:coupler_spread"


def _slurm_up() -> bool:
    if shutil.which("sinfo") is None:
        return False
    res = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30)
    return res.returncode == 0 and any(s.strip() in ("idle", "mix", "alloc") for s in res.stdout.splitlines())


def _our_jobs() -> dict[str, str]:
    """job id → state of this test's worker jobs, from squeue."""
    res = subprocess.run(["squeue", "-h", "-n", JOB_NAME, "-o", "%i %T"], capture_output=True, text=True,
                         timeout=30, check=True)
    return dict(line.split() for line in res.stdout.splitlines() if line.strip())


@pytest.fixture(scope="module")
def slurm():
    was_up = _slurm_up()
    if not was_up:
        if os.geteuid() != 0:
            pytest.skip("no running SLURM cluster, and starting one (workflows/slurm/start-local-cluster.sh) "
                        "needs root: run `make test-cluster` as root or start SLURM first")
        res = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=900)
        assert res.returncode == 0, f"start-local-cluster.sh failed:\n{res.stdout}\n{res.stderr}"
        assert _slurm_up()
    yield
    if not was_up:  # leave a cluster someone else started running
        res = subprocess.run(["bash", str(STOP)], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        assert not _slurm_up()


def test_start_script_is_idempotent(slurm):
    res = subprocess.run(["bash", str(START)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0 and "SLURM up" in res.stdout, res.stderr


def test_study_on_slurm_equals_local_run(slurm, tmp_path):
    section = {"queue": "debug", "cores": 1, "processes": 1, "memory": "1GB", "walltime": "00:10:00",
               "job_name": JOB_NAME, "log_directory": str(tmp_path / "logs"),
               # the workers import the test's cell function (tests/study_cells.py)
               "job_script_prologue": [f"export PYTHONPATH={TESTS}"]}
    with open_client(cluster="slurm", workers=2, config={"slurm": section}) as client:
        client.wait_for_workers(2, timeout=120)
        jobs = _our_jobs()
        assert len(jobs) == 2 and set(jobs.values()) == {"RUNNING"}, jobs
        worker_jobs = set(client.run(os.getenv, "SLURM_JOB_ID").values())
        assert worker_jobs == set(jobs), (worker_jobs, jobs)  # each Dask worker runs inside one SLURM job
        report = run_study(CELLS, FN, tmp_path / "slurm", client, progress=False)
        assert (report["computed"], report["failed"]) == (len(CELLS), [])
    deadline = time.time() + 60  # closing the cluster cancels its jobs
    while _our_jobs() and time.time() < deadline:
        time.sleep(0.5)
    assert _our_jobs() == {}
    with open_client(workers=2) as client:
        run_study(CELLS, FN, tmp_path / "local", client, progress=False)
    xr.testing.assert_identical(open_results(tmp_path / "slurm"), open_results(tmp_path / "local"))


STUDY = """
[study]
name = "slurm-small"
architecture = "attenuator"
datasets = ["moons"]
seeds = [0, 1]
algorithms = "ideal,offline,insitu"
epochs = 3
n_samples = 120
mode = "product"

[grid]
optical_power = [1e-6, 1e-4]
"""


def test_photoprop_study_cli_on_slurm_equals_local(slurm, tmp_path):
    """`photoprop study --cluster slurm`: training cells on SLURM-job workers (seen in squeue while
    the study runs) give the same numbers as a local run with the same seeds."""
    cfg = tmp_path / "study.toml"
    cfg.write_text(STUDY)
    cluster_cfg = tmp_path / "cluster.toml"
    cluster_cfg.write_text(f'[slurm]\nqueue = "debug"\ncores = 1\nprocesses = 1\nmemory = "1GB"\n'
                           f'walltime = "00:10:00"\njob_name = "{JOB_NAME}"\nlog_directory = "{tmp_path / "logs"}"\n')
    exe = Path(os.sys.executable).with_name("photoprop")
    proc = subprocess.Popen([str(exe), "study", "--config", str(cfg), "--out", str(tmp_path / "slurm"),
                             "--cluster", "slurm", "--cluster-config", str(cluster_cfg), "--workers", "2", "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    seen: set[str] = set()
    while proc.poll() is None:
        seen |= {j for j, state in _our_jobs().items() if state == "RUNNING"}
        time.sleep(0.3)
    out, err = proc.communicate()
    assert proc.returncode == 0, err[-3000:]
    assert len(seen) >= 1, "no worker ran as a SLURM job"
    from workflows.study import run

    run(cfg, out=tmp_path / "local", workers=2, progress=False)
    slurm_res, local_res = open_results(tmp_path / "slurm"), open_results(tmp_path / "local")
    for name in ("final_test_accuracy", "train_loss", "test_loss", "measurements"):
        xr.testing.assert_identical(slurm_res[name], local_res[name])
