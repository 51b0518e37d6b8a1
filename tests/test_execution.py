"""pipeline.execution: local / existing-scheduler / SLURM / PBS clients, config validation,
and the job scripts dask-jobqueue would submit (no real queue here: see test_cluster_slurm)."""

import os
import sys

import pytest

from pipeline.errors import SpecError
from pipeline.execution import (
    DEFAULT_CLUSTER_CONFIG,
    check_address,
    load_cluster_config,
    make_jobqueue_cluster,
    open_client,
)

SLURM = {"queue": "debug", "cores": 2, "memory": "2GB", "walltime": "00:30:00"}


def _pid() -> int:
    return os.getpid()


def test_local_client_processes_one_thread_each_with_resources():
    with open_client(workers=2, resources={"solver": 1}) as client:
        workers = client.scheduler_info()["workers"].values()
        assert len(workers) == 2
        assert all(w["nthreads"] == 1 and w["resources"] == {"solver": 1} for w in workers)
        pids = set(client.run(_pid).values())
        assert len(pids) == 2 and os.getpid() not in pids  # separate processes
        assert client.submit(_pid, resources={"solver": 1}, pure=False).result() in pids
        assert client.dashboard_link.startswith("http://")


def test_existing_scheduler_and_its_resources():
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, protocol="tcp",
                      dashboard_address=":0") as lc:
        with open_client(scheduler=lc.scheduler_address) as client:
            assert client.submit(sum, [1, 2, 3]).result() == 6
        with pytest.raises(SpecError, match=r"no worker offers the resource\(s\) \['solver'\].*--resources solver=1"):
            with open_client(scheduler=lc.scheduler_address, resources={"solver": 1}):
                pass


@pytest.mark.parametrize("address", ["localhost:8786", "tcp://host", "http://h:1", "tcp://h:99999", ""])
def test_bad_scheduler_address(address):
    with pytest.raises(SpecError, match=r"scheduler = .*not a Dask scheduler address.*tcp://HOST:PORT"):
        check_address(address)


def test_unreachable_scheduler():
    with pytest.raises(SpecError, match=r"scheduler = 'tcp://127.0.0.1:9'.*no Dask scheduler answered"):
        with open_client(scheduler="tcp://127.0.0.1:9", connect_timeout=1.0):
            pass


def test_bad_arguments():
    with pytest.raises(SpecError, match=r"cluster = 'lsf': unknown cluster kind.*\['pbs', 'slurm'\]"):
        with open_client(cluster="lsf"):
            pass
    with pytest.raises(SpecError, match="choose one"):
        with open_client(scheduler="tcp://127.0.0.1:9", cluster="slurm"):
            pass
    with pytest.raises(SpecError, match="workers = 0"):
        with open_client(workers=0):
            pass
    with pytest.raises(SpecError, match="resources = "):
        with open_client(resources={"solver": 0}):
            pass


def test_missing_and_bad_config_keys(tmp_path):
    with pytest.raises(SpecError, match=r"cluster.slurm.memory is missing: set memory = '2GB' in \[slurm\]"):
        load_cluster_config("slurm", {k: v for k, v in SLURM.items() if k != "memory"})
    cfg = tmp_path / "c.toml"
    cfg.write_text('[slurm]\nqueue = "debug"\ncores = 1\nmemory = "2GB"\n')
    # walltime not given: left to dask's configuration (jobqueue.slurm.walltime), not required
    assert "walltime" not in load_cluster_config("slurm", cfg).options
    with pytest.raises(SpecError, match=r"has no \[pbs\] section"):
        load_cluster_config("pbs", cfg)
    with pytest.raises(SpecError, match="cannot be read"):
        load_cluster_config("slurm", tmp_path / "nope.toml")
    bad = {"cores": "two", "memory": "lots", "walltime": "1 hour", "processes": 3, "job_cpu": 0}
    messages = {"cores": "expected int", "memory": "not a size", "walltime": "HH:MM:SS",
                "processes": "must divide cores", "job_cpu": ">= 1"}
    for key, value in bad.items():
        with pytest.raises(SpecError, match=rf"cluster.slurm.{key} = .*{messages[key]}"):
            load_cluster_config("slurm", {**SLURM, key: value})
    with pytest.raises(SpecError, match=r"\[slurm\] procs = 1 in the config mapping: unknown key\. "
                                        r"Did you mean 'processes'\?"):
        load_cluster_config("slurm", {**SLURM, "procs": 1})
    with pytest.raises(SpecError, match="resource_spec = .*unknown key"):  # PBS only
        load_cluster_config("slurm", {**SLURM, "resource_spec": "select=1"})


def test_cluster_toml_typo_did_you_mean(tmp_path):
    cfg = tmp_path / "cluster.toml"
    cfg.write_text('[slurm]\nqueue = "debug"\ncores = 1\nmemory = "2GB"\nwaltime = "01:00:00"\n')
    with pytest.raises(SpecError, match=rf"\[slurm\] waltime = \"01:00:00\" in {cfg}: unknown key\. "
                                        r"Did you mean 'walltime'\?"):
        load_cluster_config("slurm", cfg)


def test_any_jobqueue_keyword_passes_through(tmp_path):
    """Keywords of SLURMCluster / SLURMJob / Job beyond photoprop's old list (job_cpu, job_mem,
    project...) are accepted and reach the job script."""
    section = {**SLURM, "job_cpu": 4, "job_mem": "3GB", "account": "photonics", "job_name": "pp",
               "job_directives_skip": ["--mem"]}
    spec = load_cluster_config("slurm", section)
    assert spec.options["job_cpu"] == 4 and spec.cluster_kwargs()["job_cpu"] == 4
    cluster = make_jobqueue_cluster("slurm", spec)
    try:
        lines = cluster.job_script().splitlines()
    finally:
        cluster.close()
    assert "#SBATCH --cpus-per-task=4" in lines and "#SBATCH -A photonics" in lines, lines
    assert "#SBATCH -J pp" in lines and not any(line.startswith("#SBATCH --mem") for line in lines), lines


