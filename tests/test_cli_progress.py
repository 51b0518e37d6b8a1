"""Progress in batch logs (stderr not a terminal): one plain, flushed line per block of
training epochs and per finished study cell; the live bars stay for terminals."""

import re

from typer.testing import CliRunner

from pipeline.cli.main import app

runner = CliRunner()


def _train(tmp_path, *extra):
    res = runner.invoke(app, ["train", "--dataset", "xor", "--algorithm", "ideal,offline", "--epochs", "3",
                              "--no-plots", "--out", str(tmp_path), "--json", *extra])
    assert res.exit_code == 0, res.output
    return res


def test_train_prints_epoch_lines_when_stderr_is_not_a_terminal(tmp_path):
    lines = _train(tmp_path).stderr.splitlines()
    assert [re.sub(r" [\d.]+ s$", "", l) for l in lines] == [
        f"[train] epoch {e}/6 done (algorithm {a}/2)" for e, a in ((1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 2))]


def test_train_keeps_the_bar_on_a_terminal(tmp_path, monkeypatch):
    import pipeline.progress as progress

    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    assert "[train]" not in _train(tmp_path).stderr


def test_epoch_blocks_with_fractional_updates(capsys):
    from pipeline.progress import EpochLines

    lines = EpochLines(epochs=10, algorithms=2, blocks=5)
    for _ in range(50):  # ideal-best: 1/restarts per restart epoch
        lines.update(0.2)
    lines.update(10)
    got = [re.match(r"\[train\] epoch (\d+)/20 done \(algorithm (\d)/2\) [\d.]+ s$", l).groups()
           for l in capsys.readouterr().err.splitlines()]
    assert got == [(str(e), "1" if e <= 10 else "2") for e in range(2, 21, 2)]


def test_study_progress_lines(capsys):
    from pipeline.study import _progress

    with _progress("demo[1]", 4, 1, enabled=True) as advance:
        advance({"seed": 3, "die": 1})
        advance({"seed": 4, "die": 0}, "ValueError: bad\ntraceback")
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "[study] demo[1]: 4 cells, 1 already done"
    assert re.fullmatch(r"\[study\] cell 2/4 done \(seed=3, die=1\) [\d.]+ s", err[1])
    assert re.fullmatch(r"\[study\] cell 3/4 FAILED \(ValueError: bad\) \(seed=4, die=0\) [\d.]+ s", err[2])
    with _progress("quiet", 2, 0, enabled=False) as advance:
        advance({"seed": 0})
    assert capsys.readouterr().err == ""


def test_one_terminal_switch_for_items_and_epochs(monkeypatch, capsys):
    """pipeline.progress decides bar vs lines once (stderr_is_terminal) for item and epoch
    progress; the CLI's names are the same objects."""
    import pipeline.cli.progress as cli_progress
    import pipeline.progress as progress

    assert cli_progress.epoch_progress is progress.epoch_progress and cli_progress.EpochLines is progress.EpochLines
    with progress.item_progress("t", "item", "done", 2, headline="2 items", bar_title="t") as advance:
        advance("a")
    assert capsys.readouterr().err.splitlines()[0] == "[t] 2 items"
    monkeypatch.setattr(progress, "stderr_is_terminal", lambda: True)
    with progress.item_progress("t", "item", "done", 2, headline="2 items", bar_title="t") as advance:
        advance("a")
    with progress.epoch_progress(1, 1) as update:
        update(1)
    assert "[t]" not in capsys.readouterr().err
