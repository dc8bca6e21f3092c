"""The Kernels pane on a local layer: a position's kernels (, . shift+arrows), their spread across positions (s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tui_cnn.lessons.positions import kernels_at, position_spread
from tui_cnn.ui.panes.kernels import KernelsPane

from . import apps

WIDE = (120, 40)


async def test_a_local_layer_shows_the_kernels_of_the_chosen_position_and_their_spread(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path, "local_cnn")
    async with app.run_test(size=WIDE) as pilot:
        await apps.initial_weights_drawn(pilot)
        await pilot.press("4")
        pane = app.main.query_one(KernelsPane)
        layer = pane.chosen
        assert layer.kind == "local" and layer.positions == (14, 14)
        weight = pane.snapshot.arrays[layer.index]
        assert np.array_equal(pane._arrays(), kernels_at(weight, 0, 4, 1, 3))
        await pilot.press("full_stop", "full_stop", "shift+down", "shift+right", "comma", "comma")
        assert pane.position == 14 * 1 + 1  # row 1, column 1: two forward, one down, one right, two back
        assert np.array_equal(pane._arrays(), kernels_at(weight, 15, 4, 1, 3))
        assert not np.array_equal(pane._arrays(), kernels_at(weight, 0, 4, 1, 3))  # untied: another kernel there
        await pilot.press("comma", "comma")
        assert pane.position == 13  # back across the row's start, in reading order
        await pilot.press("shift+up", "shift+up")
        assert pane.position == 13  # row 0 is the top
        await pilot.press("s")
        assert pane.spread and np.array_equal(pane._arrays(), position_spread(weight, (14, 14), 4, 1))
        await pilot.press("s")
        assert not pane.spread


async def test_the_position_keys_work_and_show_only_on_a_local_layer(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path, "conv 4 | relu | local 2 k3 s2 | flatten | linear 10")
    async with app.run_test(size=WIDE) as pilot:
        await apps.initial_weights_drawn(pilot)
        await pilot.press("4")
        pane = app.main.query_one(KernelsPane)
        assert pane.chosen.kind == "conv"
        assert not {"comma", "full_stop", "s"} & set(app.screen.active_bindings)  # not in the footer either
        await pilot.press("full_stop", "s")
        assert pane.position == 0 and not pane.spread  # nothing to move on a conv
        await pilot.press("right_square_bracket")
        assert pane.chosen.kind == "local" and pane.chosen.positions == (14, 14)  # (28 + 2 - 3) // 2 + 1
        assert {"comma", "full_stop", "s"} <= set(app.screen.active_bindings)
        await pilot.press("full_stop")
        assert pane.position == 1
