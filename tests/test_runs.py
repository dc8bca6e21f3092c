"""The runs store: what a recorder writes, reading it back, and weights files that must not load."""

from __future__ import annotations

import os
import pickle
import sqlite3
from pathlib import Path

import pytest
import torch

from tui_cnn.architecture.presets import preset
from tui_cnn.store.runs import SCHEMA_VERSION, RunRecord, RunStore, StoreError
from tui_cnn.training.data import Dataset
from tui_cnn.training.events import Ended, EpochEnd, Started
from tui_cnn.training.trainer import TrainConfig, Trainer


def started(**changes: object) -> Started:
    fields = {
        "arch": "mlp",
        "line": "flatten | linear 50 | relu | linear 10",
        "params": 39760,
        "dataset": "mnist-5k",
        "device": "cpu",
        "device_name": "CPU (2 threads)",
        "epochs": 2,
        "steps_per_epoch": 62,
        "train_size": 4000,
        "val_size": 1000,
        "config": TrainConfig(epochs=2).to_dict(),
        **changes,
    }
    return Started(**fields)


def epoch(n: int, val_acc: float) -> EpochEnd:
    return EpochEnd(n, 1.0 / n, 0.5 + n / 10, 0.9 / n, val_acc, 0.25, 16000.0)


def ended(status: str = "finished", state_dict: dict | None = None) -> Ended:
    return Ended(status, f"{status} 2 epochs", 2, 0.91, 0.9, 0.5, 1.5, 16000.0, state_dict)


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    return RunStore(tmp_path / "runs")


def test_a_real_run_lands_with_metrics_and_weights(store: RunStore, mnist5k: Dataset) -> None:
    recorder = store.recorder()
    end = Trainer(preset("mlp"), mnist5k, TrainConfig(epochs=2, device="cpu"), recorder).run()
    record = store.get(recorder.run_id)
    assert record is not None and record.status == "finished"
    assert (record.arch, record.params, record.dataset, record.epochs_done) == ("mlp", 39760, "mnist-5k", 2)
    assert record.final_val_acc == end.final_val_acc and record.train_loss == end.train_loss
    assert record.config["epochs"] == 2 and record.device.startswith("CPU")
    assert [m.epoch for m in store.metrics(recorder.run_id)] == [1, 2]
    weights = store.load_weights(recorder.run_id)
    assert set(weights) == set(end.state_dict)
    assert all(torch.equal(weights[k], end.state_dict[k]) for k in weights)


def test_recorder_row_through_a_run(store: RunStore) -> None:
    recorder = store.recorder()
    recorder(started())
    record = store.get(recorder.run_id)
    assert record is not None and record.status == "running" and record.epochs_done == 0
    recorder(epoch(1, 0.91))
    recorder(epoch(2, 0.9))
    record = store.get(recorder.run_id)
    assert (record.epochs_done, record.best_val_acc, record.final_val_acc) == (2, 0.91, 0.9)  # kept if killed now
    recorder(ended(state_dict={"1.weight": torch.ones(2, 3)}))
    record = store.get(recorder.run_id)
    assert record.status == "finished" and record.message == "finished 2 epochs"
    assert record.seconds == 1.5 and record.samples_per_s == 16000.0
    metrics = store.metrics(recorder.run_id)
    assert [(m.epoch, m.val_acc, m.train_loss) for m in metrics] == [(1, 0.91, 1.0), (2, 0.9, 0.5)]
    assert torch.equal(store.load_weights(recorder.run_id)["1.weight"], torch.ones(2, 3))


def test_run_ids_are_short_sortable_and_unique(store: RunStore) -> None:
    ids = []
    for _ in range(3):
        recorder = store.recorder()
        recorder(started())
        recorder(ended())
        ids.append(recorder.run_id)
    assert len(set(ids)) == 3
    assert all(len(i) == 20 and i[8] == "-" and i[15] == "-" for i in ids)
    assert [r.run_id for r in store.runs()] == ids[::-1]  # newest first


def test_get_by_unique_prefix(store: RunStore) -> None:
    recorder = store.recorder()
    recorder(started())
    assert store.get(recorder.run_id[:17]).run_id == recorder.run_id
    assert store.get("19990101") is None
    assert store.get("%") is None and store.get("") is None
    other = store.recorder()
    other(started())
    assert store.get(recorder.run_id[:9]) is None  # both start with today's date


def test_to_json_keys(store: RunStore) -> None:
    recorder = store.recorder()
    recorder(started())
    recorder(ended())
    data = store.get(recorder.run_id).to_json()
    assert set(data) == {
        "run_id", "arch", "line", "params", "dataset", "status", "epochs_done", "val_acc", "best_val_acc",
        "train_loss", "seconds", "samples_per_s", "device", "created", "message", "group_id", "sweep_id", "config",
    }  # fmt: skip
    assert data["val_acc"] == 0.9 and data["config"]["epochs"] == 2


def test_a_run_that_never_started_leaves_nothing(store: RunStore) -> None:
    recorder = store.recorder()
    recorder(Ended("failed", "no such dataset", 0, None, None, None, 0.0, 0.0))
    assert store.runs() == []


def test_delete(store: RunStore) -> None:
    recorder = store.recorder()
    recorder(started())
    recorder(epoch(1, 0.5))
    recorder(ended(state_dict={"w": torch.zeros(1)}))
    store.delete(recorder.run_id)
    assert store.get(recorder.run_id) is None and store.metrics(recorder.run_id) == []
    assert not store.weights_path(recorder.run_id).exists()
    with pytest.raises(StoreError, match="no run"):
        store.delete(recorder.run_id)


