"""Typed configuration files: every TOML file photoprop reads loads into frozen specs.

* :func:`read_toml` — the document, with errors naming the file and the fix;
* :func:`load_section` — one ``[section]`` into a :class:`~pipeline.specs.Spec` subclass
  (nested tables into nested specs); an unknown key gets a "did you mean" suggestion naming
  the file and the section, e.g. ``[study] seedz = [0, 1] in impairments.toml: unknown key.
  Did you mean 'seeds'?``; any other invalid value is reported by the spec (field, value, fix)
  prefixed with the section and the file;
* :class:`JobQueueSpec` — a ``[slurm]`` / ``[pbs]`` section of the cluster config: any keyword
  the dask-jobqueue cluster class accepts is passed through, keys not given are left to
  dask's own configuration (``~/.config/dask/jobqueue.yaml``, ``jobqueue.<kind>.*``).

Workflow configs (the study and the main job) are in :mod:`workflows.config`; this module
is the machinery and the execution config (``pipeline`` never imports ``workflows``).
"""

from __future__ import annotations

import difflib
import inspect
import json
import re
import tomllib
import typing
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from pipeline.errors import SpecError
from pipeline.specs import Spec, quantity


def _show(value: Any) -> str:
    """A value as it would be written in TOML (strings quoted, lists bracketed)."""
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def did_you_mean(key: str, valid: Iterable[str]) -> str:
    """`` Did you mean 'x'?`` for the closest valid name (empty when none is close)."""
    match = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    return f" Did you mean {match[0]!r}?" if match else ""


def unknown_key(section: str, key: str, value: Any, where: str, valid: Iterable[str]) -> SpecError:
    """The error for ``key`` not being allowed in ``[section]`` of ``where`` (``section``
    empty: ``key`` is an unknown top-level section)."""
    valid = sorted(valid)
    if section:
        return SpecError(f"[{section}] {key} = {_show(value)} in {where}: unknown key.{did_you_mean(key, valid)} "
                         f"Fix: rename or remove it; valid keys: {', '.join(valid)}.")
    match = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f" Did you mean [{match[0]}]?" if match else ""
    return SpecError(f"[{key}] in {where}: unknown section.{hint} Fix: rename or remove it; valid sections: "
                     f"{', '.join(f'[{v}]' for v in valid)}.")


def missing_key(section: str, key: str, where: str, description: str | None = None) -> SpecError:
    """The error for a required ``key`` absent from ``[section]`` (or a missing section)."""
    if not section:
        return SpecError(f"{where}: no [{key}] section. Fix: add one ({description or 'see the shipped example'}).")
    desc = f" ({description})" if description else ""
    return SpecError(f"[{section}] {key} in {where}: missing. Fix: add {key} = ... to [{section}]{desc}.")


def check_keys(data: Mapping[str, Any], valid: Iterable[str], section: str, where: str) -> None:
    """Raise :func:`unknown_key` for the first key of ``data`` not in ``valid``."""
    valid = list(valid)
    for key, value in data.items():
        if key not in valid:
            raise unknown_key(section, key, value, where, valid)


def read_toml(path: str | Path, what: str, example: str) -> tuple[Path, dict[str, Any]]:
    """``(path, document)`` of a TOML file; a missing or invalid file is a SpecError naming it."""
    p = Path(path)
    if not p.is_file():
        raise SpecError(f"{what} = {str(path)!r}: no such file. Fix: e.g. {example}.")
    try:
        return p, tomllib.loads(p.read_text())
    except OSError as exc:
        raise SpecError(f"{what} {p}: cannot be read ({exc.strerror}). Fix: e.g. {example}.") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{what} {p}: not valid TOML ({exc}). Fix: correct the file.") from None


def _spec_type(annotation: Any) -> type[Spec] | None:
    """The Spec subclass a field holds (``X`` or ``X | None``), else None."""
    candidates = typing.get_args(annotation) or (annotation,)
    for c in candidates:
        if isinstance(c, type) and issubclass(c, Spec):
            return c
    return None


def load_section(cls: type[Spec], data: Any, section: str, where: str) -> Spec:
    """``[section]`` of ``where`` as a ``cls`` (module doc: unknown keys, error messages)."""
    if not isinstance(data, Mapping):
        raise SpecError(f"[{section}] in {where}: {_show(data)} is not a table. Fix: write it as a [{section}] "
                        "section of key = value lines.")
    check_keys(data, cls.model_fields, section, where)
    for name, info in cls.model_fields.items():
        if info.is_required() and name not in data:
            raise missing_key(section, name, where, info.description)
    values = dict(data)
    for name, info in cls.model_fields.items():
        sub = _spec_type(info.annotation)
        if sub is not None and isinstance(values.get(name), Mapping):
            values[name] = load_section(sub, values[name], f"{section}.{name}", where)
    try:
        return cls(**values)
    except SpecError as exc:
        lines = str(exc).splitlines()
        if lines and lines[0].startswith("invalid ") and lines[0].endswith(":"):
            lines = lines[1:]
        raise SpecError("\n".join(f"[{section}] {line.strip()} (in {where})" for line in lines)) from None


