"""The lesson views of part A through the keyboard: conv as a matrix (m), receptive fields (f), feature maps (i).

Behaviour with Pilot (each number on screen equals the core's), then how each view
looks (snapshots at 120x40 and 80x24; update with `--snapshot-update`).
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from textual.pilot import Pilot

from tui_cnn.app import CnnTuiApp
from tui_cnn.architecture.presets import preset
from tui_cnn.lessons.fields import input_region, receptive_fields
from tui_cnn.lessons.matrix import conv_pattern, layer_matrix, seed_matrix
from tui_cnn.lessons.models import activations, model_from, predict
from tui_cnn.training.data import load
from tui_cnn.ui.messages import RunWeights, WeightSnapshot
from tui_cnn.ui.screens.features import RANDOM_SEED, FeaturesScreen
from tui_cnn.ui.screens.fields import RFScreen
from tui_cnn.ui.screens.help import HelpScreen
from tui_cnn.ui.screens.matrix import MatrixScreen

from . import apps
from .apps import settle, text

WIDE, SMALL = (120, 40), (80, 24)


def make_app(tmp_path: Path, arch: str = "simple_cnn") -> CnnTuiApp:
    return apps.make_app(tmp_path, arch, report_every=0, weights_every=0)


def snapshot_of(arch: str, seed: int, final: bool = False) -> WeightSnapshot:
    """Weights as the training thread sends them: numpy arrays and the whole state dict."""
    spec = preset(arch)
    state = model_from(spec, None, seed).state_dict()
    arrays = {i: state[f"{i}.weight"].numpy() for i, layer in enumerate(spec.layers) if layer.kind == "conv"}
    return WeightSnapshot(spec, 10, 1, arrays, final, state)


# Conv as a matrix


async def test_m_opens_the_seeds_four_by_nine_matrix_then_the_first_layer(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("m")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, MatrixScreen)
        shown = screen.shown
        assert shown is not None and shown.matrix == conv_pattern((1, 3, 3), 1, 2)
        assert np.array_equal(shown.values, seed_matrix().values.numpy())
        head = text(app, "#mx-head")
        assert "4x9 matrix" in head and "36 cells" in head and "16 non-zero" in head and "4 distinct weights" in head
        await pilot.press("right")  # the cursor on weight b: every row holds it once
        cell = text(app, "#mx-cell")
        assert "column 1 = in channel 0 at (0, 1)" in cell and "b = weight[0, 0, 0, 1]" in cell and "4 cells" in cell
        await pilot.press("left", "down")
        assert "structural zero" in text(app, "#mx-cell")

        await pilot.press("s")  # the selected layer: simple_cnn's first conv, on a 1x5x5 input
        await settle(pilot)
        expected = layer_matrix(preset("simple_cnn"), 0)
        assert screen.shown.matrix == expected and expected.distinct == 36  # the seed's 36 first-layer weights
        assert np.array_equal(screen.shown.values, expected.values.numpy())  # a fresh layer, seed 0
        head = text(app, "#mx-head")
        assert "36x25 matrix" in head and "900 cells" in head and "36 distinct weights" in head
        assert "a fresh layer (seed 0)" in head
        await pilot.press("right_square_bracket")
        await settle(pilot)
        assert screen.shown.matrix == layer_matrix(preset("simple_cnn"), 2)
        assert "layer 2 conv 8 s2" in text(app, "#mx-head")
        await pilot.press("escape")
        assert app.screen is app.main


async def test_the_matrix_shows_the_trained_weights_after_a_run(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        snap = snapshot_of("simple_cnn", seed=5, final=True)
        app.main.training.post_message(RunWeights(snap))
        await pilot.pause()
        await pilot.press("m", "s")
        await settle(pilot)
        spec = preset("simple_cnn")
        expected = layer_matrix(spec, 0, model=model_from(spec, snap.state_dict))
        assert np.array_equal(app.screen.shown.values, expected.values.numpy())
        assert not np.array_equal(app.screen.shown.values, layer_matrix(spec, 0).values.numpy())
        assert "trained weights (after 1 epoch)" in text(app, "#mx-head")


async def test_an_mlp_has_no_conv_layer_to_unroll(tmp_path: Path) -> None:
    app = make_app(tmp_path, "mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("m")
        await settle(pilot)
        assert app.screen.shown.matrix.shape == (4, 9)  # the seed's example needs no conv in the spec
        await pilot.press("s")
        await settle(pilot)
        assert app.screen.shown is None and "no conv layer" in text(app, "#mx-head")


# Receptive fields


async def test_f_lights_the_region_one_unit_sees(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    spec = preset("simple_cnn")
    fields = receptive_fields(spec)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("f")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, RFScreen)
        assert screen.fields == fields and screen.images is not None and screen.images.shape == (1000, 28, 28)
        table = text(app, "#rf-table")
        for r in fields:
            assert f"{r.rf}x{r.rf}" in table and f"{r.coverage:.1%}" in table
        assert screen.unit == (7, 7)  # the middle of layer 0's 14x14 units
        assert screen.seen_box() == input_region(fields, 0, 7, 7, (28, 28)) == (13, 13, 16, 16)
        await pilot.press("right_square_bracket", "right_square_bracket", "right")  # conv 8 s2, 7x7 units
        assert screen.unit == (3, 4)
        assert screen.seen_box() == input_region(fields, 2, 3, 4, (28, 28)) == (9, 13, 16, 20)
        assert "sees rows 9-15, columns 13-19 of the 28x28 input" in text(app, "#rf-about")
        await pilot.press(*["right"] * 9)
        assert screen.unit == (3, 6)  # the arrows stop at the grid's edge
        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")  # wraps to flatten
        assert screen.seen_box() == (0, 0, 28, 28)
        assert "every unit sees the whole 28x28 input" in text(app, "#rf-about")
        await pilot.press("d")
        assert screen.digit == 1
        await pilot.press("escape")
        assert app.screen is app.main


# Feature maps


async def test_i_shows_a_digit_through_a_fresh_model_and_r_is_repeatable(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    spec = preset("simple_cnn")
    data = load("mnist-5k")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("i")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, FeaturesScreen)
        look = screen.look
        assert look is not None and look.digit == 0 and look.snapshot is None
        model = model_from(spec)
        expected = activations(model, data.x_val[0])
        assert [o.shape for o in look.outputs] == [tuple(e.shape) for e in expected]
        assert all(np.allclose(o, e.numpy(), atol=1e-6) for o, e in zip(look.outputs, expected, strict=True))
        assert np.allclose(look.probs, predict(model, data.x_val[0]).numpy(), atol=1e-6)
        assert "a fresh model (seed 0)" in text(app, "#ft-head")
        probs = text(app, "#ft-probs")
        assert f"{look.probs[0]:.1%}" in probs and "✓ label" in probs
        layers = text(app, "#ft-layers")
        assert "conv 4 s2  4x14x14" in layers and "conv 10 s2  10x1x1" in layers

        await pilot.press("right", "right", "left")
        await settle(pilot)
        assert screen.digit == 1 and screen.look.digit == 1
        rng = random.Random(RANDOM_SEED)
        await pilot.press("r")
        await settle(pilot)
        first = rng.randrange(1000)
        assert screen.digit == first and screen.look.digit == first
        await pilot.press("r")
        assert screen.digit == rng.randrange(1000)
        await pilot.press("escape")
        assert app.screen is app.main


async def test_feature_maps_follow_the_weights_while_training(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    spec = preset("simple_cnn")
    data = load("mnist-5k")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("i")
        await settle(pilot)
        screen = app.screen
        before = screen.look
        snap = snapshot_of("simple_cnn", seed=3)  # a live snapshot, as the training thread posts it
        app.main.training.post_message(RunWeights(snap))
        await pilot.pause(0.6)  # the screen looks for newer weights twice a second
        await settle(pilot)
        after = screen.look
        assert after is not before and after.snapshot is snap
        expected = activations(model_from(spec, snap.state_dict), data.x_val[0])
        assert all(np.allclose(o, e.numpy(), atol=1e-6) for o, e in zip(after.outputs, expected, strict=True))
        assert not np.allclose(after.outputs[0], before.outputs[0])
        assert "live weights: epoch 1 step 10" in text(app, "#ft-head")


async def test_a_real_run_updates_the_open_feature_maps(tmp_path: Path) -> None:
    """The whole path: the trainer's final Weights carry the state dict, the view rebuilds the model from it."""
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("i")
        await settle(pilot)
        screen = app.screen
        await pilot.press("t")  # trains from here too
        await app.workers.wait_for_complete()
        await pilot.pause(0.6)
        await settle(pilot)
        assert app.main.training.state == "finished", app.main.training.message
        assert screen.look.snapshot is not None and screen.look.snapshot.final
        assert screen.look.probs[screen.labels[0]] > 0.5  # one epoch learns this digit
        assert "trained weights (after 1 epoch)" in text(app, "#ft-head")