def _run_with_weights(store: RunStore) -> str:
    recorder = store.recorder()
    recorder(started())
    recorder(ended(state_dict={"1.weight": torch.ones(3)}))
    return recorder.run_id


class Payload:
    """Not a tensor: a pickle of this must never be loaded (weights_only)."""

    def __reduce__(self) -> tuple:
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize(
    ("damage", "words"),
    [
        (lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]), "corrupt"),
        (lambda p: p.write_bytes(b"\x00garbage" * 100), "corrupt"),
        (lambda p: p.write_bytes(pickle.dumps(Payload())), "corrupt"),
        (lambda p: torch.save({"1.weight": Payload()}, p), "corrupt"),
        (lambda p: torch.save([torch.ones(1)], p), "not a state dict"),
        (lambda p: p.unlink(), "no saved weights"),
    ],
    ids=["truncated", "garbage", "pickle", "foreign-object", "list", "missing"],
)
def test_bad_weights_files_are_store_errors(store: RunStore, damage, words: str) -> None:
    run_id = _run_with_weights(store)
    path = store.weights_path(run_id)
    damage(path)
    with pytest.raises(StoreError, match=words) as info:
        store.load_weights(run_id)
    if words != "no saved weights":
        assert str(path) in str(info.value)


def test_cnn_tui_home_is_respected(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CNN_TUI_HOME", str(tmp_path / "home"))
    store = RunStore.open()
    assert store.root == tmp_path / "home" and store.db_path.is_file()
    assert RunStore.open(tmp_path / "option").root == tmp_path / "option"  # the option wins


def test_unwritable_directory_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match=str(blocker / "runs")):
        RunStore(blocker / "runs")


def test_not_a_database_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "runs.sqlite3").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="runs.sqlite3"):
        RunStore(tmp_path)


def test_schema_is_versioned(store: RunStore, tmp_path: Path) -> None:
    db = sqlite3.connect(store.db_path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    store.close()
    with pytest.raises(StoreError, match="newer cnn-tui"):
        RunStore(store.root)


def test_runs_of_a_dead_process_become_interrupted(store: RunStore) -> None:
    recorder = store.recorder()
    recorder(started())
    alive = store.recorder()
    alive(started())
    with sqlite3.connect(store.db_path) as db:  # as if a kill -9 had ended another process mid-run
        db.execute("UPDATE runs SET pid = ? WHERE run_id = ?", (2**22 + 12345, recorder.run_id))
    # ... while it was writing the weights: a temporary file that was never renamed into place
    partial = store.weights_dir / f".{recorder.run_id}.pt.x1y2.tmp"
    partial.write_bytes(b"half a checkpoint")
    writing = store.weights_dir / f".{alive.run_id}.pt.z3w4.tmp"
    writing.write_bytes(b"being written")
    reopened = RunStore(store.root)
    record = reopened.get(recorder.run_id)
    assert isinstance(record, RunRecord) and record.status == "interrupted"
    assert "process ended" in record.message
    assert not partial.exists()
    assert reopened.get(alive.run_id).status == "running"  # this process is alive
    assert writing.exists()  # and may still be writing its weights


def test_writes_from_another_thread(store: RunStore) -> None:
    import threading

    recorder = store.recorder()
    thread = threading.Thread(target=lambda: (recorder(started()), recorder(epoch(1, 0.7)), recorder(ended())))
    thread.start()
    thread.join(10)
    assert store.get(recorder.run_id).status == "finished"


def test_two_threads_starting_runs_under_one_drawn_id_get_a_row_each(
    store: RunStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sweep's groups on two devices start runs at once: the id check and the insert must not interleave."""
    import threading

    both_checked = threading.Barrier(2, timeout=1)
    exists = RunStore._exists

    def checked_slowly(self: RunStore, run_id: str) -> bool:
        found = exists(self, run_id)
        try:
            both_checked.wait()  # without the store's lock both threads see the id free, then both insert it
        except threading.BrokenBarrierError:
            pass  # with it, the other thread waits for the lock: nobody comes
        return found

    monkeypatch.setattr(RunStore, "_exists", checked_slowly)
    recorders = [store.recorder(), store.recorder()]
    recorders[1].run_id = recorders[0].run_id  # the same 4 hex digits drawn in the same second
    errors: list[Exception] = []

    def start(recorder) -> None:
        try:
            recorder(started())
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(r,)) for r in recorders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert recorders[0].run_id != recorders[1].run_id
    assert sorted(r.run_id for r in store.runs()) == sorted(r.run_id for r in recorders)


def test_a_killed_run_keeps_its_time_up_to_the_last_epoch(store: RunStore, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tui_cnn.cli.commands import main

    recorder = store.recorder()
    recorder(started(epochs=30))
    for n in range(1, 28):
        recorder(epoch(n, 0.9))  # 27 epochs of 0.25 s, then kill -9: no Ended
    with sqlite3.connect(store.db_path) as db:
        db.execute("UPDATE runs SET pid = ? WHERE run_id = ?", (2**22 + 12345, recorder.run_id))
    record = RunStore(store.root).get(recorder.run_id)
    assert record is not None and record.status == "interrupted" and record.epochs_done == 27
    assert record.seconds == pytest.approx(27 * 0.25)
    listing = CliRunner().invoke(main, ["runs", "--runs-dir", str(store.root)])
    assert listing.exit_code == 0 and "6.8s" in listing.output
    recorder(ended())  # an Ended, when there is one, has the last word
    assert store.get(recorder.run_id).seconds == 1.5
