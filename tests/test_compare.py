"""Runs compared: a run's spec and model back from the store, ratios, and the log-scale scatter."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pytest
import torch

from tui_cnn.architecture.presets import preset
from tui_cnn.architecture.spec import Spec
from tui_cnn.lessons.mistakes import confusion
from tui_cnn.store.compare import (
    Axis,
    Point,
    accuracy_axis,
    compare,
    load_model,
    newest,
    params_axis,
    run_spec,
    scatter,
    shift_pair,
    short_count,
)
from tui_cnn.store.runs import RunRecord, RunStore, StoreError
from tui_cnn.training.data import Dataset
from tui_cnn.training.trainer import TrainConfig, Trainer


def record(run_id: str = "r1", arch: str = "mlp", **changes: object) -> RunRecord:
    line = preset(arch).line() if arch in ("mlp", "simple_cnn") else arch
    fields = {
        "run_id": run_id,
        "arch": arch,
        "line": line,
        "params": 39_760 if arch == "mlp" else 5_274,
        "dataset": "mnist-5k",
        "config": {},
        "device": "CPU",
        "status": "finished",
        "epochs_done": 1,
        "best_val_acc": 0.9,
        "final_val_acc": 0.9,
        "train_loss": 0.4,
        "seconds": 2.0,
        "samples_per_s": 2000.0,
        "created": "2026-01-01T00:00:00+00:00",
        "message": "",
        **changes,
    }
    return RunRecord(**fields)


def test_a_runs_spec_keeps_its_preset_name_and_layers() -> None:
    spec = run_spec(record(arch="simple_cnn"))
    assert isinstance(spec, Spec)
    assert (spec.name, spec.layers, spec.input_shape) == ("simple_cnn", preset("simple_cnn").layers, (1, 28, 28))
    custom = run_spec(record(arch="conv 4 s2 | relu | flatten | linear 10"))
    assert isinstance(custom, Spec) and custom.name == "custom"
    assert custom.line() == "conv 4 s2 | relu | flatten | linear 10"
    named = run_spec(record(arch="my_cnn", line="conv 4 | relu | flatten | linear 10"))
    assert isinstance(named, Spec) and named.name == "my_cnn"
    assert not isinstance(run_spec(record(arch="x", line="conv 4 | nonsense")), Spec)


def test_newest_is_the_first_finished_run_of_that_arch() -> None:
    runs = [
        record("r4", "simple_cnn", status="failed"),
        record("r3", "mlp"),
        record("r2", "simple_cnn"),
        record("r1", "simple_cnn"),
    ]
    assert newest(runs, "simple_cnn").run_id == "r2"
    assert newest(runs, "mlp").run_id == "r3"
    assert newest(runs, "lenet5") is None
    assert newest(runs, "simple_cnn", status="failed").run_id == "r4"


def test_the_shift_pair_is_the_newest_mlp_and_simple_cnn_else_what_stands_in() -> None:
    def ids(runs: list[RunRecord]) -> tuple[str, str] | None:
        pair = shift_pair(runs)
        return None if pair is None else (pair[0].run_id, pair[1].run_id)

    seed = [record("r5", "lenet5"), record("r4", "simple_cnn"), record("r3", "mlp"), record("r2", "mlp")]
    assert ids(seed) == ("r3", "r4")  # the seed's pair, mlp first, though lenet5 is newer
    assert ids([record("r3", "simple_cnn"), record("r2", "simple_cnn"), record("r1", "lenet5")]) == ("r3", "r1")
    assert ids([record("r3", "simple_cnn", status="failed"), record("r2", "mlp"), record("r1", "mlp")]) == ("r2", "r1")
    assert ids([record("r2", "mlp"), record("r1", "simple_cnn", status="interrupted")]) is None
    assert ids([]) is None


def test_the_shift_pair_takes_runs_on_plain_pixels_before_shuffled_ones() -> None:
    shuffled = [record("r4", "simple_cnn", dataset="mnist-5k/perm1"), record("r3", "mlp", dataset="mnist-5k/perm1")]
    plain = [record("r2", "simple_cnn"), record("r1", "mlp")]
    pair = shift_pair([*shuffled, *plain])
    assert pair is not None and {r.run_id for r in pair} == {"r1", "r2"}  # not the newer shuffled simple_cnn
    only_shuffled = shift_pair(shuffled)
    assert only_shuffled is not None and {r.run_id for r in only_shuffled} == {"r3", "r4"}


def test_compare_gives_the_seeds_parameter_gap_and_accuracy_points() -> None:
    mlp, cnn = record("a", "mlp", final_val_acc=0.93, seconds=4.0), record("b", "simple_cnn", final_val_acc=0.95)
    result = compare(mlp, cnn)
    assert result.params_ratio == pytest.approx(39_760 / 5_274)  # 7.5x fewer
    assert result.acc_points == pytest.approx(2.0)
    assert result.time_ratio == pytest.approx(0.5)
    unfinished = compare(mlp, replace(cnn, final_val_acc=None, seconds=0.0))
    assert (unfinished.acc_points, unfinished.time_ratio) == (None, None)


def test_the_params_axis_is_log10_in_whole_decades() -> None:
    axis = params_axis([5_274, 39_760])
    assert (axis.lo, axis.hi, axis.log) == (1_000, 100_000, True)
    # 100 cells over two decades: 10k sits in the middle, 5,274 and 39,760 at their log10 places.
    assert axis.place(10_000, 101) == 50
    assert axis.place(5_274, 101) == round((math.log10(5_274) - 3) * 50) == 36
    assert axis.place(39_760, 101) == round((math.log10(39_760) - 3) * 50) == 80
    assert axis.place(10, 101) == 0 and axis.place(10**9, 101) == 100  # clamped
    assert params_axis([1_000]) == Axis(1_000, 10_000, log=True)
    assert params_axis([]) == Axis(1_000, 10_000, log=True)


def test_the_accuracy_axis_starts_on_five_points_below_the_lowest() -> None:
    assert accuracy_axis([0.93, 0.951]) == Axis(0.9, 1.0)
    assert accuracy_axis([0.87]) == Axis(0.85, 1.0)
    assert accuracy_axis([0.99]) == Axis(0.95, 1.0)
    assert Axis(0.9, 1.0).place(0.95, 11) == 5


def test_short_counts() -> None:
    assert [short_count(n) for n in (100, 1_000, 10_000, 1_000_000, 2_500)] == ["100", "1k", "10k", "1M", "2.5k"]


def test_the_seeds_point_equal_accuracy_on_one_row_far_apart_in_params() -> None:
    plot = scatter([(5_274, 0.95, "simple_cnn"), (39_760, 0.95, "mlp"), (39_760, None, "failed")], 41, 11)
    cnn, mlp = plot.marks
    assert [m.index for m in plot.marks] == [0, 1]  # the run without an accuracy is not plotted
    assert (cnn.key, mlp.key) == ("1", "2")
    assert cnn.row == mlp.row == 5  # 95% halfway between 90% and 100%
    assert cnn.col == plot.x.place(5_274, 41) == 14 and mlp.col == 32
    assert (cnn.label, cnn.label_col) == (" simple_cnn", 15)
    assert (mlp.label, mlp.label_col) == (" mlp", 33)
    assert plot.x_ticks == [(0, "1k"), (20, "10k"), (40, "100k")]
    assert plot.y_ticks == [(10, "90%"), (5, "95%"), (0, "100%")]


def test_scatter_labels_go_right_else_left_else_nowhere() -> None:
    # 30 cells over two decades (1k..100k): 14.5 cells a decade.
    points = [(1_000, 0.9, "aaaa"), (3_036, 0.9, "bb"), (2_594, 0.9, "cc"), (27_700, 0.9, "ee"), (23_950, 0.9, "dd")]
    plot = scatter([*points, (100_000, 1.0, "edge")], 30, 5)
    a, b, c, e, d, edge = plot.marks
    assert [m.col for m in plot.marks] == [0, 7, 6, 21, 20, 29]
    assert (a.label_col, b.label_col) == (1, 8)  # free cells to the right
    assert c.label_col is None  # right: b's mark; left: a's label
    assert (e.label_col, d.label_col) == (22, 17)  # d's right is e's mark: its label goes left
    assert (edge.row, edge.label_col) == (0, 29 - len(" edge"))  # 100% on top, no room on the right
    assert {m.row for m in plot.marks[:5]} == {3}  # 90% on 85%..100% over 5 rows


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, mnist5k: Dataset) -> tuple[RunStore, str]:
    store = RunStore(tmp_path_factory.mktemp("runs"))
    recorder = store.recorder()
    Trainer(preset("simple_cnn"), mnist5k, TrainConfig(epochs=1, device="cpu"), recorder).run()
    return store, recorder.run_id


def test_load_model_gives_the_trained_weights(trained: tuple[RunStore, str], mnist5k: Dataset) -> None:
    store, run_id = trained
    run = store.get(run_id)
    model = load_model(store, run)
    assert not model.training
    assert torch.equal(model[0].weight, store.load_weights(run_id)["0.weight"])
    counts = confusion(model, mnist5k)
    assert int(counts.sum()) == 1_000
    assert int(counts.trace()) / 1_000 == pytest.approx(run.final_val_acc, abs=1e-6)


def test_load_model_says_why_it_cannot(trained: tuple[RunStore, str], tmp_path: Path) -> None:
    store, run_id = trained
    run = store.get(run_id)
    with pytest.raises(StoreError, match="do not fit"):
        load_model(store, replace(run, line="conv 8 | relu | flatten | linear 10"))
    with pytest.raises(StoreError, match="no saved weights"):
        load_model(store, replace(run, run_id="nothing-here"))


def drawn(plot) -> dict[tuple[int, int], list[str]]:
    """What each cell of the plot holds: marks, bar cells and label characters, by who put them there."""
    cells: dict[tuple[int, int], list[str]] = {}
    for m in plot.marks:
        if m.shown:
            cells.setdefault((m.row, m.col), []).append(f"mark {m.key}")
        if m.label_col is not None:
            for c in range(m.label_col, m.label_col + len(m.label)):
                cells.setdefault((m.row, c), []).append(f"label {m.key}")
        if m.bar is not None:
            for r in range(m.bar[0], m.bar[1] + 1):
                if r != m.row:
                    cells.setdefault((r, m.col), []).append(f"bar {m.key}")
    return cells


def test_two_runs_of_one_arch_on_one_cell_share_a_mark_whose_label_names_both() -> None:
    plot = scatter([(5_274, 0.951, "simple_cnn"), (5_274, 0.952, "simple_cnn"), (39_760, 0.95, "mlp")], 41, 11)
    first, second, mlp = plot.marks
    assert (first.row, first.col) == (second.row, second.col)
    assert first.shown and not second.shown
    assert first.label == " simple_cnn +2" and first.label_col == first.col + 1
    assert mlp.shown and mlp.label_col is not None
    assert all(len(who) == 1 for who in drawn(plot).values())  # no cell written twice


def test_no_key_is_lost_and_no_cell_is_written_twice_in_a_crowd() -> None:
    # Eight runs of two archs at nearby accuracies on a small plot: marks crowd one column.
    points = [(5_274, 0.95 + k * 0.004, "simple_cnn") for k in range(4)]
    points += [(5_300, 0.95 + k * 0.004, "simple_cnn_wide") for k in range(4)]
    plot = scatter(points, 30, 6)
    cells = drawn(plot)
    assert all(len(who) == 1 for who in cells.values()), {c: w for c, w in cells.items() if len(w) > 1}
    named = {m.key for m in plot.marks if m.shown}
    named |= {k for m in plot.marks if m.shown and " +" in m.label for k in m.label.rsplit(" +", 1)[1].split(",")}
    assert named == {m.key for m in plot.marks}  # every run's key is on the plot, as a mark or in a label


def test_a_group_is_its_mean_with_an_error_bar_that_no_label_overwrites() -> None:
    # A group at 95% ± 2 points, and a solo run whose label, put right of it, would cross the bar.
    plot = scatter([Point(5_274, 0.95, "group", 0.93, 0.97), (4_000, 0.96, "solo_long")], 61, 21)
    group, solo = plot.marks
    assert group.bar is not None
    top, bottom = group.bar
    assert top < group.row < bottom
    assert (top, bottom) == (20 - plot.y.place(0.97, 21), 20 - plot.y.place(0.93, 21))
    assert top <= solo.row <= bottom
    assert plot.y.lo <= 0.93  # the axis holds the bar's low end
    assert solo.col < group.col <= solo.col + len(solo.label)  # on the right, the label would cross the bar
    assert solo.label_col == solo.col - len(solo.label)  # so it goes left
    assert all(len(who) == 1 for who in drawn(plot).values())
