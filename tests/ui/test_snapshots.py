"""How each screen looks (pytest-textual-snapshot), at fixed sizes, seeds and device label.

Update with `pytest tests/ui/test_snapshots.py --snapshot-update`, then look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot
from textual.widgets import Input

from tui_cnn.app import CnnTuiApp
from tui_cnn.architecture.presets import preset
from tui_cnn.architecture.specfile import write_spec
from tui_cnn.ui.dialogs.modals import ConfirmQuit
from tui_cnn.ui.panes.training import TrainingPane

from . import apps

WIDE, SMALL = (120, 40), (80, 24)


def make_app(tmp_path: Path, arch: str = "simple_cnn") -> CnnTuiApp:
    # A Step every step and weights only at the end: what is drawn does not depend on timing.
    return apps.make_app(tmp_path, arch, report_every=0, weights_every=0)


def keys(*pressed: str):
    """Let the initial weights land, press keys, then stop the text cursors blinking: no picture races a timer."""

    async def run_before(pilot: Pilot) -> None:
        await apps.initial_weights_drawn(pilot)
        await pilot.press(*pressed)
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False
        await pilot.pause()

    return run_before


def test_main_screen_wide(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=keys())


def test_main_screen_small(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=keys())


def test_small_screen_shows_the_kernels_pane_alone(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=keys("4"))


def test_editor_marks_an_impossible_layer(snap_compare, tmp_path: Path) -> None:
    app = make_app(tmp_path, "conv 4 s2 | relu | linear 10 | conv 8")
    assert snap_compare(app, terminal_size=WIDE, run_before=keys())


def test_mlp_main_screen(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path, "mlp"), terminal_size=WIDE, run_before=keys())


def test_help_screen(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=keys("question_mark"))


def test_layer_picker(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=keys("a"))


def test_layer_form(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=keys("down", "down", "enter"))


def test_line_entry_with_an_error(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot) -> None:
        await pilot.press("colon")
        pilot.app.screen.query_one(Input).value = "conv 4 s2 | relu | flatten | lnear 10"
        await keys("enter")(pilot)

    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=run_before)


def test_preset_picker(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=keys("p"))


def test_save_dialog(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=keys("s"))


def test_open_dialog(snap_compare, tmp_path: Path) -> None:
    write_spec(tmp_path / "lenet.spec", preset("lenet5"))
    write_spec(tmp_path / "mlp.spec", preset("mlp"))
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=keys("o"))


def test_target_dialog(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=keys("2", "g"))


def test_training_settings_dialog(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=keys("3", "h"))


def test_confirm_quit_dialog(snap_compare, tmp_path: Path) -> None:
    async def run_before(pilot: Pilot) -> None:
        await apps.initial_weights_drawn(pilot)
        pilot.app.push_screen(ConfirmQuit())
        await pilot.pause()

    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=run_before)


def test_kernels_after_a_short_seeded_training(snap_compare, tmp_path: Path) -> None:
    """One epoch of simple_cnn on mnist-5k with seed 0 (deterministic on the CPU); timings masked."""

    async def run_before(pilot: Pilot) -> None:
        await pilot.press("4", "t")
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        training = pilot.app.main.query_one(TrainingPane)
        assert training.state == "finished", training.message
        await pilot.press("right_square_bracket", "down", "right")

    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=run_before)


def test_kernels_of_a_local_layer_at_one_position(snap_compare, tmp_path: Path) -> None:
    """local_cnn's initial weights (seed 0): the kernels at position (1, 2), the position's line, the keys."""
    run_before = keys("4", "full_stop", "full_stop", "shift+down")
    assert snap_compare(make_app(tmp_path, "local_cnn"), terminal_size=WIDE, run_before=run_before)


def test_spread_of_a_local_layers_kernels(snap_compare, tmp_path: Path) -> None:
    run_before = keys("4", "s")
    assert snap_compare(make_app(tmp_path, "local_cnn"), terminal_size=WIDE, run_before=run_before)