def test_dask_jobqueue_config_is_respected(tmp_path):
    """Keys the section does not give come from the dask config (a user's jobqueue.yaml):
    photoprop fills in no defaults of its own over them; only processes (one thread per
    worker) when neither sets it, and the workers' --resources on top of their extra args."""
    import dask

    cfg = {"jobqueue.slurm.cores": 4, "jobqueue.slurm.memory": "8GB", "jobqueue.slurm.walltime": "05:00:00",
           "jobqueue.slurm.queue": "long", "jobqueue.slurm.worker-extra-args": ["--lifetime", "1h"]}
    with dask.config.set(cfg):
        spec = load_cluster_config("slurm", {"account": "photonics"})  # cores, memory: from the dask config
        kwargs = spec.cluster_kwargs(resources={"solver": 1})
        assert not {"cores", "memory", "walltime", "queue", "python"} & set(kwargs), kwargs
        assert kwargs["processes"] == 4  # one thread per worker: cores from the dask config
        assert kwargs["worker_extra_args"] == ["--lifetime", "1h", "--resources", "solver=1"]
        cluster = make_jobqueue_cluster("slurm", spec, resources={"solver": 1})
        try:
            script = cluster.job_script()
        finally:
            cluster.close()
        lines = script.splitlines()
        for line in ("#SBATCH -p long", "#SBATCH --cpus-per-task=4", "#SBATCH -t 05:00:00", "#SBATCH -A photonics"):
            assert line in lines, (line, script)
        assert "--nworkers 4" in script and "--nthreads 1" in script and "--lifetime 1h" in script
        # the section's own value wins over the dask config's
        spec = load_cluster_config("slurm", {"cores": 2, "processes": 1})
        assert spec.cluster_kwargs()["cores"] == 2 and spec.effective("memory") == "8GB"
        with dask.config.set({"jobqueue.slurm.processes": 2}):  # a configured processes is kept
            assert "processes" not in load_cluster_config("slurm", {"account": "x"}).cluster_kwargs()


def test_shipped_config_has_both_sections():
    for kind in ("slurm", "pbs"):
        sec = load_cluster_config(kind, DEFAULT_CLUSTER_CONFIG)
        assert {"queue", "cores", "memory", "walltime"} <= set(sec.options)


def test_pbs_job_script():
    section = {"queue": "workq", "cores": 2, "memory": "4GB", "walltime": "02:00:00", "processes": 2,
               "resource_spec": "select=1:ncpus=2:mem=4GB", "job_extra_directives": ["-j oe"],
               "account": "photonics"}
    cluster = make_jobqueue_cluster("pbs", {"pbs": section}, resources={"solver": 1})
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    lines = script.splitlines()
    assert lines[0].startswith("#!")
    for directive in ("#PBS -q workq", "#PBS -l select=1:ncpus=2:mem=4GB", "#PBS -l walltime=02:00:00",
                      "#PBS -A photonics", "#PBS -j oe"):
        assert directive in lines, (directive, script)
    cmd = lines[-1]
    assert cmd.startswith(f"{sys.executable} -m distributed.cli.dask_worker tcp://")
    # 2 cores as 2 worker processes of 1 thread; memory split between them; one solver each
    for arg in ("--nthreads 1", "--nworkers 2", "--memory-limit 1.86GiB", "--resources solver=1", "--nanny"):
        assert arg in cmd, (arg, cmd)


def test_slurm_job_script(tmp_path):
    section = {**SLURM, "python": "/opt/venv/bin/python", "log_directory": str(tmp_path / "logs"),
               "job_extra_directives": ["--exclusive"], "job_script_prologue": ["export OMP_NUM_THREADS=1"]}
    cluster = make_jobqueue_cluster("slurm", section)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in ("#SBATCH -p debug", "#SBATCH --cpus-per-task=2", "#SBATCH --mem=2G", "#SBATCH -t 00:30:00",
                 "#SBATCH --exclusive", f"#SBATCH -o {tmp_path}/logs/dask-worker-%J.out", "export OMP_NUM_THREADS=1"):
        assert line in script.splitlines(), (line, script)
    assert "/opt/venv/bin/python -m distributed.cli.dask_worker" in script and "--nthreads 1 " in script
    assert (tmp_path / "logs").is_dir()


@pytest.mark.parametrize("option, message", [
    (["--cluster", "lsf"], "cluster = 'lsf': unknown cluster kind"),
    (["--scheduler", "localhost:8786"], "scheduler = 'localhost:8786': not a Dask scheduler address"),
])
def test_library_build_uses_the_factory(tmp_path, option, message):
    """`photoprop library build` reaches open_client (errors before any solver runs)."""
    from typer.testing import CliRunner

    from pipeline.cli.main import app

    cfg = tmp_path / "lib.toml"
    cfg.write_text('[[entry]]\ndevice = "waveguide"\nsolver = "meep2d"\nspec = { length = 2.0 }\n')
    res = CliRunner().invoke(app, ["library", "--cache", str(tmp_path / "lib"), "build", "--config", str(cfg),
                                   *option])
    assert res.exit_code == 2 and message in res.output, res.output
    assert not (tmp_path / "lib").exists() or not any((tmp_path / "lib").rglob("*.h5"))
