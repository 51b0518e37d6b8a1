"""Where Dask work runs: a local cluster, an existing scheduler, or a SLURM / PBS job-queue
cluster — one context manager, :func:`open_client`, for every workflow.

* default: a :class:`~distributed.LocalCluster` on this machine — processes, one thread
  each (solvers and numpy release the GIL poorly across threads), ``workers`` of them
  (default: the number of cores);
* ``scheduler="tcp://HOST:PORT"``: connect to an existing Dask scheduler;
* ``cluster="slurm" | "pbs"``: a dask-jobqueue ``SLURMCluster`` / ``PBSCluster`` built from
  the ``[slurm]`` / ``[pbs]`` section of a TOML config (default
  ``workflows/cluster.toml``), scaled to ``workers`` batch jobs (default: the section's
  ``jobs``, else 1).

Worker ``resources`` (e.g. ``{"solver": 1}``: a worker runs one solver task at a time) are
given to local workers directly and to job-queue workers as ``--resources``.

The dashboard address is ``client.dashboard_link``; callers print it.
"""

from __future__ import annotations

import os
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.errors import SpecError

#: The example / default job-queue configuration shipped with the repository.
DEFAULT_CLUSTER_CONFIG = Path(__file__).resolve().parent.parent / "workflows" / "cluster.toml"

#: cluster kind → dask-jobqueue class name
CLUSTER_KINDS = {"slurm": "SLURMCluster", "pbs": "PBSCluster"}

#: keys every job-queue section must set, with an example value for the error message
REQUIRED_KEYS: dict[str, str] = {"queue": "'debug'", "cores": "1", "memory": "'2GB'", "walltime": "'01:00:00'"}

#: optional keys → expected Python type(s)
OPTIONAL_KEYS: dict[str, tuple[type, ...]] = {
    "python": (str,), "processes": (int,), "jobs": (int,), "account": (str,), "log_directory": (str,),
    "job_extra_directives": (list,), "job_directives_skip": (list,), "job_script_prologue": (list,),
    "worker_extra_args": (list,), "interface": (str,), "local_directory": (str,), "death_timeout": (int, float),
    "resource_spec": (str,), "job_name": (str,),
}
_TYPES: dict[str, tuple[type, ...]] = {"queue": (str,), "cores": (int,), "memory": (str,), "walltime": (str,),
                                       **OPTIONAL_KEYS}
_PBS_ONLY = {"resource_spec"}
_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss)://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")
_WALLTIME = re.compile(r"^(\d+-)?\d{1,3}(:\d{2}){0,2}$")


def check_address(address: str) -> str:
    """Validate a scheduler address ``PROTOCOL://HOST:PORT`` (SpecError naming the fix)."""
    m = _ADDRESS.match(address.strip()) if isinstance(address, str) else None
    if m is None or not 0 < int(m.group(3)) < 65536:
        raise SpecError(f"scheduler = {address!r}: not a Dask scheduler address. Fix: give tcp://HOST:PORT "
                        "(e.g. tcp://10.0.0.5:8786, as printed by `dask scheduler`).")
    return address.strip()