# ---------------------------------------------------------------------------------------------
# The job-queue cluster config (workflows/cluster.toml)

#: cluster kind → dask-jobqueue class name
CLUSTER_KINDS = {"slurm": "SLURMCluster", "pbs": "PBSCluster"}
#: photoprop's own keys of a cluster section (not dask-jobqueue arguments)
PHOTOPROP_CLUSTER_KEYS = ("jobs",)
#: keyword arguments of the cluster classes that a config file cannot (or must not) set:
#: photoprop scales the cluster itself and passes the job class and event loop
_NOT_FROM_CONFIG = {"self", "n_workers", "job_cls", "loop", "asynchronous", "scheduler", "config_name",
                    "scheduler_cls", "security"}
#: dask-jobqueue needs these; each must be given here or in the dask config (jobqueue.<kind>.*)
REQUIRED_CLUSTER_KEYS: dict[str, str] = {"cores": "1", "memory": "'2GB'"}
#: expected TOML types of the common keys (others pass through as given)
_TYPES: dict[str, tuple[type, ...]] = {
    "queue": (str,), "cores": (int,), "memory": (str,), "walltime": (str,), "python": (str,), "processes": (int,),
    "jobs": (int,), "account": (str,), "project": (str,), "log_directory": (str,), "job_extra_directives": (list,),
    "job_directives_skip": (list,), "job_script_prologue": (list,), "worker_extra_args": (list,),
    "interface": (str,), "local_directory": (str,), "death_timeout": (int, float), "resource_spec": (str,),
    "job_name": (str,), "job_cpu": (int,), "job_mem": (str,), "scheduler_options": (dict,), "name": (str,),
}
_WALLTIME = re.compile(r"^(\d+-)?\d{1,3}(:\d{2}){0,2}$")


def cluster_class(kind: str) -> type:
    """The dask-jobqueue cluster class of ``kind`` (SpecError for an unknown kind)."""
    if kind not in CLUSTER_KINDS:
        raise SpecError(f"cluster = {kind!r}: unknown cluster kind. Fix: use one of {sorted(CLUSTER_KINDS)} "
                        "(or scheduler='tcp://HOST:PORT' for an existing Dask cluster).")
    import dask_jobqueue

    return getattr(dask_jobqueue, CLUSTER_KINDS[kind])


def cluster_keywords(kind: str) -> list[str]:
    """Every keyword the ``kind`` cluster class accepts from a config file: its own
    arguments, its job class's and those of :class:`dask_jobqueue.core.Job` (what
    ``**job_kwargs`` reaches)."""
    from dask_jobqueue.core import Job

    cls = cluster_class(kind)
    names: list[str] = []
    for fn in (cls.__init__, cls.job_cls.__init__, Job.__init__):
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in _NOT_FROM_CONFIG:
                names.append(p.name)
    return list(dict.fromkeys(names))


def dask_default(kind: str, key: str) -> Any:
    """``jobqueue.<kind>.<key>`` of the dask config (a user's jobqueue.yaml, ``dask.config.set``)."""
    import dask

    return dask.config.get(f"jobqueue.{kind}.{key}", default=None)


