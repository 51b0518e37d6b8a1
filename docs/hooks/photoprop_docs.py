"""MkDocs hook: the pages that would go stale if copied by hand are made at build time.

* ``cli.md``: every ``photoprop`` command's ``--help``, walked from the typer app.
* ``impairment_analysis.md``: ``workflows/impairment_analysis.ipynb`` executed on a small
  study computed for the build (``docs/notebook_study.toml``), rendered with its outputs.
* Directives in hand-written pages, replaced by text read from the repository:
  ``<!-- photoprop:readme-preamble -->`` (README up to its first ``##`` section, without
  the title), ``<!-- photoprop:readme "Heading" -->`` (one ``##`` section),
  ``<!-- photoprop:readme-except "A" "B" -->`` (every ``##`` section but those) and
  ``<!-- photoprop:benchmark-results -->`` (each ``benchmarks/results/*.txt``, verbatim).

A directive naming a missing section or file fails the build with the fix in the message.
``PHOTOPROP_DOCS_NOTEBOOK=stored`` renders the notebook's stored outputs without running it
(for quick local previews; the test and ``make docs`` execute it).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "workflows" / "impairment_analysis.ipynb"
STUDY_CONFIG = ROOT / "docs" / "notebook_study.toml"
FILES_DIR = "impairment_analysis_files"  # the page's images, beside it in the site
HELP_WIDTH = 100  # columns of the rendered --help text (the README's console width)
DIRECTIVE = re.compile(r"^<!--\s*photoprop:([\w-]+)(.*?)-->\s*$", re.M)
_MEMO: dict[str, tuple[str, dict[str, bytes]]] = {}


# -- README sections ---------------------------------------------------------------------------
def readme_sections(text: str) -> tuple[str, dict[str, str]]:
    """README split at its ``##`` headings: (preamble without the ``#`` title, {heading: section})."""
    parts = re.split(r"^(?=## )", text, flags=re.M)
    preamble = re.sub(r"\A# .*\n", "", parts[0]).strip() + "\n"
    sections: dict[str, str] = {}
    for part in parts[1:]:
        heading = part.splitlines()[0][3:].strip()
        sections[heading] = part.rstrip() + "\n"
    return preamble, sections


def _names(args: str) -> list[str]:
    return shlex.split(args)


def _readme_section(sections: dict[str, str], name: str, page: str) -> str:
    if name not in sections:
        raise PluginError(f"{page}: README.md has no section '## {name}'. Fix: use one of "
                          f"{sorted(sections)} in the page's photoprop:readme directive.")
    return sections[name]


def benchmark_results() -> str:
    """Each benchmarks/results/*.txt as a subsection: its first comment line as the summary,
    the script that writes it (where one is named after it), the file verbatim."""
    files = sorted((ROOT / "benchmarks" / "results").glob("*.txt"))
    if not files:
        raise PluginError("benchmarks/results/ has no *.txt files. Fix: run the benchmarks (make bench).")
    out = []
    for f in files:
        text = f.read_text()
        first = next((ln.lstrip("# ").strip() for ln in text.splitlines() if ln.strip()), "")
        script = ROOT / "benchmarks" / f"bench_{f.stem}.py"
        how = f"written by `benchmarks/{script.name}`" if script.exists() else "see its header for the command"
        out.append(f"### `{f.name}`\n\n{first}  \n(`benchmarks/results/{f.name}`, {how})\n\n"
                   f"```text\n{text.rstrip()}\n```\n")
    return "\n".join(out)


def expand(markdown: str, page: str) -> str:
    """Replace every photoprop directive in ``markdown`` (module doc)."""
    preamble, sections = readme_sections((ROOT / "README.md").read_text())

    def one(m: re.Match) -> str:
        kind, args = m.group(1), _names(m.group(2))
        if kind == "readme-preamble":
            return preamble
        if kind == "readme":
            return "\n".join(_readme_section(sections, n, page) for n in args)
        if kind == "readme-except":
            for n in args:
                _readme_section(sections, n, page)
            return "\n".join(s for h, s in sections.items() if h not in args)
        if kind == "benchmark-results":
            return benchmark_results()
        raise PluginError(f"{page}: unknown directive photoprop:{kind}. Fix: use readme-preamble, readme, "
                          "readme-except or benchmark-results.")

    return DIRECTIVE.sub(one, markdown)


