"""The Training pane trains a seed group: seeds in its settings, the mean curves with a band, pause and stop.

Real runs of mnist-5k on the CPU with one torch thread: three seeds of simple_cnn for one epoch
at batch 500 (a few seconds), and two seeds of a long run stopped after its first step.
"""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from tui_cnn.store.runs import RunStore
from tui_cnn.training.config import TrainConfig
from tui_cnn.ui.dialogs.modals import HyperParams
from tui_cnn.ui.panes.training import TrainingPane
from tui_cnn.ui.widgets.curves import CurveChart

from . import apps

WIDE = (120, 40)


async def set_seeds(pilot, seeds: str) -> None:
    await pilot.press("3", "h")
    dialog = pilot.app.screen
    assert isinstance(dialog, HyperParams)
    dialog.query_one("#f-seeds", Input).value = seeds
    await pilot.press("enter")
    await pilot.pause()


async def test_seeds_in_the_settings_are_checked_and_shown(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path, epochs=1, batch_size=500)
    async with app.run_test(size=WIDE) as pilot:
        await set_seeds(pilot, "0")
        assert isinstance(app.screen, HyperParams)  # refused, with the reason in place
        assert "seeds must be 1 (a solo run) to 64, got 0" in str(app.screen.query_one("#verdict", Static).render())
        app.screen.query_one("#f-seeds", Input).value = "3"
        await pilot.press("enter")
        await pilot.pause()
        training = app.main.query_one(TrainingPane)
        assert training.seeds == 3
        assert "seeds 0..2" in str(training.query_one("#train-config").render())


async def test_the_settings_line_fits_the_pane_closing_up_its_gaps_only_when_it_must(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path, epochs=10, batch_size=500)
    async with app.run_test(size=WIDE) as pilot:
        await set_seeds(pilot, "12")
        line = app.main.query_one(TrainingPane).query_one("#train-config")
        text = line.render()
        assert text.plain == "epochs 10 batch 500 lr 0.003 adam seeds 0..11"  # 49 cells with two-space gaps
        assert text.cell_length <= line.content_size.width
        await pilot.resize_terminal(80, 24)  # one pane at a time, the whole width
        await pilot.pause()
        assert line.render().plain == "epochs 10  batch 500  lr 0.003  adam  seeds 0..11"


async def test_a_group_trains_every_seed_into_the_store_and_draws_their_mean_and_spread(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path, epochs=1, batch_size=500)
    async with app.run_test(size=WIDE) as pilot:
        await set_seeds(pilot, "3")
        training = app.main.query_one(TrainingPane)
        await pilot.press("t")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert training.state == "finished", training.message
        assert "group of 3" in str(training.query_one("#train-head").render())
        epoch, (val_loss, val_acc) = training.epochs[-1], training.epoch_bands[-1]
        steps, bands = training.steps, training.step_bands
        loss_chart = training.query_one("#loss-chart", CurveChart)
        train_series = loss_chart.series[0]
        run_id = training.run_id
    store = RunStore.open(str(tmp_path / "runs"))
    try:
        runs = store.runs()
        assert len(runs) == 3 and {r.group_id for r in runs} == {store.get(run_id).group_id}
        assert sorted(r.seed for r in runs) == [0, 1, 2]
        accs = [r.final_val_acc for r in runs]
        assert epoch.val_acc == pytest.approx(statistics.fmean(accs))  # the curve is the members' mean
        assert (val_acc.min, val_acc.max) == (pytest.approx(min(accs)), pytest.approx(max(accs)))
        losses = [store.metrics(r.run_id)[-1].val_loss for r in runs]
        assert (val_loss.min, val_loss.max) == (pytest.approx(min(losses)), pytest.approx(max(losses)))
    finally:
        store.close()
    assert len(bands) == len(steps) > 0 and all(
        b[0].min <= s.loss <= b[0].max for s, b in zip(steps, bands, strict=True)
    )
    assert train_series.band is not None and list(train_series.band[0]) == [b[0].min for b in bands]


async def test_pause_holds_the_group_and_stop_ends_every_member_interrupted(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path, epochs=1, batch_size=500)
    async with app.run_test(size=WIDE) as pilot:
        await set_seeds(pilot, "2")
        training = app.main.query_one(TrainingPane)
        training.config = TrainConfig(epochs=50, batch_size=100, seed=0, device="cpu")
        await pilot.press("t")
        await apps.first_step(pilot, training)
        await pilot.press("space")
        assert training.state == "paused" and training._run.paused
        await pilot.pause(0.3)
        held = training.last_step
        await pilot.pause(0.6)
        assert training.last_step == held  # no step while paused
        await pilot.press("space")
        assert training.state == "running" and not training._run.paused
        await pilot.press("x")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert training.state == "interrupted", training.message
    store = RunStore.open(str(tmp_path / "runs"))
    try:
        assert [r.status for r in store.runs()] == ["interrupted", "interrupted"]
    finally:
        store.close()
