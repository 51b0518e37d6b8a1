"""The migrate command lives in the library layer (pipeline.library.migrate): compact-model
file names come from FAMILIES, pipeline.cache.migrate only re-keys and moves files it is
told about.  (The re-keying itself: tests/test_cache_keys.py.)"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cache import DeviceCache
from pipeline.errors import SpecError
from pipeline.library import migrate
from pipeline.library.families import FAMILIES

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "cache"


def test_every_shipped_model_file_is_named_by_its_family():
    cache = DeviceCache(SHIPPED)
    files = sorted((SHIPPED / "compact_models").glob("*.nc"))
    assert files
    for path in files:
        old, new = migrate.model_names(path, cache, cache)
        assert old == new == path, (path.name, new.name)
        assert FAMILIES[migrate.family_of_model_file(path)].kind == "sweep"


def test_unknown_model_file_names_the_fix(tmp_path):
    with pytest.raises(SpecError, match=r"toaster_model-0123\.nc.*known: .*coupler_model.*Fix"):
        migrate.family_of_model_file(tmp_path / "toaster_model-0123.nc")


def test_dry_run_of_the_shipped_library_changes_nothing(capsys):
    assert migrate.main([str(SHIPPED), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would re-key 0 entries and 0 compact models" in out


def test_the_old_module_command_names_the_new_one():
    res = subprocess.run([sys.executable, "-m", "pipeline.cache.migrate", "--dry-run"], cwd=ROOT,
                         capture_output=True, text=True)
    assert res.returncode != 0 and "python -m pipeline.library.migrate" in res.stderr
