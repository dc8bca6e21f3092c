"""The runs view's actions on a run: r continues it in the Training pane, d deletes the marked ones, m transplants it.

The runs are real: one epoch each of the seed's mlp and simple_cnn on mnist-5k (seed 0, CPU),
trained once for the module; a test that changes the store works on its own copy.
"""

from __future__ import annotations

import io
import shutil
import time
from pathlib import Path

import pytest
from rich.console import Console
from textual.pilot import Pilot
from textual.widgets import DataTable, Input

from tui_cnn.app import CnnTuiApp
from tui_cnn.store.runs import RunStore
from tui_cnn.training.data import Dataset
from tui_cnn.ui.dialogs.modals import Confirm, Prompt
from tui_cnn.ui.panes.training import TrainingPane
from tui_cnn.ui.screens.runs import RunsScreen
from tui_cnn.ui.screens.transplant import TransplantScreen

from ..subsets import first_digits
from . import apps
from .apps import settle

WIDE = (120, 40)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory, mnist5k: Dataset) -> Path:
    """A store holding a finished mlp run, then a finished simple_cnn run (the newer)."""
    root = tmp_path_factory.mktemp("runs")
    apps.train_runs(root, ("mlp", "simple_cnn"), mnist5k)
    return root


@pytest.fixture
def own_runs(tmp_path: Path, runs_dir: Path) -> Path:
    """A copy of the module's store that a test may change."""
    return Path(shutil.copytree(runs_dir, tmp_path / "own-runs"))


def make_app(tmp_path: Path, runs_dir: Path) -> CnnTuiApp:
    return apps.make_app(tmp_path, runs_dir=runs_dir)


def shown_text(renderable: object) -> str:
    """What a widget shows, as plain text at 120 columns."""
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(renderable)
    return console.export_text()


def notices(app: CnnTuiApp) -> list[str]:
    return [n.message for n in app._notifications]


