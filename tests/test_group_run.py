"""A group end to end: every member a run in the store under its group, a stop completing them all, old stores."""

from __future__ import annotations

import sqlite3
import statistics
from pathlib import Path

import pytest
import torch

from tui_cnn.architecture.presets import preset
from tui_cnn.experiments.group_run import GroupRun
from tui_cnn.store import groups
from tui_cnn.store.runs import RunStore
from tui_cnn.training.config import TrainConfig
from tui_cnn.training.data import Dataset
from tui_cnn.training.events import Event, Step

pytestmark = pytest.mark.usefixtures("one_thread")  # runs compared sum in one order

CPU = {"device": "cpu", "weights_every": 0.0, "epochs": 2, "batch_size": 64, "optimizer": "sgd"}


def configs(*members: tuple[int, float], **changes) -> list[TrainConfig]:
    return [TrainConfig(**{**CPU, **changes, "seed": seed, "lr": lr}) for seed, lr in members]


def test_every_member_is_a_run_under_its_group_with_its_seed_and_lr(tmp_path: Path, tiny: Dataset) -> None:
    store = RunStore(tmp_path)
    members = configs((0, 0.05), (1, 0.05), (2, 0.02))
    run = GroupRun(preset("mlp"), tiny, members, store, arch="mlp")
    ended = run.run()
    assert [e.status for e in ended] == ["finished"] * 3
    records = [store.get(run_id) for run_id in run.run_ids]
    assert [(r.seed, r.lr, r.status, r.epochs_done) for r in records] == [
        (0, 0.05, "finished", 2), (1, 0.05, "finished", 2), (2, 0.02, "finished", 2),
    ]  # fmt: skip
    # One group per learning rate, the two under one sweep made for them.
    assert records[0].group_id == records[1].group_id != records[2].group_id
    assert run.sweep_id and {r.sweep_id for r in records} == {run.sweep_id}
    assert [len(store.metrics(r.run_id)) for r in records] == [2, 2, 2]
    for k, r in enumerate(records):
        assert torch.equal(store.load_weights(r.run_id)["1.weight"], ended[k].state_dict["1.weight"])
    assert [r.run_id for r in store.members(records[0].group_id)] == run.run_ids[:2]
    assert [r.run_id for r in store.members(run.sweep_id[:-2])] == run.run_ids  # a sweep, by a prefix
    summary = groups.summarise(store.members(records[0].group_id))
    accs = [records[0].final_val_acc, records[1].final_val_acc]
    assert (summary.arch, summary.lr, summary.members, summary.val_acc.n) == ("mlp", 0.05, 2, 2)
    assert summary.val_acc.mean == pytest.approx(statistics.fmean(accs))
    assert summary.val_acc.sd == pytest.approx(statistics.stdev(accs))
    json_runs = run.to_json(39_760)
    assert [(j["seed"], j["lr"], j["run_id"]) for j in json_runs] == [
        (0, 0.05, run.run_ids[0]),
        (1, 0.05, run.run_ids[1]),
        (2, 0.02, run.run_ids[2]),
    ]


def test_a_diverging_member_is_recorded_diverged_and_left_out_of_the_mean(tmp_path: Path, tiny: Dataset) -> None:
    store = RunStore(tmp_path)
    run = GroupRun(preset("mlp"), tiny, configs((0, 0.05), (1, 30.0)), store, sweep_id="s-test")
    run.run()
    first, second = (store.get(i) for i in run.run_ids)
    assert (first.status, second.status) == ("finished", "diverged")
    assert "try a lower learning rate (now 30)" in second.message
    summary = groups.summarise([first, second])
    assert summary.val_acc.n == 1 and summary.val_acc.mean == first.final_val_acc
    assert summary.lr is None  # the two members' lrs differ
    assert summary.status == "1 diverged, 1 finished"


def test_a_stop_completes_every_members_record(tmp_path: Path, tiny: Dataset) -> None:
    store = RunStore(tmp_path)
    run: GroupRun | None = None

    def on_event(member: int, event: Event) -> None:
        if isinstance(event, Step):
            run.stop()

    run = GroupRun(preset("mlp"), tiny, configs((0, 0.05), (1, 0.05), report_every=0.0), store, on_event)
    ended = run.run()
    assert [e.status for e in ended] == ["interrupted", "interrupted"]
    assert [store.get(i).status for i in run.run_ids] == ["interrupted", "interrupted"]
    assert all(store.weights_path(i).is_file() for i in run.run_ids)


