"""The headless CLI through click's CliRunner: output, JSON shapes and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tui_cnn.architecture.presets import PRESETS
from tui_cnn.cli.commands import main
from tui_cnn.store.runs import RunStore


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


def test_summary_json(cli: CliRunner) -> None:
    result = cli.invoke(main, ["summary", "simple_cnn", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total_params"] == 5274
    assert data["input"] == [1, 28, 28]
    assert [layer["kind"] for layer in data["layers"]][:3] == ["conv", "relu", "conv"]
    assert set(data["layers"][0]) >= {"index", "kind", "spec", "out_shape", "params", "macs", "dense_equiv"}
    assert data["layers"][0]["dense_equiv"] == 614_656


def test_summary_table_shows_totals_with_separators(cli: CliRunner) -> None:
    result = cli.invoke(main, ["summary", "mlp"])
    assert result.exit_code == 0
    assert "39,760" in result.stdout
    assert "linear 50" in result.stdout


def test_summary_of_a_line_and_an_input_shape(cli: CliRunner) -> None:
    result = cli.invoke(main, ["summary", "conv 4 s2 | flatten", "--input", "3x8x8", "--json"])
    data = json.loads(result.stdout)
    assert data["input"] == [3, 8, 8]
    assert data["layers"][-1]["out_shape"] == [64]
    assert data["total_params"] == 4 * 3 * 9 + 4


def test_summary_of_a_spec_file(cli: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "tiny.spec"
    path.write_text("name: tiny\ninput: 1x28x28\nflatten\nlinear 10\n")
    result = cli.invoke(main, ["summary", str(path), "--json"])
    assert json.loads(result.stdout)["total_params"] == 7850


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["summary", "conv 4 | lnear 3"], "column 10: unknown layer 'lnear'"),
        (["summary", "flatten | conv 4"], "layer 1 (conv 4)"),
        (["summary", "mpl"], "did you mean 'mlp'"),
        (["summary", "mlp", "--input", "28x28"], "CxHxW"),
        (["summary", "nope/net.spec"], "no such spec file"),
        (["code", "linear 10"], "add a flatten"),
        (["train", "conv 4 |"], "stray '|'"),
        (["train", "flatten | linear 7"], "10 classes"),
        (["train", "mlp", "--epochs", "0"], "epochs"),
        (["train", "mlp", "--lr", "-1"], "lr"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli: CliRunner, args: list[str], words: str, tmp_path: Path) -> None:
    result = cli.invoke(main, [*args, *(["--runs-dir", str(tmp_path)] if args[0] == "train" else [])])
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1


def test_code_is_runnable(cli: CliRunner) -> None:
    result = cli.invoke(main, ["code", "simple_cnn"])
    assert result.exit_code == 0
    namespace: dict = {"__name__": "generated"}
    exec(result.stdout, namespace)  # noqa: S102 - the command's own output
    model = namespace["model"]
    assert sum(p.numel() for p in model.parameters()) == 5274
    assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_presets_lists_every_preset(cli: CliRunner) -> None:
    data = json.loads(cli.invoke(main, ["presets", "--json"]).stdout)
    assert [p["name"] for p in data["presets"]] == list(PRESETS)
    assert {p["name"]: p["params"] for p in data["presets"]}["simple_cnn"] == 5274
    assert "39,760" in cli.invoke(main, ["presets"]).stdout


def test_runs_table_keeps_the_whole_run_id_at_80_columns() -> None:
    from rich.console import Console

    from tui_cnn.cli.tables import runs_table
    from tui_cnn.store.runs import RunRecord

    record = RunRecord(
        "20261125-060404-0c42", "conv 4 s2 | relu | conv 8 s2 | relu | flatten | linear 10", "", 5274, "mnist-5k",
        {}, "cpu", "finished", 10, 0.95, 0.941, 0.1, 2.4, 29000.0, "", "",
    )  # fmt: skip
    console = Console(width=80, record=True)
    console.print(runs_table([record]))
    text = console.export_text()
    assert "20261125-060404-0c42" in text
    assert "94.1%" in text and "finished" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_train_notes_cuda_only_flags_on_the_cpu_and_ends_with_full_bars(cli: CliRunner, tmp_path: Path) -> None:
    args = ["train", "linear", "--epochs", "2", "--batch-size", "500", "--device", "cpu", "--amp", "--compile"]
    result = cli.invoke(main, [*args, "--runs-dir", str(tmp_path), "--json"])
    assert result.exit_code == 0, result.output
    assert "note: amp ignored on cpu" in result.stderr and "note: compile ignored on cpu" in result.stderr
    assert "8/8" in result.stderr.splitlines()[-1]  # the last epoch's step bar is left full, not reset
    assert json.loads(result.stdout.splitlines()[-1])["status"] == "finished"


# -- the process's exit, which skips torch's teardown -----------------------------------------

ROOT = Path(__file__).resolve().parents[1]

# Runs `cnn-tui ARGS` after registering an exit handler and starting a thread that writes
# a file after the run has ended: the fast exit must still run the one and wait for the other.
_WITH_A_HANDLER_AND_A_THREAD = """
import atexit, sys, threading, time
from pathlib import Path
atexit.register(lambda: print("exit handler ran", file=sys.stderr))
out = Path(sys.argv[1])
threading.Thread(target=lambda: (time.sleep(3), out.write_text("done"))).start()
sys.argv = ["cnn-tui", *sys.argv[2:]]
from tui_cnn.cli.commands import run
run()
"""


def _cnn_tui(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", _WITH_A_HANDLER_AND_A_THREAD, str(tmp_path / "thread.txt"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)


@pytest.mark.parametrize(
    ("args", "code", "status"),
    [
        (["--epochs", "1"], 0, "finished"),
        (["--epochs", "1", "--lr", "1e12", "--optimizer", "sgd", "--batch-size", "100"], 1, "diverged"),
    ],
)
def test_a_training_process_ends_with_its_status_output_handlers_and_threads_complete(
    tmp_path: Path, args: list[str], code: int, status: str
) -> None:
    done = _cnn_tui(tmp_path, "train", "mlp", *args, "--device", "cpu", "--runs-dir", str(tmp_path), "--json")
    assert done.returncode == code, done.stderr
    assert json.loads(done.stdout.splitlines()[-1])["status"] == status
    assert done.stderr.rstrip().endswith("exit handler ran")
    assert (tmp_path / "thread.txt").read_text() == "done"
    assert [run.status for run in RunStore(tmp_path).runs()] == [status]


def test_a_process_that_never_loads_torch_exits_the_ordinary_way(tmp_path: Path) -> None:
    done = _cnn_tui(tmp_path, "summary", "conv 4 | lnear 3")
    assert done.returncode == 2 and "unknown layer 'lnear'" in done.stderr
    assert done.stderr.rstrip().endswith("exit handler ran") and (tmp_path / "thread.txt").read_text() == "done"
