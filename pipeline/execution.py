"""Where Dask work runs: a local cluster, an existing scheduler, or a SLURM / PBS job-queue
cluster — one context manager, :func:`open_client`, for every workflow.

* default: a :class:`~distributed.LocalCluster` on this machine — processes, one thread
  each (solvers and numpy release the GIL poorly across threads), ``workers`` of them
  (default: the number of cores);
* ``scheduler="tcp://HOST:PORT"``: connect to an existing Dask scheduler;
* ``cluster="slurm" | "pbs"``: a dask-jobqueue ``SLURMCluster`` / ``PBSCluster`` built from
  the ``[slurm]`` / ``[pbs]`` section of a TOML config (default
  ``workflows/cluster.toml``; :class:`pipeline.config.JobQueueSpec`: any keyword of the
  dask-jobqueue class, keys not given left to dask's ``jobqueue.<kind>.*`` configuration),
  scaled to ``workers`` batch jobs (default: the section's ``jobs``, else 1).

Worker ``resources`` (e.g. ``{"solver": 1}``: a worker runs one solver task at a time) are
given to local workers directly and to job-queue workers as ``--resources``.

The dashboard address is ``client.dashboard_link``; callers print it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pipeline.config import CLUSTER_KINDS, JobQueueSpec, cluster_class, load_cluster_section
from pipeline.errors import SpecError

__all__ = ["CLUSTER_KINDS", "DEFAULT_CLUSTER_CONFIG", "check_address", "load_cluster_config",
           "make_jobqueue_cluster", "open_client"]

#: The example / default job-queue configuration shipped with the repository.
DEFAULT_CLUSTER_CONFIG = Path(__file__).resolve().parent.parent / "workflows" / "cluster.toml"

_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss)://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9._-]+):(\d{1,5})$")


def check_address(address: str) -> str:
    """Validate a scheduler address ``PROTOCOL://HOST:PORT`` (SpecError naming the fix)."""
    m = _ADDRESS.match(address.strip()) if isinstance(address, str) else None
    if m is None or not 0 < int(m.group(3)) < 65536:
        raise SpecError(f"scheduler = {address!r}: not a Dask scheduler address. Fix: give tcp://HOST:PORT "
                        "(e.g. tcp://10.0.0.5:8786, as printed by `dask scheduler`).")
    return address.strip()


def load_cluster_config(kind: str, config: str | Path | Mapping[str, Any] | JobQueueSpec | None = None
                        ) -> JobQueueSpec:
    """The validated ``[kind]`` section of ``config`` (a TOML path, a parsed document, or
    the section itself as a mapping); defaults to :data:`DEFAULT_CLUSTER_CONFIG`. Any keyword
    of the dask-jobqueue class is accepted (:class:`pipeline.config.JobQueueSpec`)."""
    return load_cluster_section(kind, config, DEFAULT_CLUSTER_CONFIG)


def _resource_args(resources: Mapping[str, float] | None) -> list[str]:
    if not resources:
        return []
    return ["--resources", ",".join(f"{k}={v:g}" for k, v in resources.items())]


def make_jobqueue_cluster(kind: str, config: str | Path | Mapping[str, Any] | JobQueueSpec | None = None, *,
                          resources: Mapping[str, float] | None = None, dashboard_address: str = ":0") -> Any:
    """An unscaled dask-jobqueue cluster of ``kind`` from its config section (no job is
    submitted until it is scaled; ``cluster.job_script()`` shows what would be). Keys the
    section does not give come from dask's configuration (``jobqueue.<kind>.*``, e.g. a
    user's ``~/.config/dask/jobqueue.yaml``)."""
    section = load_cluster_config(kind, config)
    kwargs = section.cluster_kwargs(resources=resources, dashboard_address=dashboard_address)
    log_directory = section.effective("log_directory")
    if log_directory:
        Path(log_directory).expanduser().mkdir(parents=True, exist_ok=True)
    return cluster_class(kind)(**kwargs)


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
        made.scale(jobs=workers or section.jobs)
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
