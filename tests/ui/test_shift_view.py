"""The probes in the app: the Shift view (S), shuffled pixels in the settings, and u (unshuffled) in three views.

The runs are real: one epoch each (seed 0, CPU, one torch thread) of the seed's mlp on
shuffled pixels, then mlp and simple_cnn on plain ones, trained once for the module. The
view must find exactly what `lessons.shift` finds, which `cnn-tui probe shift` prints.
Update the snapshots with `--snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from textual.widgets import Input, ProgressBar

from tui_cnn.lessons.models import predict
from tui_cnn.lessons.shift import shift_accuracy, shifted_digit
from tui_cnn.store.compare import load_model
from tui_cnn.store.runs import RunRecord, RunStore
from tui_cnn.training.data import Dataset, load
from tui_cnn.training.transforms import permute, unpermute
from tui_cnn.ui.dialogs.modals import HyperParams
from tui_cnn.ui.panes.training import TrainingPane
from tui_cnn.ui.screens.features import FeaturesScreen
from tui_cnn.ui.screens.fields import RFScreen
from tui_cnn.ui.screens.mistakes import DigitGrid, MistakesScreen
from tui_cnn.ui.screens.shift import ShiftScreen

from . import apps
from .apps import keys, settle, text

pytestmark = pytest.mark.usefixtures("one_thread")  # the view's probe and the test's sum in one order

WIDE, SMALL = (120, 40), (80, 24)
PERM = "mnist-5k/perm1"


@pytest.fixture(scope="module")
def shuffled() -> Dataset:
    return load(PERM)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory, mnist5k: Dataset, shuffled: Dataset) -> Path:
    """mlp on shuffled pixels (the oldest), then mlp and simple_cnn on plain ones."""
    root = tmp_path_factory.mktemp("runs")
    apps.train_runs(root, ("mlp",), shuffled)
    apps.train_runs(root, ("mlp", "simple_cnn"), mnist5k)
    return root


def probed(runs_dir: Path, record: RunRecord) -> list[tuple[int, int, float]]:
    store = RunStore(runs_dir)
    try:
        return shift_accuracy(load_model(store, record), load(record.dataset), 4)
    finally:
        store.close()


# The Shift view


async def test_S_probes_the_newest_mlp_and_simple_cnn_as_the_core_does(tmp_path: Path, runs_dir: Path) -> None:
    newest_cnn, newest_mlp, _ = apps.records(runs_dir)
    app = apps.make_app(tmp_path, runs_dir=runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("S")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ShiftScreen) and screen.probe is not None, text(app, "#sh-head")
        a, b = screen.probe.records
        assert (a.run_id, b.run_id) == (newest_mlp.run_id, newest_cnn.run_id)  # not the older mlp on perm1
        assert list(screen.probe.results[0]) == probed(runs_dir, a)
        assert list(screen.probe.results[1]) == probed(runs_dir, b)
        bar = screen.query_one(ProgressBar)
        assert bar.progress == bar.total == 2 * 81 and not bar.display
        at_zero = {(dx, dy): acc for dx, dy, acc in screen.probe.results[1]}[(0, 0)]
        assert f"in place {at_zero:.1%}" in text(app, "#sh-head")
        assert f"{at_zero * 100:4.0f}" in text(app, "#sh-grid-1")

        await pilot.press("right", "right", "up", "d")
        await settle(pilot)
        assert screen.cursor == (2, -1) and screen.digit == 1
        look = screen.look
        assert look is not None and (look.index, look.shift) == (1, (2, -1))
        plain = load("mnist-5k")
        store = RunStore(runs_dir)
        try:
            for k, record in enumerate((a, b)):
                expected = predict(load_model(store, record), shifted_digit(plain, 1, 2, -1)).numpy()
                assert np.array_equal(look.probs[k], expected)
        finally:
            store.close()
        moved = np.zeros((28, 28), dtype=np.uint8)
        moved[:27, 2:] = plain.images("val")[1].numpy()[1:, :26]  # two right, one up
        assert np.array_equal(look.pixels, moved)
        assert "moved dx +2, dy -1" in text(app, "#sh-digit")
        for _ in range(6):
            await pilot.press("right")
        assert screen.cursor == (4, -1)  # the cursor stops at the grid's edge
        await pilot.press("escape")
        assert app.screen is app.main


async def test_two_runs_marked_in_the_runs_view_are_the_ones_shifted(tmp_path: Path, runs_dir: Path) -> None:
    _, mlp, mlp_shuffled = apps.records(runs_dir)
    app = apps.make_app(tmp_path, runs_dir=runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r", "S")
        assert not isinstance(app.screen, ShiftScreen)  # nothing marked: a notice, no view
        await pilot.press("down", "space", "down", "space", "S")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, ShiftScreen) and screen.probe is not None, text(app, "#sh-head")
        a, b = screen.probe.records
        assert (a.run_id, b.run_id) == (mlp.run_id, mlp_shuffled.run_id)
        on_own_digits = {(dx, dy): acc for dx, dy, acc in screen.probe.results[1]}
        assert on_own_digits[(0, 0)] == pytest.approx(mlp_shuffled.final_val_acc, abs=1e-9)
        assert on_own_digits == {(dx, dy): acc for dx, dy, acc in probed(runs_dir, b)}
        await pilot.press("escape")
        assert app.screen.__class__.__name__ == "RunsScreen"


@pytest.mark.parametrize("archs", [(), ("mlp",)])
async def test_fewer_than_two_runs_say_how_to_make_them(tmp_path: Path, mnist5k: Dataset, archs: tuple) -> None:
    root = tmp_path / "runs"
    apps.train_runs(root, archs, mnist5k)
    app = apps.make_app(tmp_path, runs_dir=root)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("S")
        await settle(pilot)
        head = text(app, "#sh-head")
        assert "needs two finished runs" in head and "`cnn-tui train mlp`" in head
        assert head.count("\n") == 1  # one line
        assert app.screen.probe is None and not app.screen.query_one(ProgressBar).display


async def test_a_picked_run_that_is_gone_is_named(tmp_path: Path, runs_dir: Path) -> None:
    app = apps.make_app(tmp_path, runs_dir=runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        app.push_screen(ShiftScreen(app.main.lesson_context(), (apps.records(runs_dir)[0].run_id, "gone")))
        await settle(pilot)
        assert "no run 'gone' in the store" in text(app, "#sh-head") and app.screen.probe is None


async def test_the_shift_view_is_in_the_palette_the_help_and_the_bar_where_it_fits(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path)
    async with app.run_test(size=(140, 40)) as pilot:
        assert "l ladder S shift │ ? help" in text(app, "#pane-bar")
        await pilot.press("ctrl+p", *"Shifted digits", "enter")
        await settle(pilot)
        assert isinstance(app.screen, ShiftScreen)
        await pilot.press("escape", "question_mark")
        lines = apps.help_text(app).splitlines()
        assert any(line.split()[:2] == ["S", "Shifted"] for line in lines)
        assert any(line.split()[:1] == ["u"] and "unshuffled beside it" in line for line in lines)
    for size, bar in [(WIDE, "e mistakes l ladder \n"), (SMALL, "tab: next pane  ?: help")]:
        async with apps.make_app(tmp_path).run_test(size=size) as pilot:
            assert bar in text(pilot.app, "#pane-bar") and "S shift" not in text(pilot.app, "#pane-bar")


def test_the_shift_view_leaves_the_app_light_at_start() -> None:
    """Importing the view imports no torch: only its workers do."""
    import subprocess
    import sys

    code = "import sys, tui_cnn.ui.screens.shift; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_shift_snapshot(snap_compare, tmp_path: Path, runs_dir: Path) -> None:
    app = apps.make_app(tmp_path, runs_dir=runs_dir)
    assert snap_compare(app, terminal_size=WIDE, run_before=keys("S", "right", "right"))


# Shuffled pixels in the settings


async def test_the_settings_shuffle_the_pixels_and_the_run_records_it(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path, "mlp")
    async with app.run_test(size=WIDE) as pilot:
        pane = app.main.query_one(TrainingPane)
        await pilot.press("3", "h")
        dialog = app.screen
        assert isinstance(dialog, HyperParams)
        field = dialog.query_one("#f-permute", Input)
        for bad, words in [("x", "shuffle pixels must be a seed"), ("-1", "must be 0 or more, got -1")]:
            field.value = bad
            dialog.submit()
            await pilot.pause()
            assert app.screen is dialog and words in str(dialog.query_one("#verdict").render())
        field.value = "1"
        dialog.submit()
        await pilot.pause()
        assert app.screen is app.main and pane.dataset == PERM
        assert PERM in text(app, "#train-head")
        await pilot.press("h")
        assert app.screen.query_one("#f-permute", Input).value == "1"  # the dialog shows what is set
        await pilot.press("escape")
        await pilot.press("t")
        await settle(pilot)
        assert pane.state == "finished", pane.message
        assert apps.records(tmp_path / "runs")[0].dataset == PERM


# u: the digit unshuffled beside the one the network sees


async def test_u_puts_the_unshuffled_digit_beside_the_shuffled_feature_maps(tmp_path: Path, mnist5k: Dataset) -> None:
    app = apps.make_app(tmp_path, dataset=PERM)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("i")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FeaturesScreen) and screen.images is not None
        assert np.array_equal(screen.plain, mnist5k.images("val").numpy())
        assert not np.array_equal(screen.images, screen.plain)  # drawn as the network sees them
        assert "pixels shuffled (perm1)" in text(app, "#ft-head")
        assert "u" in screen.active_bindings
        narrow = screen.query_one("#ft-digit").size.width
        await pilot.press("u")
        await pilot.pause()
        assert screen.unshuffled and screen.query_one("#ft-digit").size.width > 2 * 28 > narrow
        assert "unshuffled" in text(app, "#ft-digit")
        await pilot.press("u")
        assert not screen.unshuffled


async def test_u_is_not_offered_on_plain_pixels(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("i")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FeaturesScreen) and "u" not in screen.active_bindings
        await pilot.press("u")
        assert not screen.unshuffled and "shuffled" not in text(app, "#ft-head")


async def test_u_lights_where_the_units_box_came_from_in_the_digit(tmp_path: Path, shuffled: Dataset) -> None:
    app = apps.make_app(tmp_path, dataset=PERM)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("f")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RFScreen)
        await pilot.press("right_square_bracket", "right_square_bracket", "u")  # conv 8 s2: a 7x7 box
        y0, x0, y1, x1 = screen.seen_box()
        box = torch.zeros(1, 28, 28, dtype=torch.bool)
        box[0, y0:y1, x0:x1] = True
        lit = screen.unshuffled_lit()
        assert lit is not None and lit.sum() == 49
        assert np.array_equal(lit, unpermute(box, shuffled.permutation)[0].numpy())
        assert "scattered over the digit" in text(app, "#rf-about")


async def test_u_shows_each_shuffled_mistake_unshuffled(tmp_path: Path, runs_dir: Path) -> None:
    app = apps.make_app(tmp_path, runs_dir=runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("r", "down", "down", "e")  # the mlp on perm1
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MistakesScreen) and screen.scored is not None
        scored = screen.scored
        assert scored.record.dataset == PERM and scored.plain is not None
        perm = load(PERM).permutation
        assert np.array_equal(permute(torch.from_numpy(scored.plain), perm).numpy(), scored.digits)
        assert "u" in screen.active_bindings
        await pilot.press("u")
        assert screen.query_one(DigitGrid).pairs


def test_unshuffled_feature_maps_snapshot(snap_compare, tmp_path: Path) -> None:
    app = apps.make_app(tmp_path, dataset=PERM)
    assert snap_compare(app, terminal_size=WIDE, run_before=keys("i", "u"))
