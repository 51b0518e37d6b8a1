"""`photoprop library …` as a user runs it, including damaged files."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from fixture_specs import AnalyticSolverSpec, CirculatorFixtureSpec, circulator_smatrix, compute
from pipeline.cli.main import app
from pipeline.touchstone import import_touchstone

runner = CliRunner()


@pytest.fixture
def filled(cache):
    entries = [cache.get_or_compute(CirculatorFixtureSpec(gap=g), AnalyticSolverSpec(),
                                    lambda g=g: compute(CirculatorFixtureSpec(gap=g)))[0] for g in (0.2, 0.3)]
    return cache, entries


def test_ls_json_is_one_document(filled):
    cache, entries = filled
    res = runner.invoke(app, ["library", "--cache", str(cache.root), "ls", "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert sorted(r["key"] for r in doc["entries"]) == sorted(e.key for e in entries)
    assert all(r["device"] == "fixture_circulator" and r["solver"] == "analytic_fixture" for r in doc["entries"])


def test_ls_table_and_env_var(filled, monkeypatch):
    cache, entries = filled
    monkeypatch.setenv("PHOTOPROP_CACHE", str(cache.root))
    res = runner.invoke(app, ["library", "ls"])
    assert res.exit_code == 0 and entries[0].key[:12] in res.stdout and "2 entries" in res.stdout


def test_show_by_prefix(filled):
    cache, entries = filled
    res = runner.invoke(app, ["library", "--cache", str(cache.root), "show", entries[0].key[:10], "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["key"] == entries[0].key
    assert doc["power_db"]["b<-a"] == pytest.approx(-0.5, abs=1e-3)
    assert doc["power_db"]["a<-b"] < -200
    res = runner.invoke(app, ["library", "--cache", str(cache.root), "show", "abc"])
    assert res.exit_code == 2 and "at least 6 hex digits" in res.output


def test_export_touchstone(filled, tmp_path):
    cache, entries = filled
    out = tmp_path / "circ.s3p"
    res = runner.invoke(app, ["library", "--cache", str(cache.root), "export", entries[0].key, str(out)])
    assert res.exit_code == 0, res.output
    back = import_touchstone(out)
    np.testing.assert_array_equal(back.values, circulator_smatrix(CirculatorFixtureSpec()).values)


def test_verify_reports_and_repairs_damage(filled):
    cache, entries = filled
    entries[1].path.write_bytes(entries[1].path.read_bytes()[:500])  # truncated
    res = runner.invoke(app, ["library", "--cache", str(cache.root), "verify", "--json"])
    assert res.exit_code == 1
    doc = json.loads(res.stdout)
    bad = [r for r in doc["entries"] if r["status"] != "ok"]
    assert len(bad) == 1 and entries[1].path.name in bad[0]["error"]
    res = runner.invoke(app, ["library", "--cache", str(cache.root), "verify", "--repair"])
    assert res.exit_code == 0, res.output
    assert not entries[1].path.exists() and entries[0].path.exists()
    res = runner.invoke(app, ["library", "--cache", str(cache.root), "ls", "--json"])
    assert [r["key"] for r in json.loads(res.stdout)["entries"]] == [entries[0].key]


def test_cache_option_after_the_subcommand(filled, tmp_path):
    cache, entries = filled
    for args in (["library", "ls", "--json", "--cache", str(cache.root)],
                 ["library", "--cache", str(tmp_path / "elsewhere"), "ls", "--json", "--cache", str(cache.root)]):
        res = runner.invoke(app, args)  # the subcommand's --cache wins over the group's
        assert res.exit_code == 0, res.output
        assert sorted(r["key"] for r in json.loads(res.stdout)["entries"]) == sorted(e.key for e in entries)
    res = runner.invoke(app, ["library", "verify", "--cache", str(cache.root), "--json"])
    assert res.exit_code == 0 and len(json.loads(res.stdout)["entries"]) == 2
    res = runner.invoke(app, ["library", "show", entries[0].key[:8], "--cache", str(cache.root), "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["versions"]["same"]


def test_help_keeps_square_brackets():
    res = runner.invoke(app, ["library", "build", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0 and "[slurm]/[pbs]" in res.stdout
