"""Continuing a run: 5 epochs then 5 more equal 10 in one go, after a kill -9 too; what may not change is refused."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tui_cnn.architecture.presets import preset
from tui_cnn.cli import main
from tui_cnn.store import runs
from tui_cnn.store.runs import RunStore
from tui_cnn.training.checkpoint import decode
from tui_cnn.training.data import Dataset
from tui_cnn.training.events import Checkpoint, EpochEnd, Event
from tui_cnn.training.trainer import TrainConfig, Trainer

from .subsets import first_digits
from .threads import one_torch_thread

pytestmark = pytest.mark.usefixtures("one_thread")  # runs compared sum in one order

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def small(mnist5k: Dataset) -> Dataset:
    """The first 1,000 train digits: ten epochs of them cost two and a half of the whole set."""
    return first_digits(mnist5k, 1000)


def _config(**changes: object) -> TrainConfig:
    return TrainConfig(**{"device": "cpu", "seed": 3, "weights_every": 0, **changes})


def _train(store: RunStore, arch: str, data: Dataset, config: TrainConfig) -> str:
    recorder = store.recorder()
    ended = Trainer(preset(arch), data, config, recorder, arch=arch).run()
    assert ended.status == "finished", ended.message
    return recorder.run_id


def _resume(store: RunStore, run_id: str, arch: str, data: Dataset, config: TrainConfig) -> None:
    record = store.get(run_id)
    checkpoint = store.load_checkpoint(run_id)
    recorder = store.recorder(record, checkpoint.epoch)
    ended = Trainer(preset(arch), data, config, recorder, arch=arch, resume=checkpoint).run()
    assert ended.status == "finished", ended.message


@pytest.mark.parametrize(
    ("arch", "optimizer"),
    [("simple_cnn", "adam"), ("mlp", "sgd"), ("deep_mlp", "adam")],  # deep_mlp: dropout's masks continue too
)
def test_five_epochs_then_five_more_equal_ten_in_one_go(
    tmp_path: Path, small: Dataset, arch: str, optimizer: str
) -> None:
    store = RunStore(tmp_path)
    straight = _train(store, arch, small, _config(epochs=10, optimizer=optimizer))
    halves = _train(store, arch, small, _config(epochs=5, optimizer=optimizer))
    assert store.load_checkpoint(halves).epoch == 5
    _resume(store, halves, arch, small, _config(epochs=10, optimizer=optimizer))

    one, two = store.load_weights(straight), store.load_weights(halves)
    assert one.keys() == two.keys()
    for name in one:
        assert torch.equal(one[name], two[name]), name  # the same kernels on the same numbers: exactly equal
    assert [m.val_acc for m in store.metrics(halves)] == [m.val_acc for m in store.metrics(straight)]
    assert [m.epoch for m in store.metrics(halves)] == list(range(1, 11))
    record = store.get(halves)
    assert record.epochs_done == 10 and record.status == "finished"
    assert record.best_val_acc == store.get(straight).best_val_acc
    assert [note["after_epoch"] for note in record.config["resumed"]] == [5]
    assert record.config["resumed"][0]["changed"] == {"epochs": [5, 10]}
    assert [r.run_id for r in store.runs()].count(halves) == 1


@pytest.mark.parametrize(("every", "on_disk"), [(0.0, [1, 2, 3]), (3600.0, [1, 1, 1])])
def test_epochs_leave_checkpoints_at_most_every_so_often_and_the_last_at_the_end(
    tmp_path: Path, small: Dataset, monkeypatch: pytest.MonkeyPatch, every: float, on_disk: list[int]
) -> None:
    monkeypatch.setattr(runs, "CHECKPOINT_EVERY", every)
    store = RunStore(tmp_path)
    seen: list[int] = []
    recorder = store.recorder()

    def on_event(event: Event) -> None:
        recorder(event)
        if isinstance(event, Checkpoint):
            seen.append(store.load_checkpoint(recorder.run_id).epoch)

    Trainer(preset("mlp"), small, _config(epochs=3), on_event).run()
    assert seen == on_disk
    assert store.load_checkpoint(recorder.run_id).epoch == 3
    assert sorted(p.name for p in store.weights_dir.iterdir()) == [f"{recorder.run_id}.ckpt", f"{recorder.run_id}.pt"]


def test_a_stopped_run_keeps_the_checkpoint_of_its_last_epoch(
    tmp_path: Path, small: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runs, "CHECKPOINT_EVERY", 3600.0)
    store = RunStore(tmp_path)
    recorder = store.recorder()
    trainer: Trainer

    def on_event(event: Event) -> None:
        recorder(event)
        if isinstance(event, EpochEnd) and event.epoch == 2:
            trainer.stop()

    trainer = Trainer(preset("mlp"), small, _config(epochs=5), on_event)
    assert trainer.run().status == "interrupted"
    assert store.load_checkpoint(recorder.run_id).epoch == 2


def test_a_resumed_learning_rate_is_used_and_recorded(tmp_path: Path, small: Dataset) -> None:
    store = RunStore(tmp_path)
    run_id = _train(store, "mlp", small, _config(epochs=2))
    after_two = store.load_weights(run_id)
    _resume(store, run_id, "mlp", small, _config(epochs=3, lr=1e-9))
    # A learning rate of 1e-9 barely moves the weights: the new one was used, not the stored 3e-3.
    assert all(torch.allclose(after_two[k], v, atol=1e-6) for k, v in store.load_weights(run_id).items())
    record = store.get(run_id)
    assert record.config["lr"] == 1e-9
    assert record.config["resumed"][0]["changed"] == {"epochs": [2, 3], "lr": [3e-3, 1e-9]}


def _cli(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory, small: Dataset) -> tuple[RunStore, str]:
    store = RunStore(tmp_path_factory.mktemp("runs"))
    with one_torch_thread():
        return store, _train(store, "mlp", small, _config(epochs=1))


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--batch-size", "32"], "--batch-size cannot change when resuming (the run used 64)"),
        (["--optimizer", "sgd"], "--optimizer cannot change"),
        (["--seed", "4"], "--seed cannot change"),
        (["--dataset", "mnist"], "the dataset cannot change"),
        (["simple_cnn"], "the architecture cannot change"),
        ([], "has done 1 of its 1 epochs: give --epochs above 1"),
        (["--epochs", "1"], "give --epochs above 1"),
        (["--lr", "-1", "--epochs", "2"], "learning rate (lr) must be a positive number"),
    ],
)
def test_what_cannot_change_is_refused_in_one_line(finished: tuple[RunStore, str], args: list[str], words: str) -> None:
    store, run_id = finished
    before = store.get(run_id)
    result = _cli("train", *args, "--resume", run_id, "--runs-dir", str(store.root))
    assert result.exit_code == 2, result.output
    assert words in result.output and len(result.output.strip().splitlines()) == 1
    assert store.get(run_id) == before and len(store.metrics(run_id)) == 1


def test_a_run_without_a_usable_checkpoint_is_refused(tmp_path: Path, small: Dataset) -> None:
    store = RunStore(tmp_path)
    run_id = _train(store, "mlp", small, _config(epochs=1))
    store.checkpoint_path(run_id).write_bytes(b"PK\x03\x04 half a zip")
    corrupt = _cli("train", "--resume", run_id, "--epochs", "2", "--runs-dir", str(tmp_path))
    assert corrupt.exit_code == 2 and "corrupt or not a cnn-tui checkpoint" in corrupt.output
    store.checkpoint_path(run_id).unlink()  # as a run recorded before checkpoints existed
    missing = _cli("train", "--resume", run_id, "--epochs", "2", "--runs-dir", str(tmp_path))
    assert missing.exit_code == 2 and "has no checkpoint to continue from" in missing.output
    unknown = _cli("train", "--resume", "nope", "--runs-dir", str(tmp_path))
    assert unknown.exit_code == 2 and "no run 'nope'" in unknown.output


def _epochs_done(runs: Path) -> int:
    """The epochs the training process has committed so far (0 before its store has a run)."""
    if not (runs / "runs.sqlite3").exists():
        return 0
    db = sqlite3.connect(runs / "runs.sqlite3", timeout=5)
    try:
        return db.execute("SELECT coalesce(max(epochs_done), 0) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:  # the tables are not made yet
        return 0
    finally:
        db.close()


def test_a_run_killed_with_kill_9_continues_from_its_last_epoch(tmp_path: Path, mnist5k: Dataset) -> None:
    runs = tmp_path / "runs"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tui_cnn", "train", "mlp", "--epochs", "200", "--seed", "3", "--device", "cpu"]
    process = subprocess.Popen(
        [*command, "--runs-dir", str(runs)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if _epochs_done(runs) >= 2:
                break
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(30)
    store = RunStore(runs)
    [record] = store.runs()
    assert record.status == "interrupted" and record.epochs_done >= 2
    assert not list(store.weights_dir.glob(".*.tmp"))
    after = store.load_checkpoint(record.run_id).epoch
    assert 1 <= after <= record.epochs_done  # checkpoints are written at most every CHECKPOINT_EVERY seconds

    total = after + 2
    result = _cli("train", "--resume", record.run_id[:15], "--epochs", str(total), "--runs-dir", str(runs), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["epochs"] == total
    assert [m.epoch for m in store.metrics(record.run_id)] == list(range(1, total + 1))
    assert store.get(record.run_id).status == "finished"

    straight = RunStore(tmp_path / "straight")
    _train(straight, "mlp", mnist5k, _config(epochs=total))
    expected = straight.load_weights(straight.runs()[0].run_id)
    got = store.load_weights(record.run_id)
    for name in expected:
        assert torch.allclose(got[name], expected[name], atol=1e-6, rtol=0), name


def test_a_checkpoint_half_written_by_a_killed_process_is_removed(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    recorder = store.recorder()
    recorder(_started())
    with sqlite3.connect(store.db_path) as db:  # as if a kill -9 had ended that process mid-run
        db.execute("UPDATE runs SET pid = ? WHERE run_id = ?", (2**22 + 12345, recorder.run_id))
    partial = store.weights_dir / f".{recorder.run_id}.ckpt.a1b2.tmp"
    partial.write_bytes(b"half a checkpoint")
    RunStore(tmp_path)
    assert not partial.exists()


def _started() -> object:
    from tui_cnn.training.events import Started

    return Started("mlp", "flatten | linear 10", 7850, "mnist-5k", "cpu", "CPU", 1, 62, 4000, 1000, {})


def test_decode_refuses_what_is_not_a_checkpoint() -> None:
    import io

    buffer = io.BytesIO()
    torch.save({"1.weight": torch.zeros(2)}, buffer)
    with pytest.raises(ValueError, match="not a cnn-tui checkpoint"):
        decode(buffer.getvalue())
