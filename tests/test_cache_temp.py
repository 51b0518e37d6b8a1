"""Cluster-safe temporaries and locks: host + PID in temporary names, a PID judged only on
its own host, foreign temporaries stale only when old, old-style names still read, no fcntl."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pipeline.cache import DeviceCache
from pipeline.cache.temp import FOREIGN_MAX_AGE_S, is_stale, temp_owner, temp_path, this_host
from pipeline.study import clean_stale_temporaries

KEY = "ab" * 32


@pytest.fixture(scope="module")
def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _touch(path: Path, age_s: float = 0.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"half")
    t = time.time() - age_s
    os.utime(path, (t, t))
    return path


def test_temporary_names_carry_host_and_pid(tmp_path):
    tmp = temp_path(tmp_path / f"{KEY}.h5")
    assert tmp.parent == tmp_path and tmp.name.startswith(f".{KEY}.h5.tmp-{this_host()}-{os.getpid()}-")
    assert temp_owner(tmp.name) == (this_host(), os.getpid())
    assert temp_owner(f".{KEY}.h5.tmp-node-07.cluster-4242-a1b2c3") == ("node-07.cluster", 4242)
    assert temp_owner(f".{KEY}.h5.tmp-4242-k_x9q2ab") == (None, 4242)  # old cache style
    assert temp_owner(f".{KEY}.nc.4242.deadbeef.tmp") == (None, 4242)  # old study style
    assert temp_owner(f".{KEY}.h5.tmp-garbage") == (None, None)


def test_stale_rules(tmp_path, dead_pid):
    here = this_host()
    assert not is_stale(_touch(tmp_path / f".{KEY}.h5.tmp-{here}-{os.getpid()}-aa"))
    assert is_stale(_touch(tmp_path / f".{KEY}.h5.tmp-{here}-{dead_pid}-bb"))
    # another host's writer: its PID means nothing here, only the age counts
    assert not is_stale(_touch(tmp_path / f".{KEY}.h5.tmp-other-node-{dead_pid}-cc", age_s=3600))
    assert is_stale(_touch(tmp_path / f".{KEY}.h5.tmp-other-node-{os.getpid()}-dd", age_s=FOREIGN_MAX_AGE_S + 60))
    # old-style names are this host's
    assert is_stale(_touch(tmp_path / f".{KEY}.h5.tmp-{dead_pid}-ee"))
    assert not is_stale(_touch(tmp_path / f".{KEY}.h5.tmp-{os.getpid()}-ff"))
    assert is_stale(_touch(tmp_path / f".{KEY}.h5.tmp-nopid"))


def test_cache_stale_temporaries_from_another_host(tmp_path, dead_pid):
    cache = DeviceCache(tmp_path / "lib")
    folder = cache.root / "fixture_circulator"
    young = _touch(folder / f".{KEY}.h5.tmp-far-away-{dead_pid}-a1", age_s=60)
    old = _touch(folder / f".{KEY}.h5.tmp-far-away-{dead_pid}-b2", age_s=2 * FOREIGN_MAX_AGE_S)
    mine_dead = _touch(folder / f".{KEY}.h5.tmp-{this_host()}-{dead_pid}-c3")
    legacy = _touch(folder / f".{KEY}.h5.tmp-{dead_pid}-d4")
    assert cache.stale_temporaries() == sorted([old, mine_dead, legacy])
    assert young not in cache.stale_temporaries()


def test_study_cleans_foreign_temporaries_only_when_old(tmp_path, dead_pid):
    cells = tmp_path / "study" / "cells"
    young = _touch(cells / f".{KEY}.nc.tmp-far-away-{dead_pid}-a1", age_s=60)
    old = _touch(cells / f".{KEY}.nc.tmp-far-away-{dead_pid}-b2", age_s=2 * FOREIGN_MAX_AGE_S)
    legacy = _touch(cells / f".{KEY}.nc.{dead_pid}.deadbeef.tmp")
    live = _touch(cells / f".{KEY}.nc.tmp-{this_host()}-{os.getpid()}-c3")
    removed = clean_stale_temporaries(tmp_path / "study")
    assert sorted(removed) == sorted([old, legacy])
    assert young.exists() and live.exists()


def test_import_pipeline_needs_no_fcntl(tmp_path):
    """``import pipeline`` (and the cache, study and lock code paths) work where fcntl does not
    exist (Windows): it is made unimportable here."""
    code = textwrap.dedent(f"""
        import sys
        sys.modules["fcntl"] = None
        import pipeline, pipeline.cache.store, pipeline.study
        from pipeline.cache import DeviceCache
        from fixture_specs import CirculatorFixtureSpec
        import filelock
        c = DeviceCache({str(tmp_path)!r})
        with c.lock(CirculatorFixtureSpec(), "k" * 64):
            pass
        print("ok", filelock.FileLock.__name__)
    """)
    tests = Path(__file__).parent
    env = {**os.environ, "PYTHONPATH": f"{tests}{os.pathsep}{tests.parent}"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert res.returncode == 0 and res.stdout.startswith("ok"), res.stderr
