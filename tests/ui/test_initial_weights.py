"""Before any run the Kernels pane shows the weights a run starts from, and follows the editor."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
from textual.pilot import Pilot
from textual.widgets import Static

from tui_cnn.architecture.init import initial_model
from tui_cnn.architecture.presets import preset
from tui_cnn.ui.messages import WeightSnapshot
from tui_cnn.ui.panes.architecture import ArchitecturePane
from tui_cnn.ui.panes.kernels import KernelGrid, KernelsPane
from tui_cnn.ui.panes.training import TrainingPane

from . import apps

WIDE = (120, 40)


async def initial_for(pilot: Pilot, kernels: KernelsPane, name: str, deadline_s: float = 30.0) -> WeightSnapshot:
    """Wait until the pane shows the initial weights of the spec named `name`."""
    deadline = time.monotonic() + deadline_s
    while True:
        snap = kernels.snapshot
        if snap is not None and snap.initial_seed is not None and snap.spec.name == name:
            return snap
        assert time.monotonic() < deadline, f"no initial weights of {name} within {deadline_s:.0f} s"
        await pilot.pause(0.05)


def head(kernels: KernelsPane) -> str:
    return str(kernels.query_one("#kern-info", Static).render()) + str(kernels.query_one("#kern-head", Static).render())


async def test_the_kernels_show_a_runs_first_weights_before_training_and_after_each_edit(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path, seed=7)
    async with app.run_test(size=WIDE) as pilot:
        kernels = app.main.query_one(KernelsPane)
        snap = await initial_for(pilot, kernels, "simple_cnn")
        expected = initial_model(preset("simple_cnn"), 7).state_dict()
        assert snap.initial_seed == 7 and np.array_equal(snap.arrays[0], expected["0.weight"].numpy())
        assert kernels.query_one(KernelGrid).picture is not None and "initial weights, seed 7" in head(kernels)

        app.main.query_one(ArchitecturePane).change(preset("mlp"), 0)  # an edit: the MLP's 28x28 units
        snap = await initial_for(pilot, kernels, "mlp")
        assert np.array_equal(snap.arrays[1], initial_model(preset("mlp"), 7).state_dict()["1.weight"].numpy())
        await pilot.press("4")
        assert kernels.chosen is not None and kernels.chosen.kind == "image"
        assert "initial weights, seed 7" in head(kernels)


async def test_a_run_that_is_going_keeps_its_live_weights(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path, epochs=50, batch_size=100, weights_every=0.2)
    async with app.run_test(size=WIDE) as pilot:
        kernels = app.main.query_one(KernelsPane)
        await initial_for(pilot, kernels, "simple_cnn")
        training = app.main.query_one(TrainingPane)
        await pilot.press("t")
        await apps.first_step(pilot, training)
        deadline = time.monotonic() + 30
        while kernels.snapshot is None or kernels.snapshot.initial_seed is not None:
            assert time.monotonic() < deadline, "no live weights"
            await pilot.pause(0.05)
        app.main.want_initial_weights()  # as an edit would ask, while the run goes
        await pilot.pause(0.6)
        assert kernels.snapshot.initial_seed is None
        await pilot.press("x")
        await app.workers.wait_for_complete()


async def test_templates_without_a_trained_run_show_the_initial_ones(tmp_path: Path) -> None:
    from tui_cnn.ui.screens.templates import InitialLayer

    app = apps.make_app(tmp_path, seed=3, runs_dir=tmp_path / "empty-runs")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("w")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        mlp, cnn = app.screen.first_layers["mlp"], app.screen.first_layers["simple_cnn"]
        assert isinstance(mlp, InitialLayer) and isinstance(cnn, InitialLayer)
        weights = initial_model(preset("mlp"), 3).state_dict()["1.weight"]
        assert np.array_equal(mlp.maps, weights.reshape(50, 28, 28).numpy())
        assert (mlp.layer_params, mlp.params, cnn.maps.shape, cnn.params) == (39_250, 39_760, (4, 3, 3), 5_274)
        heads = [str(h.render()) for h in app.screen.query(".tpl-head")]
        assert all("initial weights, seed 3" in h for h in heads)
        assert "no trained mlp run" in heads[0] and "cnn-tui train simple_cnn" in heads[1]
