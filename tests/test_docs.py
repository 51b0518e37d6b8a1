"""The documentation site (mkdocs.yml, docs/) builds with warnings as errors, and its
generated pages hold what they promise: every CLI command's --help, the notebook with its
outputs, every recorded benchmark result, ARCHITECTURE.md, the API from the docstrings."""

from __future__ import annotations

import html
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}

if importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None:
    if importlib.util.find_spec("meep") is not None:  # the solver interpreter: docs are built in the core
        pytest.skip("the documentation is built in the core environment", allow_module_level=True)
    pytest.fail("the docs test needs the docs extra. Fix: .venv/bin/python -m pip install -e '.[docs]' "
                "(make setup does it).", pytrace=False)


def _build(config: Path, site: Path, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
                          cwd=cwd, env={**ENV, **env}, capture_output=True, text=True, timeout=600)


def _hook():
    spec = importlib.util.spec_from_file_location("photoprop_docs", ROOT / "docs" / "hooks" / "photoprop_docs.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _text(page: Path) -> str:
    """The page's visible text (tags dropped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "site"
    proc = _build(ROOT / "mkdocs.yml", out)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "WARNING" not in re.sub(r"\[IPKernelApp\] WARNING[^\n]*", "", proc.stderr), proc.stderr[-5000:]
    return out


def test_cli_page_has_every_command_help(site):
    import click
    import typer.main

    from pipeline.cli.main import app

    text = _text(site / "cli.html")
    paths: list[list[str]] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        paths.append(path)
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, path + [name])

    walk(typer.main.get_command(app), [])
    assert len(paths) >= 10
    for path in paths:
        assert f"Usage: {' '.join(['photoprop', *path])} " in text, path
    assert "--calibration" in text and "--no-plots" in text  # photoprop train's options
    assert "root train" not in text  # the program name is photoprop, not typer's default


def test_notebook_page_is_executed_with_outputs(site):
    page = site / "impairment_analysis.html"
    text = _text(page)
    assert "insitu minus offline, mean over everything:" in text  # the last cell's printed output
    assert "final_test_accuracy" in text and "optical_power" in text  # the Dataset repr of the study
    images = re.findall(r'<img[^>]+src="([^"]+\.png)"', page.read_text())
    assert images and all((site / src).stat().st_size > 1000 for src in images)


def test_validation_page_includes_every_benchmark_result(site):
    text = _text(site / "validation.html")
    files = sorted((ROOT / "benchmarks" / "results").glob("*.txt"))
    assert files
    for f in files:
        for line in f.read_text().strip().splitlines()[:3]:
            assert line.rstrip() in text, (f.name, line)
    assert "result on the 2-core reference machine" in text  # the README's benchmark table


def test_architecture_and_readme_are_included_not_copied(site):
    arch = _text(site / "architecture.html")
    for line in (ROOT / "ARCHITECTURE.md").read_text().splitlines():
        if line.startswith("## "):
            assert line[3:].strip() in arch
    index, guide = _text(site / "index.html"), _text(site / "guide.html")
    assert "make demo" in index and "make test" in index
    assert "Training on a simulated die" in guide and "Two commands" not in guide


def test_api_pages_come_from_the_docstrings(site):
    from pipeline.library.library import Library

    lib = _text(site / "api" / "library.html")
    assert " ".join(Library.model.__doc__.split()[:5]) in lib  # "The compact model of family"
    for page in (site / "api").glob("*.html"):
        assert ":class:`" not in page.read_text() and ":mod:`" not in page.read_text(), page.name
    for name in ("interface", "attenuator_die", "mesh_die"):
        assert f"pipeline.chip.{name}" in _text(site / "api" / "chip.html")


def test_sphinx_roles_become_code():
    spec = importlib.util.spec_from_file_location("griffe_roles", ROOT / "docs" / "hooks" / "griffe_roles.py")
    roles = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(roles)
    assert roles.plain_roles(":class:`~pipeline.cache.DeviceCache` and :mod:`pipeline.chip`") == \
        "`DeviceCache` and `pipeline.chip`"
    assert roles.plain_roles(":meth:`the model <Library.model>`") == "`the model`"
    assert roles.plain_roles("Ports::\n\n    o1  o2\n") == "Ports:\n\n    o1  o2\n"  # RST literal block


def test_missing_readme_section_fails_the_build():
    from mkdocs.exceptions import PluginError

    hook = _hook()
    assert "make demo" in hook.expand('<!-- photoprop:readme "Two commands" -->\n', "x.md")
    with pytest.raises(PluginError, match=r"x.md: README.md has no section '## No such'. Fix: use one of"):
        hook.expand('<!-- photoprop:readme "No such" -->\n', "x.md")
    with pytest.raises(PluginError, match="unknown directive photoprop:typo"):
        hook.expand("<!-- photoprop:typo -->\n", "x.md")


def test_strict_build_fails_on_a_broken_docstring(tmp_path):
    """The site's own mkdocstrings settings, on a module whose docstring names a parameter
    the function does not have: griffe warns, --strict makes it an error."""
    shutil.copytree(ROOT / "docs" / "hooks", tmp_path / "docs" / "hooks")  # the griffe extension, config-relative
    (tmp_path / "docs" / "index.md").write_text("# bad\n\n::: badmod\n")
    (tmp_path / "badmod.py").write_text('def double(x: float) -> float:\n    """Twice x.\n\n    Args:\n'
                                        '        y: not a parameter of double.\n    """\n    return 2 * x\n')
    (tmp_path / "mkdocs.yml").write_text(f"INHERIT: {ROOT / 'mkdocs.yml'}\nsite_name: bad\ndocs_dir: docs\n"
                                         "hooks: []\nnav:\n  - index.md\n")
    proc = _build(tmp_path / "mkdocs.yml", tmp_path / "site")
    assert proc.returncode != 0
    assert "Parameter 'y' does not appear in the function signature" in proc.stderr, proc.stderr[-3000:]
