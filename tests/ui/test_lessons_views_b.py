"""Templates vs kernels (w), runs (r: open, load, compare, scatter) and mistakes (e), through the keyboard.

The runs are real: one epoch each of the seed's mlp and simple_cnn on mnist-5k (seed 0,
CPU), trained once for the module into a temporary store. Snapshots mask run ids and
times (`show_volatile=False`). Update with `--snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from textual.widgets import DataTable

from tui_cnn.app import CnnTuiApp
from tui_cnn.architecture.presets import preset
from tui_cnn.lessons.mistakes import confusion
from tui_cnn.store.compare import load_model
from tui_cnn.store.runs import RunStore
from tui_cnn.training.data import Dataset
from tui_cnn.ui.panes.architecture import ArchitecturePane
from tui_cnn.ui.screens.mistakes import MistakesScreen
from tui_cnn.ui.screens.runs import CompareScreen, RunScreen, RunsScreen
from tui_cnn.ui.screens.templates import FirstLayer, TemplatesScreen
from tui_cnn.ui.widgets.map_grid import MapGrid
from tui_cnn.ui.widgets.scatter import ScatterPlot

from . import apps
from .apps import keys, settle

WIDE, SMALL = (120, 40), (80, 24)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory, mnist5k: Dataset) -> Path:
    """A store holding a finished mlp run, then a finished simple_cnn run (the newer)."""
    root = tmp_path_factory.mktemp("runs")
    apps.train_runs(root, ("mlp", "simple_cnn"), mnist5k)
    return root


def make_app(tmp_path: Path, runs_dir: Path, arch: str = "simple_cnn") -> CnnTuiApp:
    return apps.make_app(tmp_path, arch, runs_dir=runs_dir)


# Runs


async def test_the_runs_screen_lists_the_store_newest_first(tmp_path: Path, runs_dir: Path) -> None:
    app = make_app(tmp_path, runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r")
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        table = screen.query_one(DataTable)
        assert table.row_count == 2
        assert [r.run_id for r in screen.records] == [r.run_id for r in apps.records(runs_dir)]
        assert [r.arch for r in screen.records] == ["simple_cnn", "mlp"]
        assert [str(table.get_cell_at((i, 4))) for i in range(2)] == ["5,274", "39,760"]
        # The scatter puts the CNN about 0.88 of a decade left of the MLP (log params).
        plot = screen.query_one(ScatterPlot).plot
        assert plot is not None and plot.x.log
        cnn, mlp = sorted(plot.marks, key=lambda m: m.index)
        assert (cnn.key, mlp.key) == ("1", "2") and cnn.col < mlp.col
        plot_w = screen.query_one(ScatterPlot).size.width - 6  # less the y labels' gutter
        assert (cnn.col, mlp.col) == (plot.x.place(5_274, plot_w), plot.x.place(39_760, plot_w))


async def test_enter_opens_the_chosen_run_with_its_curves_and_first_layer(tmp_path: Path, runs_dir: Path) -> None:
    app = make_app(tmp_path, runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r", "down", "enter")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RunScreen)
        assert screen.record.run_id == apps.records(runs_dir)[1].run_id and screen.record.arch == "mlp"
        assert [m.epoch for m in screen.metrics] == [1]
        grid = screen.query_one(MapGrid)
        assert grid.maps is not None and grid.maps.shape == (50, 28, 28)
        assert "39,250 params" in str(screen.query_one("#run-kern-head").render())
        await pilot.press("escape")
        assert isinstance(app.screen, RunsScreen)


async def test_l_loads_the_runs_architecture_into_the_editor_and_u_undoes_it(tmp_path: Path, runs_dir: Path) -> None:
    app = make_app(tmp_path, runs_dir, arch="linear")
    async with app.run_test(size=WIDE) as pilot:
        editor = app.main.query_one(ArchitecturePane)
        assert editor.spec.layers == preset("linear").layers
        await pilot.press("r", "down", "l")
        await pilot.pause()
        assert app.screen is app.main
        assert editor.spec.layers == preset("mlp").layers and editor.spec.name == "mlp"
        assert app.main.spec == editor.spec  # the other panes followed
        await pilot.press("u")
        assert editor.spec.layers == preset("linear").layers
        # From an opened run too, back past the runs screen.
        await pilot.press("r", "enter")
        await settle(pilot)
        await pilot.press("l")
        await pilot.pause()
        assert app.screen is app.main and editor.spec.layers == preset("simple_cnn").layers


async def test_two_marked_runs_are_compared_side_by_side(tmp_path: Path, runs_dir: Path) -> None:
    app = make_app(tmp_path, runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r", "c")
        assert isinstance(app.screen, RunsScreen)  # nothing marked: c says so and stays
        await pilot.press("space", "down", "space")
        assert app.screen.marked == [0, 1]
        assert str(app.screen.query_one(DataTable).get_cell_at((1, 1))) == "●"
        await pilot.press("c")
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert [r.arch for r in screen.runs] == ["simple_cnn", "mlp"]
        assert [len(m) for m in screen.metrics] == [1, 1]
        verdict = str(screen.query_one("#cmp-verdict").render())
        assert "7.5x more params" in verdict  # B (mlp) against A (simple_cnn): 39,760 / 5,274
        heads = [str(h.render()) for h in screen.query(".cmp-head")]
        assert "5,274" in heads[0] and "39,760" in heads[1]


# Templates vs kernels


async def test_templates_show_50_mlp_maps_and_4_cnn_kernels_with_their_counts(tmp_path: Path, runs_dir: Path) -> None:
    app = make_app(tmp_path, runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("w")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TemplatesScreen)
        mlp, cnn = screen.first_layers["mlp"], screen.first_layers["simple_cnn"]
        assert isinstance(mlp, FirstLayer) and isinstance(cnn, FirstLayer)
        assert (mlp.maps.shape, mlp.layer_params, mlp.record.params) == ((50, 28, 28), 39_250, 39_760)
        assert (cnn.maps.shape, cnn.layer_params, cnn.record.params) == ((4, 3, 3), 40, 5_274)
        store = RunStore(runs_dir)
        try:
            weights = store.load_weights(cnn.record.run_id)["0.weight"]
        finally:
            store.close()
        assert torch.equal(torch.from_numpy(cnn.maps), weights[:, 0])
        heads = [str(h.render()) for h in screen.query(".tpl-head")]
        assert "39,760 params in all" in heads[0] and "first layer 39,250 params" in heads[0]
        assert "5,274 params in all" in heads[1] and "first layer 40 params" in heads[1]
        grids = list(screen.query(MapGrid))
        assert grids[0].maps.shape == (50, 28, 28) and grids[0].columns >= 2
        assert grids[1].maps.shape[0] == 4


async def test_templates_say_how_to_make_a_missing_run(tmp_path: Path) -> None:
    app = make_app(tmp_path, tmp_path / "empty-runs")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("w")
        await settle(pilot)
        heads = [str(h.render()) for h in app.screen.query(".tpl-head")]
        assert "no trained mlp run: load the mlp preset (p) and train (t), or `cnn-tui train mlp`" in heads[0]
        assert "cnn-tui train simple_cnn" in heads[1]


# Mistakes


async def test_mistakes_count_the_whole_validation_set_as_lessons_confusion_does(
    tmp_path: Path, runs_dir: Path, mnist5k: Dataset
) -> None:
    app = make_app(tmp_path, runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("e")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MistakesScreen)
        scored = screen.scored
        assert scored is not None and scored.record.arch == "simple_cnn"  # the newest finished run
        assert int(scored.counts.sum()) == len(mnist5k.y_val) == 1_000
        store = RunStore(runs_dir)
        try:
            expected = confusion(load_model(store, scored.record), mnist5k)
        finally:
            store.close()
        assert (scored.counts == expected.numpy()).all()
        assert len(scored.mistakes) == 12 and all(m.true != m.pred for m in scored.mistakes)
        assert [m.confidence for m in scored.mistakes] == sorted((m.confidence for m in scored.mistakes), reverse=True)
        assert scored.digits.shape == (12, 28, 28)
        assert "of 1,000 validation digits right" in str(screen.query_one("#mis-head").render())


async def test_mistakes_of_the_run_chosen_on_the_runs_screen(tmp_path: Path, runs_dir: Path) -> None:
    app = make_app(tmp_path, runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r", "down", "e")
        await settle(pilot)
        assert isinstance(app.screen, MistakesScreen) and app.screen.scored.record.arch == "mlp"


async def test_mistakes_without_any_run_say_what_to_do(tmp_path: Path) -> None:
    app = make_app(tmp_path, tmp_path / "empty-runs")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("e")
        await settle(pilot)
        assert "no finished run yet: train one (t)" in str(app.screen.query_one("#mis-head").render())


@pytest.mark.parametrize("key", ["w", "r", "e"])
async def test_escape_returns_to_the_main_screen(tmp_path: Path, runs_dir: Path, key: str) -> None:
    app = make_app(tmp_path, runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press(key)
        await settle(pilot)
        assert app.screen is not app.main
        await pilot.press("escape")
        assert app.screen is app.main


# How they look


def test_templates_snapshot(snap_compare, tmp_path: Path, runs_dir: Path) -> None:
    assert snap_compare(make_app(tmp_path, runs_dir), terminal_size=WIDE, run_before=keys("w"))


def test_runs_snapshot(snap_compare, tmp_path: Path, runs_dir: Path) -> None:
    assert snap_compare(make_app(tmp_path, runs_dir), terminal_size=WIDE, run_before=keys("r", "down"))


def test_runs_snapshot_small(snap_compare, tmp_path: Path, runs_dir: Path) -> None:
    assert snap_compare(make_app(tmp_path, runs_dir), terminal_size=SMALL, run_before=keys("r"))


def test_compare_snapshot(snap_compare, tmp_path: Path, runs_dir: Path) -> None:
    run_before = keys("r", "space", "down", "space", "c")
    assert snap_compare(make_app(tmp_path, runs_dir), terminal_size=WIDE, run_before=run_before)


def test_mistakes_snapshot(snap_compare, tmp_path: Path, runs_dir: Path) -> None:
    assert snap_compare(make_app(tmp_path, runs_dir), terminal_size=WIDE, run_before=keys("e"))
