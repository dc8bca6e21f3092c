"""Groups in the app: the runs view folds them (enter unfolds one, g all), the scatter draws a group as its mean
with an error bar, and two runs of one architecture on one cell share a mark whose label names both.

The store is real: a seed group of three simple_cnn runs and two solo mlp runs with seed 0 (so the two land on
one cell), two epochs each on the first 1,024 digits of mnist-5k, CPU, one torch thread.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable

from tui_cnn.app import CnnTuiApp
from tui_cnn.architecture.presets import preset
from tui_cnn.experiments.group_run import GroupRun
from tui_cnn.store.groups import GroupSummary
from tui_cnn.store.runs import RunRecord, RunStore
from tui_cnn.training.config import TrainConfig
from tui_cnn.training.data import Dataset
from tui_cnn.training.trainer import Trainer
from tui_cnn.ui.screens.runs import RunsScreen
from tui_cnn.ui.widgets.scatter import ScatterPlot

from ..subsets import first_digits
from . import apps

WIDE = (120, 40)
CPU = {"epochs": 2, "batch_size": 64, "device": "cpu", "weights_every": 0.0}


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory, mnist5k: Dataset) -> Path:
    """Newest first: the group of simple_cnn (seeds 1, 2, 3), then mlp twice (seed 0)."""
    root = tmp_path_factory.mktemp("runs")
    data = first_digits(mnist5k, 1024, 200)
    store = RunStore(root)
    try:
        with apps.one_torch_thread():
            for arch in ("mlp", "mlp"):
                Trainer(preset(arch), data, TrainConfig(**CPU, seed=0), store.recorder()).run()
            configs = [TrainConfig(**CPU, seed=s) for s in (1, 2, 3)]
            GroupRun(preset("simple_cnn"), data, configs, store, arch="simple_cnn").run()
    finally:
        store.close()
    return root


def make_app(tmp_path: Path, runs_dir: Path) -> CnnTuiApp:
    return apps.make_app(tmp_path, "simple_cnn", runs_dir=runs_dir)


def table_archs(screen: RunsScreen) -> list[str]:
    table = screen.query_one(DataTable)
    return [str(table.get_cell_at((i, 3))) for i in range(table.row_count)]


async def test_a_group_is_one_row_that_enter_unfolds_and_folds_again(tmp_path: Path, runs_dir: Path) -> None:
    app = make_app(tmp_path, runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r")
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        assert len(screen.records) == 5
        group = screen.rows[0]
        assert isinstance(group, GroupSummary) and group.members == 3 and group.val_acc.n == 3
        assert all(isinstance(r, RunRecord) for r in screen.rows[1:]) and len(screen.rows) == 3
        assert table_archs(screen)[0] == "▸ simple_cnn ×3"
        cell = str(screen.query_one(DataTable).get_cell_at((0, 6)))
        assert cell == f"{group.val_acc.mean:.1%} ± {group.val_acc.sd * 100:.1f}"
        await pilot.press("enter")
        assert len(screen.rows) == 6
        assert [r.seed for r in screen.rows[1:4]] == [1, 2, 3]  # its runs under it, oldest first
        assert table_archs(screen)[:4] == ["▾ simple_cnn ×3", "  └ seed 1", "  └ seed 2", "  └ seed 3"]
        await pilot.press("enter")
        assert len(screen.rows) == 3
        await pilot.press("g")
        assert len(screen.rows) == 6
        await pilot.press("g")
        assert len(screen.rows) == 3


async def test_the_scatter_draws_the_group_with_a_bar_and_the_twin_runs_as_one_mark(
    tmp_path: Path, runs_dir: Path
) -> None:
    app = make_app(tmp_path, runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r")
        await pilot.pause()
        screen = app.screen
        plot = screen.query_one(ScatterPlot).plot
        assert plot is not None
        group, twin_a, twin_b = plot.marks
        acc = screen.rows[0].val_acc
        height = screen.query_one(ScatterPlot).size.height - 3
        top, bottom = (height - 1 - plot.y.place(v, height) for v in (acc.mean + acc.sd, acc.mean - acc.sd))
        assert group.bar == (top, bottom) and top <= group.row <= bottom and top < bottom  # mean ± sd, through the mean
        assert (twin_a.row, twin_a.col) == (twin_b.row, twin_b.col) and not twin_b.shown
        assert twin_a.label == " mlp +3" and twin_a.col > group.col


def test_folded_runs_snapshot(snap_compare, tmp_path: Path, runs_dir: Path) -> None:
    """The group folded with its error bar, the two seed-0 mlp runs sharing one mark."""

    async def run_before(pilot) -> None:
        await pilot.press("r")
        await pilot.pause()

    assert snap_compare(make_app(tmp_path, runs_dir), terminal_size=WIDE, run_before=run_before)
