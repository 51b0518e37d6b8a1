"""Temporary files of atomic writers, safe on a cluster's shared file system.

A writer names its temporary ``.<final name>.tmp-<host>-<pid>-<random>`` in the final
file's folder. Whether a leftover temporary is *stale* (its writer is gone):

* written on this host: its PID no longer runs (``psutil.pid_exists``);
* written on another host: the PID means nothing here, so it is stale only when older
  than :data:`FOREIGN_MAX_AGE_S` (24 h: longer than any solver job we run, so a live
  writer on another node is never robbed of its file; a design choice, not a guess about
  the other host's state);
* old-style names without a host (``.<key>.h5.tmp-<pid>-<random>`` of the cache,
  ``.<key>.nc.<pid>.<hex>.tmp`` of studies), written before hosts were recorded, are
  judged as this host's;
* a name that carries no PID is stale.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from pathlib import Path

#: Age [s] after which a temporary written on another host counts as stale.
FOREIGN_MAX_AGE_S = 24 * 3600.0

_NEW = re.compile(r"\.tmp-(?P<host>[A-Za-z0-9._]+(?:-[A-Za-z0-9._]+)*)-(?P<pid>\d+)-(?P<rand>[A-Za-z0-9_]+)$")
_OLD_STORE = re.compile(r"\.tmp-(?P<pid>\d+)-(?P<rand>[A-Za-z0-9_]+)$")
_OLD_STUDY = re.compile(r"\.(?P<pid>\d+)\.[0-9a-f]+\.tmp$")


def this_host() -> str:
    """This machine's host name, reduced to file-name-safe characters."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname()) or "localhost"


def temp_path(final: Path) -> Path:
    """A fresh temporary path next to ``final``: ``.<name>.tmp-<host>-<pid>-<random>``."""
    final = Path(final)
    return final.parent / f".{final.name}.tmp-{this_host()}-{os.getpid()}-{secrets.token_hex(6)}"


def temp_owner(name: str) -> tuple[str | None, int | None]:
    """``(host, pid)`` encoded in a temporary's file name (host None for old-style names,
    pid None when the name carries none)."""
    m = _OLD_STORE.search(name)  # checked first: "<pid>-<rand>" alone has no host
    if m:
        return None, int(m["pid"])
    m = _NEW.search(name)
    if m:
        return m["host"], int(m["pid"])
    m = _OLD_STUDY.search(name)
    if m:
        return None, int(m["pid"])
    return None, None


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (psutil: portable, never signals it)."""
    import psutil

    return pid == os.getpid() or psutil.pid_exists(pid)


def is_stale(path: Path, *, now: float | None = None) -> bool:
    """Whether the temporary at ``path`` was left by a writer that is gone (module docstring)."""
    path = Path(path)
    host, pid = temp_owner(path.name)
    if pid is None:
        return True
    if host is None or host == this_host():
        return not pid_alive(pid)
    try:
        age = (time.time() if now is None else now) - path.stat().st_mtime
    except FileNotFoundError:
        return False  # its writer just published or removed it
    return age > FOREIGN_MAX_AGE_S