def test_a_group_split_by_memory_trains_in_turn_under_one_group(
    tmp_path: Path, tiny: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tui_cnn.experiments import group

    each = group.member_bytes(preset("mlp"), 64)
    monkeypatch.setattr(group, "available_bytes", lambda device: 2 * each)
    store = RunStore(tmp_path)
    run = GroupRun(preset("mlp"), tiny, configs((0, 0.05), (1, 0.05), (2, 0.05)), store)
    ended = run.run()
    assert run.notice and "2 groups of up to 2" in run.notice
    assert [e.status for e in ended] == ["finished"] * 3
    assert len({store.get(i).group_id for i in run.run_ids}) == 1
    assert [store.get(i).config["group_size"] for i in run.run_ids] == [2, 2, 1]


V1_SCHEMA = """
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY, arch TEXT NOT NULL, line TEXT NOT NULL, params INTEGER NOT NULL,
    dataset TEXT NOT NULL, config TEXT NOT NULL, device TEXT NOT NULL, status TEXT NOT NULL,
    epochs_done INTEGER NOT NULL DEFAULT 0, best_val_acc REAL, final_val_acc REAL, train_loss REAL,
    seconds REAL NOT NULL DEFAULT 0, samples_per_s REAL NOT NULL DEFAULT 0, created TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '', host TEXT NOT NULL, pid INTEGER NOT NULL
);
CREATE TABLE metrics (
    run_id TEXT NOT NULL REFERENCES runs(run_id) ON DELETE CASCADE, epoch INTEGER NOT NULL,
    train_loss REAL NOT NULL, train_acc REAL NOT NULL, val_loss REAL NOT NULL, val_acc REAL NOT NULL,
    seconds REAL NOT NULL, PRIMARY KEY (run_id, epoch)
);
INSERT INTO runs VALUES ('20260101-000000-abcd', 'mlp', 'flatten | linear 10', 7850, 'mnist-5k', '{"seed": 3}',
    'cpu', 'finished', 1, 0.9, 0.9, 0.3, 1.0, 100.0, '2026-01-01T00:00:00+00:00', 'done', 'h', 1);
INSERT INTO metrics VALUES ('20260101-000000-abcd', 1, 0.3, 0.9, 0.3, 0.9, 1.0);
PRAGMA user_version = 1;
"""


def test_a_store_of_schema_1_opens_keeps_its_runs_and_takes_groups(tmp_path: Path, tiny: Dataset) -> None:
    db = sqlite3.connect(tmp_path / "runs.sqlite3")
    db.executescript(V1_SCHEMA)
    db.close()
    store = RunStore(tmp_path)
    old = store.get("20260101-000000-abcd")
    assert old is not None and old.seed == 3 and old.group_id is None and old.sweep_id is None
    assert [m.val_acc for m in store.metrics(old.run_id)] == [0.9]
    run = GroupRun(preset("mlp"), tiny, configs((0, 0.05), (1, 0.05), epochs=1), store)
    run.run()
    folded = groups.fold(store.runs())
    assert [type(x).__name__ for x in folded] == ["GroupSummary", "RunRecord"]
    store.close()
    reopened = RunStore(tmp_path)
    assert reopened._execute("PRAGMA user_version")[0][0] == 2
    assert len(reopened.members(run.group_ids[0.05])) == 2


def test_fold_puts_each_group_once_where_its_newest_member_was() -> None:
    from tui_cnn.store.runs import RunRecord

    def record(run_id: str, group: str | None, acc: float, status: str = "finished") -> RunRecord:
        return RunRecord(
            run_id, "mlp", "l", 1, "d", {"seed": 0, "lr": 0.1}, "cpu", status, 1, acc, acc, 0.1, 1.0, 1.0,
            run_id, "", group, None,
        )  # fmt: skip

    runs = [record("4", "g-a", 0.9), record("3", None, 0.5), record("2", "g-a", 0.7), record("1", "g-b", 0.6)]
    folded = groups.fold(runs)
    assert [getattr(x, "group_id", None) or x.run_id for x in folded] == ["g-a", "3", "g-b"]
    a = folded[0]
    assert a.run_ids == ("2", "4") and a.val_acc.mean == pytest.approx(0.8) and a.val_acc.min == 0.7
    assert a.val_acc.sd == pytest.approx(statistics.stdev([0.9, 0.7]))
    assert [g.group_id for g in groups.by_group(runs[::-1])] == ["g-b", "g-a"]
