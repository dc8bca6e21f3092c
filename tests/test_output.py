"""Text for people written to a pipe or a file (not a terminal) stays whole: no cut at 80 columns."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from tui_cnn.cli.commands import main

LONG = "flatten | linear 64 | relu | linear 48 | relu | linear 32 | relu | linear 10"


def test_train_to_a_file_writes_whole_lines_one_an_epoch_and_runs_lists_whole_archs(tmp_path: Path) -> None:
    cli = CliRunner()  # not a terminal, like `cnn-tui train ... 2>file | less`
    args = ["--epochs", "2", "--batch-size", "500", "--device", "cpu", "--runs-dir", str(tmp_path)]
    trained = cli.invoke(main, ["train", LONG, *args])
    assert trained.exit_code == 0, trained.output
    assert "…" not in trained.output
    epochs = [line for line in trained.stderr.splitlines() if line.startswith("epoch ")]
    assert len(epochs) == 2
    pattern = (
        r"epoch 2/2  steps 8/8  loss [\d.]+  acc [\d.]+%  val acc [\d.]+%  val loss [\d.]+  [\d,]+ samples/s  [\d.]+ s"
    )
    assert re.fullmatch(pattern, epochs[1]), epochs[1]
    assert "run " in trained.stdout and LONG in trained.stdout and "samples/s on cpu" in trained.stdout
    assert cli.invoke(main, ["train", "simple_cnn", "--epochs", "1", *args[2:]]).exit_code == 0

    listed = cli.invoke(main, ["runs", "--runs-dir", str(tmp_path)])
    assert listed.exit_code == 0 and "…" not in listed.output
    assert LONG in listed.output and re.search(r"\bsimple_cnn\b", listed.output)