def load_cluster_config(kind: str, config: str | Path | Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The validated ``[kind]`` section of ``config`` (a TOML path, a parsed document, or
    the section itself as a mapping); defaults to :data:`DEFAULT_CLUSTER_CONFIG`."""
    if kind not in CLUSTER_KINDS:
        raise SpecError(f"cluster = {kind!r}: unknown cluster kind. Fix: use one of {sorted(CLUSTER_KINDS)} "
                        "(or scheduler='tcp://HOST:PORT' for an existing Dask cluster).")
    if config is None or isinstance(config, (str, Path)):
        path = Path(config) if config is not None else DEFAULT_CLUSTER_CONFIG
        try:
            doc: Mapping[str, Any] = tomllib.loads(path.read_text())
        except OSError as exc:
            raise SpecError(f"cluster config {path}: cannot be read ({exc.strerror}). Fix: pass an existing "
                            f"TOML file with a [{kind}] section (see workflows/cluster.toml).") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"cluster config {path}: invalid TOML ({exc}). Fix: correct the file.") from exc
        where = str(path)
        if kind not in doc:
            raise SpecError(f"cluster config {where} has no [{kind}] section. Fix: add one (queue, cores, memory, "
                            f"walltime; see workflows/cluster.toml).")
        section = doc[kind]
    elif isinstance(config, Mapping):
        where = "the config mapping"
        section = config[kind] if kind in config and isinstance(config[kind], Mapping) else config
    else:
        raise SpecError(f"config = {config!r}: expected a TOML path or a mapping. Fix: pass workflows/cluster.toml.")
    if not isinstance(section, Mapping):
        raise SpecError(f"cluster.{kind} in {where} is not a table. Fix: write it as a [{kind}] section.")
    out = dict(section)
    for key, example in REQUIRED_KEYS.items():
        if key not in out:
            raise SpecError(f"cluster.{kind}.{key} is missing: set {key} = {example} in [{kind}] of {where}.")
    allowed = set(_TYPES) - (set() if kind == "pbs" else _PBS_ONLY)
    for key, value in out.items():
        if key not in allowed:
            raise SpecError(f"cluster.{kind}.{key} = {value!r}: unknown key. Fix: remove it or use one of "
                            f"{sorted(allowed)}.")
        types = _TYPES[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise SpecError(f"cluster.{kind}.{key} = {value!r}: expected {' or '.join(t.__name__ for t in types)}. "
                            f"Fix: set {key} in [{kind}] of {where}.")
    for key in ("cores", "processes", "jobs"):
        if key in out and out[key] < 1:
            raise SpecError(f"cluster.{kind}.{key} = {out[key]!r}: must be >= 1. Fix: set {key} = 1 or more.")
    from dask.utils import parse_bytes

    try:
        parse_bytes(out["memory"])
    except ValueError:
        raise SpecError(f"cluster.{kind}.memory = {out['memory']!r}: not a size. Fix: set memory = '2GB'.") from None
    if not _WALLTIME.match(out["walltime"]):
        raise SpecError(f"cluster.{kind}.walltime = {out['walltime']!r}: not a wall time. Fix: set "
                        "walltime = 'HH:MM:SS' (e.g. '01:00:00').")
    if "processes" in out and out["cores"] % out["processes"]:
        raise SpecError(f"cluster.{kind}.processes = {out['processes']}: must divide cores = {out['cores']}. "
                        f"Fix: set processes = {out['cores']} (one thread per worker).")
    return out


def _resource_args(resources: Mapping[str, float] | None) -> list[str]:
    if not resources:
        return []
    return ["--resources", ",".join(f"{k}={v:g}" for k, v in resources.items())]


def make_jobqueue_cluster(kind: str, config: str | Path | Mapping[str, Any] | None = None, *,
                          resources: Mapping[str, float] | None = None, dashboard_address: str = ":0") -> Any:
    """An unscaled dask-jobqueue cluster of ``kind`` from its config section (no job is
    submitted until it is scaled; ``cluster.job_script()`` shows what would be)."""
    import dask_jobqueue

    section = load_cluster_config(kind, config)
    kwargs = {k: v for k, v in section.items() if k != "jobs"}
    kwargs.setdefault("processes", kwargs["cores"])  # one thread per worker process
    kwargs.setdefault("python", sys.executable)
    if "log_directory" in kwargs:
        Path(kwargs["log_directory"]).mkdir(parents=True, exist_ok=True)
    kwargs["worker_extra_args"] = [*kwargs.get("worker_extra_args", []), *_resource_args(resources)]
    cls = getattr(dask_jobqueue, CLUSTER_KINDS[kind])
    return cls(scheduler_options={"dashboard_address": dashboard_address}, **kwargs)


def _check_resources(client: Any, resources: Mapping[str, float] | None, address: str) -> None:
    """Workers of an existing cluster must offer the requested resources, else tasks wait forever."""
    if not resources:
        return
    workers = client.scheduler_info().get("workers", {})
    if not workers:
        return  # workers may join later; they are told by the caller's docs to offer the resources
    offered = [w.get("resources", {}) for w in workers.values()]
    missing = [k for k, v in resources.items() if not any(r.get(k, 0) >= v for r in offered)]
    if missing:
        args = " ".join(_resource_args(resources))
        raise SpecError(f"scheduler = {address!r}: no worker offers the resource(s) {missing} these tasks need. "
                        f"Fix: start the workers with `dask worker {address} {args}`.")


@contextmanager
def open_client(scheduler: str | None = None, cluster: str | None = None, workers: int | None = None,
                config: str | Path | Mapping[str, Any] | None = None,
                resources: Mapping[str, float] | None = None, *, dashboard_address: str = ":0",
                connect_timeout: float = 10.0) -> Iterator[Any]:
    """A :class:`distributed.Client` for the requested execution target (module doc);
    closes the client and any cluster it created on exit. ``workers`` = local worker
    processes, or batch jobs for ``cluster``; ignored for ``scheduler``."""
    from distributed import Client, LocalCluster

    if scheduler is not None and cluster is not None:
        raise SpecError(f"scheduler = {scheduler!r} and cluster = {cluster!r}: choose one. Fix: pass only "
                        "scheduler (an existing Dask cluster) or only cluster (a new job-queue cluster).")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SpecError(f"workers = {workers!r}: must be a positive integer. Fix: e.g. workers=2.")
    if resources is not None:
        bad = {k: v for k, v in resources.items() if not isinstance(v, (int, float)) or v <= 0}
        if bad:
            raise SpecError(f"resources = {dict(resources)!r}: amounts must be positive numbers ({bad}). "
                            "Fix: e.g. resources={'solver': 1}.")
    made: Any = None
    if scheduler is not None:
        address = check_address(scheduler)
        try:
            client = Client(address, timeout=f"{connect_timeout}s")
        except (OSError, TimeoutError) as exc:
            raise SpecError(f"scheduler = {address!r}: no Dask scheduler answered within {connect_timeout:g} s "
                            f"({type(exc).__name__}). Fix: start one (`dask scheduler`) or correct HOST:PORT.") from exc
        try:
            _check_resources(client, resources, address)
        except SpecError:
            client.close()
            raise
    elif cluster is not None:
        section = load_cluster_config(cluster, config)
        made = make_jobqueue_cluster(cluster, section, resources=resources, dashboard_address=dashboard_address)
        made.scale(jobs=workers or section.get("jobs", 1))
        client = Client(made)
    else:
        n = workers or os.cpu_count() or 1
        made = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=dashboard_address,
                            resources=dict(resources) if resources else None)
        client = Client(made)
    try:
        yield client
    finally:
        client.close()
        if made is not None:
            made.close()