class JobQueueSpec(Spec):
    """A ``[slurm]`` / ``[pbs]`` section: photoprop's ``jobs`` plus the dask-jobqueue keyword
    arguments given (``options``, passed on as they are; keys not given are left to dask's
    configuration). :meth:`cluster_kwargs` adds only what photoprop needs."""

    kind: Literal["slurm", "pbs"] = quantity("slurm", "", "cluster kind: the dask-jobqueue class")
    jobs: int = quantity(1, "", "batch jobs to submit when --workers is not given", ge=1)
    options: dict[str, Any] = Field(default_factory=dict, description="dask-jobqueue keyword arguments as given")
    where: str = quantity("the config mapping", "", "where the section was read (for messages)")

    @model_validator(mode="after")
    def _check(self) -> "JobQueueSpec":
        kind, where, opts = self.kind, self.where, self.options

        def err(key: str, msg: str) -> SpecError:
            return SpecError(f"cluster.{kind}.{key} = {opts[key]!r}: {msg}")

        check_keys(opts, cluster_keywords(kind), kind, where)
        for key, value in opts.items():
            types = _TYPES.get(key)
            if types and (not isinstance(value, types) or (isinstance(value, bool) and bool not in types)):
                raise err(key, f"expected {' or '.join(t.__name__ for t in types)}. Fix: set {key} in [{kind}] "
                          f"of {where}.")
        for key, example in REQUIRED_CLUSTER_KEYS.items():
            if key not in opts and dask_default(kind, key) is None:
                raise SpecError(f"cluster.{kind}.{key} is missing: set {key} = {example} in [{kind}] of {where} "
                                f"(or jobqueue.{kind}.{key} in a dask config, e.g. ~/.config/dask/jobqueue.yaml).")
        for key in ("cores", "processes", "job_cpu"):
            if key in opts and opts[key] < 1:
                raise err(key, f"must be >= 1. Fix: set {key} = 1 or more.")
        from dask.utils import parse_bytes

        for key in ("memory", "job_mem"):
            if key in opts:
                try:
                    parse_bytes(opts[key])
                except (ValueError, TypeError):
                    raise err(key, f"not a size. Fix: set {key} = '2GB'.") from None
        if "walltime" in opts and not _WALLTIME.match(opts["walltime"]):
            raise err("walltime", "not a wall time. Fix: set walltime = 'HH:MM:SS' (e.g. '01:00:00').")
        cores, processes = self.effective("cores"), self.effective("processes")
        if isinstance(cores, int) and isinstance(processes, int) and processes > 0 and cores % processes:
            key = "processes" if "processes" in opts else "cores"
            shown = opts.get(key, cores if key == "cores" else processes)
            raise SpecError(f"cluster.{kind}.{key} = {shown!r}: processes = {processes} must divide cores = "
                            f"{cores}. Fix: set processes = {cores} (one thread per worker).")
        return self

    def effective(self, key: str) -> Any:
        """The value dask-jobqueue will use: given here, else the dask config's."""
        return self.options[key] if key in self.options else dask_default(self.kind, key)

    def cluster_kwargs(self, resources: Mapping[str, float] | None = None,
                       dashboard_address: str | None = ":0") -> dict[str, Any]:
        """Keyword arguments for the cluster class: the given options, plus only photoprop's
        requirements — one thread per worker process (``processes = cores`` when neither this
        section nor the dask config sets processes), the workers' ``--resources`` (appended to
        the given or configured ``worker_extra_args``) and the dashboard address (unless set)."""
        kw = dict(self.options)
        if self.effective("processes") is None:
            kw["processes"] = self.effective("cores")
        if resources:
            extra = list(self.effective("worker_extra_args") or [])
            kw["worker_extra_args"] = [*extra, "--resources", ",".join(f"{k}={v:g}" for k, v in resources.items())]
        if dashboard_address is not None and "dashboard_address" not in kw:
            opts = dict(self.effective("scheduler_options") or {})
            opts.setdefault("dashboard_address", dashboard_address)
            kw["scheduler_options"] = opts
        return kw


def load_cluster_section(kind: str, config: str | Path | Mapping[str, Any] | None, default: Path) -> JobQueueSpec:
    """The ``[kind]`` section of ``config`` (a TOML path, a parsed document, or the section
    itself; None → ``default``) as a :class:`JobQueueSpec`."""
    cluster_class(kind)
    if isinstance(config, JobQueueSpec):
        if config.kind != kind:
            raise SpecError(f"cluster = {kind!r} with a [{config.kind}] section. Fix: pass the [{kind}] section.")
        return config
    if config is None or isinstance(config, (str, Path)):
        path = Path(config) if config is not None else default
        try:
            doc: Mapping[str, Any] = tomllib.loads(path.read_text())
        except OSError as exc:
            raise SpecError(f"cluster config {path}: cannot be read ({exc.strerror}). Fix: pass an existing "
                            f"TOML file with a [{kind}] section (see workflows/cluster.toml).") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"cluster config {path}: invalid TOML ({exc}). Fix: correct the file.") from exc
        where = str(path)
        if kind not in doc:
            hint = did_you_mean(kind, [k for k in doc if isinstance(doc[k], Mapping)])
            raise SpecError(f"cluster config {where} has no [{kind}] section.{hint} Fix: add one (cores, memory, "
                            "and e.g. queue, walltime; see workflows/cluster.toml).")
        section = doc[kind]
    elif isinstance(config, Mapping):
        where = "the config mapping"
        section = config[kind] if kind in config and isinstance(config[kind], Mapping) else config
    else:
        raise SpecError(f"config = {config!r}: expected a TOML path or a mapping. Fix: pass workflows/cluster.toml.")
    if not isinstance(section, Mapping):
        raise SpecError(f"cluster.{kind} in {where} is not a table. Fix: write it as a [{kind}] section.")
    own = {k: section[k] for k in PHOTOPROP_CLUSTER_KEYS if k in section}
    if "jobs" in own and (isinstance(own["jobs"], bool) or not isinstance(own["jobs"], int) or own["jobs"] < 1):
        raise SpecError(f"cluster.{kind}.jobs = {own['jobs']!r}: must be an integer >= 1. Fix: set jobs = 1 or more.")
    options = {k: v for k, v in section.items() if k not in PHOTOPROP_CLUSTER_KEYS}
    try:
        return JobQueueSpec(kind=kind, options=options, where=where, **own)
    except SpecError as exc:
        lines = str(exc).splitlines()
        if lines and lines[0] == "invalid JobQueueSpec:":
            lines = [line.strip() for line in lines[1:]]
        raise SpecError("\n".join(lines)) from None