async def until(pilot: Pilot, done, deadline_s: float = 60.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not done():
        assert time.monotonic() < deadline, "not within the deadline"
        await pilot.pause(0.05)


def store_of(root: Path) -> RunStore:
    return RunStore(root)


# Resume


async def test_r_continues_the_run_in_the_training_pane_under_the_same_id(tmp_path: Path, own_runs: Path) -> None:
    store = store_of(own_runs)
    cnn = store.runs()[0]
    store.close()
    assert cnn.arch == "simple_cnn" and cnn.epochs_done == 1
    app = make_app(tmp_path, own_runs)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r")
        await pilot.press("r")  # the newest run, simple_cnn, under the cursor
        assert isinstance(app.screen, Prompt)
        assert app.screen.query_one(Input).value == "2"  # it was done: as many epochs again
        await pilot.press("enter")
        pane = app.main.query_one(TrainingPane)
        await until(pilot, lambda: app.screen is app.main and pane.state in ("finished", "failed"))
        assert pane.state == "finished", pane.message
        assert pane.run_id == cnn.run_id
        assert [e.epoch for e in pane.epochs] == [1, 2]  # the stored epoch drawn first, then the new one
        assert app.main.spec.line() == cnn.line
    store = store_of(own_runs)
    try:
        record = store.get(cnn.run_id)
        assert record.epochs_done == 2 and record.status == "finished"
        assert [m.epoch for m in store.metrics(cnn.run_id)] == [1, 2]
        assert record.config["resumed"][0]["after_epoch"] == 1
        assert len(store.runs()) == 2  # continued, not a new run
    finally:
        store.close()


async def test_r_refuses_a_run_without_a_checkpoint_in_one_line(tmp_path: Path, own_runs: Path) -> None:
    store = store_of(own_runs)
    cnn = store.runs()[0]
    store.checkpoint_path(cnn.run_id).unlink()
    store.close()
    app = make_app(tmp_path, own_runs)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r", "r", "enter")
        await settle(pilot)
        assert isinstance(app.screen, RunsScreen)  # still on the runs view
        said = [n for n in notices(app) if n.startswith("cannot continue")]
        assert len(said) == 1 and "has no checkpoint to continue from" in said[0] and "\n" not in said[0]
        assert app.main.query_one(TrainingPane).state == "ready"


async def test_r_refuses_a_total_not_above_the_epochs_done(tmp_path: Path, own_runs: Path) -> None:
    app = make_app(tmp_path, own_runs)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r", "r")
        app.screen.query_one(Input).value = "1"
        await pilot.press("enter")
        assert isinstance(app.screen, Prompt)  # stays open with the reason
        assert "give a total above 1" in str(app.screen.query_one("#verdict").render())


# Delete


async def test_d_deletes_the_marked_run_and_its_files_once_confirmed(tmp_path: Path, own_runs: Path) -> None:
    store = store_of(own_runs)
    cnn, mlp = store.runs()
    files = (store.weights_path(mlp.run_id), store.checkpoint_path(mlp.run_id))
    store.close()
    assert all(f.exists() for f in files)
    app = make_app(tmp_path, own_runs)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r", "d")
        assert any("mark a run with space first" in n for n in notices(app))  # nothing marked: nothing asked
        await pilot.press("down", "space", "d")
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")  # cancelled: nothing deleted
        assert len(app.screen.records) == 2
        await pilot.press("d")
        await pilot.press("y")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        assert [r.run_id for r in screen.records] == [cnn.run_id]
        assert screen.query_one(DataTable).row_count == 1 and screen.marked == []
    assert not any(f.exists() for f in files)
    store = store_of(own_runs)
    try:
        assert [r.run_id for r in store.runs()] == [cnn.run_id] and store.metrics(mlp.run_id) == []
    finally:
        store.close()


# Transplant


async def test_m_transplants_the_run_with_both_counts_and_the_largest_difference(
    tmp_path: Path, runs_dir: Path
) -> None:
    app = make_app(tmp_path, runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r", "m")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TransplantScreen), screen
        report = screen.report
        assert report is not None, screen.problem
        assert report.params_cnn == screen.record.params and report.params_mlp > 10 * report.params_cnn
        assert report.max_abs_diff < 1e-4
        shown = shown_text(screen.query_one("#tp-body")._shown)
        assert f"{report.params_cnn:,}" in shown and f"{report.params_mlp:,}" in shown
        await pilot.press("l")  # the MLP into the editor
        await pilot.pause()
        assert app.screen is app.main and app.main.spec.line() == report.line


async def test_m_says_in_one_line_why_a_pooled_run_cannot_be_transplanted(tmp_path: Path, mnist5k: Dataset) -> None:
    root = tmp_path / "pooled"
    apps.train_runs(root, ("pool_cnn",), first_digits(mnist5k, 128, 64))
    app = make_app(tmp_path, root)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r", "m")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, TransplantScreen) and screen.report is None
        assert screen.problem.startswith("cannot transplant this run:") and "pooling" in screen.problem
        assert "\n" not in screen.problem


def test_transplant_snapshot(snap_compare, tmp_path: Path, runs_dir: Path) -> None:
    async def run_before(pilot: Pilot) -> None:
        for key in ("r", "m"):
            await pilot.press(key)
            await settle(pilot)

    with apps.one_torch_thread():
        assert snap_compare(make_app(tmp_path, runs_dir), terminal_size=WIDE, run_before=run_before)


async def test_help_lists_the_runs_view_keys_and_the_local_layer_keys(tmp_path: Path) -> None:
    app = make_app(tmp_path, tmp_path / "runs")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("question_mark")
        text = apps.help_text(app)
    assert "Runs view (r)" in text
    for words in ("continue the run in the Training pane", "delete the marked runs", "the run as the MLP it is"):
        assert words in text, words
    assert "local layer: the kernels of the next position" in text
    assert "how each kernel differs across positions" in text