# Reachable everywhere: keys, palette, help


@pytest.mark.parametrize(
    ("title", "screen_type"),
    [("Conv as a matrix", MatrixScreen), ("Receptive fields", RFScreen), ("Feature maps", FeaturesScreen)],
)
async def test_each_view_is_in_the_palette(tmp_path: Path, title: str, screen_type: type) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("ctrl+p", *title, "enter")
        await settle(pilot)
        assert isinstance(app.screen, screen_type)
        await pilot.press("escape")
        assert app.screen is app.main


async def test_help_lists_the_three_views_with_their_keys(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        lines = apps.help_text(app).splitlines()
        for key, title in (("m", "Conv as a matrix"), ("f", "Receptive fields"), ("i", "Feature maps")):
            assert any(line.split()[:1] == [key] and title in line for line in lines), title


def test_the_views_leave_the_app_light_at_start() -> None:
    """Importing the views imports no torch: only their workers do."""
    import subprocess
    import sys

    views = "tui_cnn.ui.screens.features, tui_cnn.ui.screens.matrix, tui_cnn.ui.screens.fields"
    code = f"import sys, {views}; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# How they look


def after(*pressed: str):
    async def run_before(pilot: Pilot) -> None:
        await pilot.press(*pressed)
        await settle(pilot)

    return run_before


def test_snapshot_matrix_seed_example(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=after("m", "right"))


def test_snapshot_matrix_first_layer(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=after("m", "s", "down", "right"))


def test_snapshot_matrix_small(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=after("m", "s", "right_square_bracket"))


def test_snapshot_receptive_fields(snap_compare, tmp_path: Path) -> None:
    keys = ("f", "right_square_bracket", "right_square_bracket", "right")
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=after(*keys))


def test_snapshot_receptive_fields_small(snap_compare, tmp_path: Path) -> None:
    keys = ("f", *["right_square_bracket"] * 4)
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=after(*keys))


def test_snapshot_feature_maps(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=WIDE, run_before=after("i", "right"))


def test_snapshot_feature_maps_small(snap_compare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path, "mlp"), terminal_size=SMALL, run_before=after("i"))
