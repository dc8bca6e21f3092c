"""`cnn-tui runs` for other tools (CSV) and tidying (rm): columns, files gone, the store whole."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tui_cnn.cli import main
from tui_cnn.store.runs import METRICS_CSV_COLUMNS, RUN_CSV_COLUMNS, RunStore
from tui_cnn.training.config import TrainConfig
from tui_cnn.training.events import Checkpoint, Ended, EpochEnd, Started


def record_run(store: RunStore, arch: str, epochs: int, lr: float = 3e-3) -> str:
    """A finished run of `epochs` epochs with weights, written as the trainer's events would."""
    recorder = store.recorder()
    config = TrainConfig(epochs=epochs, lr=lr).to_dict()
    recorder(
        Started(arch, "flatten | linear 10", 7850, "mnist-5k", "cpu", "CPU (1 thread)", epochs, 62, 4000, 1000, config)
    )
    for n in range(1, epochs + 1):
        recorder(EpochEnd(n, 1.0 / n, 0.5 + n / 100, 0.9 / n, 0.8 + n / 100, 0.25, 16000.0))
    state = {"1.weight": torch.zeros(10, 784), "1.bias": torch.zeros(10)}
    recorder(Checkpoint(epochs, 62 * epochs, None, state, {"exp_avgs": []}, torch.Generator().get_state()))
    recorder(
        Ended("finished", "done", epochs, 0.8 + epochs / 100, 0.8 + epochs / 100, 1.0 / epochs, 1.5, 16000.0, state)
    )
    return recorder.run_id


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path)


def invoke(store: RunStore, *args: str, stdin: str | None = None) -> object:
    return CliRunner().invoke(main, ["runs", "--runs-dir", str(store.root), *args], input=stdin)


def test_runs_csv_has_one_row_per_run_with_its_settings(store: RunStore) -> None:
    first = record_run(store, "mlp", 2)
    second = record_run(store, "linear", 3, lr=1e-3)
    result = invoke(store, "--csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert tuple(rows[0].keys()) == RUN_CSV_COLUMNS
    by_id = {row["run_id"]: row for row in rows}
    assert by_id.keys() == {first, second}
    row = by_id[second]
    assert (row["arch"], row["status"], row["epochs_done"], row["lr"], row["epochs"]) == (
        "linear", "finished", "3", "0.001", "3",
    )  # fmt: skip
    assert float(row["val_acc"]) == pytest.approx(0.83) and row["device"] == "CPU (1 thread)"
    assert row["line"] == "flatten | linear 10" and row["batch_size"] == "64"


def test_runs_show_csv_has_one_row_per_epoch(store: RunStore) -> None:
    run_id = record_run(store, "mlp", 3)
    result = invoke(store, "show", run_id[:10], "--csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert tuple(rows[0].keys()) == METRICS_CSV_COLUMNS
    assert [(r["run_id"], r["epoch"]) for r in rows] == [(run_id, "1"), (run_id, "2"), (run_id, "3")]
    assert [float(r["val_acc"]) for r in rows] == pytest.approx([0.81, 0.82, 0.83])


def test_runs_json_is_unchanged_by_csv(store: RunStore) -> None:
    record_run(store, "mlp", 1)
    result = invoke(store, "--json")
    assert result.exit_code == 0 and result.output.startswith('{"runs": [')


def _files(store: RunStore) -> set[str]:
    return {p.name for p in store.weights_dir.iterdir()}


def test_rm_with_yes_removes_rows_metrics_and_files_and_leaves_the_store_whole(store: RunStore) -> None:
    keep = record_run(store, "mlp", 2)
    gone = [record_run(store, "linear", 2), record_run(store, "linear", 1)]
    assert {f"{gone[0]}.pt", f"{gone[0]}.ckpt"} <= _files(store)
    result = invoke(store, "rm", *gone, "--yes")
    assert result.exit_code == 0, result.output
    assert all(run_id in result.output for run_id in gone)
    reopened = RunStore(store.root)
    assert [r.run_id for r in reopened.runs()] == [keep]
    assert len(reopened.metrics(keep)) == 2 and reopened.load_weights(keep).keys() == {"1.weight", "1.bias"}
    assert _files(reopened) == {f"{keep}.pt", f"{keep}.ckpt"}
    db = sqlite3.connect(reopened.db_path)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT DISTINCT run_id FROM metrics").fetchall() == [(keep,)]


def test_rm_asks_and_keeps_the_run_when_told_no(store: RunStore, monkeypatch: pytest.MonkeyPatch) -> None:
    run_id = record_run(store, "mlp", 1)
    monkeypatch.setattr("tui_cnn.cli.commands._stdin_is_a_terminal", lambda: True)
    no = invoke(store, "rm", run_id, stdin="n\n")
    assert no.exit_code == 1 and "delete" in no.output
    assert store.get(run_id) is not None and _files(store) == {f"{run_id}.pt", f"{run_id}.ckpt"}
    yes = invoke(store, "rm", run_id, stdin="y\n")
    assert yes.exit_code == 0, yes.output
    assert store.get(run_id) is None and _files(store) == set()


def test_rm_without_a_terminal_or_yes_refuses(store: RunStore) -> None:
    run_id = record_run(store, "mlp", 1)
    result = invoke(store, "rm", run_id)  # the runner's stdin is not a terminal
    assert result.exit_code == 2 and "--yes" in result.output
    assert store.get(run_id) is not None


def test_rm_of_an_unknown_run_deletes_nothing(store: RunStore) -> None:
    run_id = record_run(store, "mlp", 1)
    result = invoke(store, "rm", run_id, "nope", "--yes")
    assert result.exit_code == 2 and "no run 'nope'" in result.output and "nothing deleted" in result.output
    assert store.get(run_id) is not None