# -- CLI reference -----------------------------------------------------------------------------
def cli_reference() -> str:
    """Markdown with every command's ``--help`` text, from the typer app itself."""
    import click
    import typer.main
    import typer.rich_utils as ru
    from typer.testing import CliRunner

    from pipeline.cli.main import app

    ru.MAX_WIDTH, ru.FORCE_TERMINAL, ru.COLOR_SYSTEM = HELP_WIDTH, False, None
    root = typer.main.get_command(app)
    commands: list[tuple[list[str], click.Command]] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        commands.append((path, cmd))
        if isinstance(cmd, click.Group):
            for name in sorted(cmd.commands):
                walk(cmd.commands[name], path + [name])

    walk(root, [])
    runner = CliRunner()
    rows, blocks = [], []
    for path, cmd in commands:
        name = " ".join(["photoprop", *path])
        res = runner.invoke(app, [*path, "--help"], prog_name="photoprop", terminal_width=HELP_WIDTH)
        if res.exit_code != 0:
            raise PluginError(f"`{name} --help` exited {res.exit_code}: {res.output[-500:]}")
        text = re.sub(r"\x1b\[[0-9;]*m", "", res.output)
        text = "\n".join(ln.rstrip() for ln in text.strip("\n").splitlines())
        anchor = "-".join(["photoprop", *path])
        summary = (cmd.get_short_help_str(limit=120) or "").replace("|", "\\|")
        rows.append(f"| [`{name}`](#{anchor}) | {summary} |")
        blocks.append(f"## `{name}` {{#{anchor}}}\n\n```text\n{text}\n```\n")
    head = ("# CLI reference\n\nGenerated at build time from the typer app (`pipeline.cli.main:app`): "
            f"each block is the command's own `--help` at {HELP_WIDTH} columns.\n\n"
            "| command | what it does |\n|---|---|\n")
    return head + "\n".join(rows) + "\n\n" + "\n".join(blocks)


# -- the notebook ------------------------------------------------------------------------------
def _run_study(out: Path) -> None:
    cmd = [sys.executable, "-c", "from pipeline.cli.main import app; app(prog_name='photoprop')",
           "study", "--config", str(STUDY_CONFIG), "--out", str(out), "--workers", "1", "--json"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise PluginError(f"the notebook's study failed ({' '.join(cmd[3:])}):\n{proc.stderr[-2000:]}")


def notebook_page() -> tuple[str, dict[str, bytes]]:
    """(markdown, {file name: bytes}) of the notebook with outputs; executed on a small study
    unless ``PHOTOPROP_DOCS_NOTEBOOK=stored``; memoised per content of notebook and config."""
    import nbformat
    from nbconvert import MarkdownExporter

    stored = os.environ.get("PHOTOPROP_DOCS_NOTEBOOK", "") == "stored"
    key = hashlib.sha256(NOTEBOOK.read_bytes() + STUDY_CONFIG.read_bytes() + bytes([stored])).hexdigest()
    if key in _MEMO:
        return _MEMO[key]
    nb = nbformat.read(NOTEBOOK, as_version=4)
    saved: dict[str, bytes] = {}
    if stored:
        note = ('!!! warning "Stored outputs"\n    Rendered without executing '
                "(`PHOTOPROP_DOCS_NOTEBOOK=stored`): only the outputs saved in the file are shown.\n")
    else:
        import nbclient

        with tempfile.TemporaryDirectory(prefix="photoprop-docs-") as tmp:
            study = Path(tmp) / "study"
            _run_study(study)
            env_before = os.environ.get("PHOTOPROP_RESULTS")
            os.environ["PHOTOPROP_RESULTS"] = str(study)
            try:
                nbclient.NotebookClient(nb, timeout=120, kernel_name="python3",
                                        resources={"metadata": {"path": str(ROOT)}}).execute()
            finally:
                if env_before is None:
                    del os.environ["PHOTOPROP_RESULTS"]
                else:
                    os.environ["PHOTOPROP_RESULTS"] = env_before
            # the notebook draws with Agg and saves its figures beside the results (no inline output)
            saved = {f"{FILES_DIR}/{p.name}": p.read_bytes() for p in sorted(study.glob("*.png"))}
        note = ('!!! note "How this page is made"\n    `workflows/impairment_analysis.ipynb`, executed when '
                "the site is built on a deliberately small study (`docs/notebook_study.toml`: "
                "2 dies, 2 optical powers, 3 epochs, 120 samples) so that the build stays fast. Its accuracies "
                "illustrate the analysis; they are not results — run "
                "`photoprop study --config workflows/impairments.toml` for those.\n")
    for cell in nb.cells:  # xarray's HTML repr needs its own CSS: show its text repr instead
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data and "xr-wrap" in data["text/html"] and "text/plain" in data:
                del data["text/html"]
    body, resources = MarkdownExporter().from_notebook_node(nb, resources={"output_files_dir": FILES_DIR})
    title, _, rest = body.partition("\n")  # the note goes under the notebook's own title
    figures = "".join(f"\n![{Path(name).name}]({name})\n" for name in saved)
    if figures:
        rest += ("\n## Figures the notebook saved\n\nThe notebook draws with matplotlib's Agg backend "
                 "and saves its figures beside the study's results instead of displaying them; "
                 f"the build shows each saved file:\n{figures}")
    result = (f"{title}\n\n{note}\n{rest}", {**resources.get("outputs", {}), **saved})
    _MEMO[key] = result
    return result


# -- mkdocs events -----------------------------------------------------------------------------
def on_files(files: Files, config) -> Files:
    files.append(File.generated(config, "cli.md", content=cli_reference()))
    page, images = notebook_page()
    files.append(File.generated(config, "impairment_analysis.md", content=page))
    for name, data in images.items():
        files.append(File.generated(config, name, content=data))
    return files


def on_page_markdown(markdown: str, page, config, files) -> str:
    return expand(markdown, page.file.src_uri)
