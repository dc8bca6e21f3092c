"""The Ladder view (l): the newest stored ladder as a table, bars and a verdict; t trains one, filling in live.

The ladders are real: every rung a group of seeds trained for one epoch on the first digits of
mnist-5k (CPU, one torch thread), so the numbers on the screen are the store's.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from rich.console import Console

from tui_cnn.experiments import ladder_run
from tui_cnn.experiments.ladder import RUNGS, verdict
from tui_cnn.experiments.ladder_run import ladder_sweep, newest_ladder
from tui_cnn.store.runs import RunStore
from tui_cnn.training import data as data_module
from tui_cnn.training.config import TrainConfig
from tui_cnn.training.data import Dataset
from tui_cnn.ui.screens.ladder import LadderScreen
from tui_cnn.ui.widgets.info import Info

from ..subsets import first_digits
from . import apps
from .apps import settle

WIDE = (120, 40)
CPU = TrainConfig(epochs=1, batch_size=64, device="cpu", weights_every=0.0)


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory, mnist5k: Dataset) -> Path:
    """A ladder of two seeds, two epochs on 1,024 digits."""
    root = tmp_path_factory.mktemp("runs")
    store = RunStore(root)
    try:
        with apps.one_torch_thread():
            ladder_sweep(first_digits(mnist5k, 1024, 200), replace(CPU, epochs=2), [0, 1], store).run()
    finally:
        store.close()
    return root


def text_of(screen: LadderScreen, widget: str) -> str:
    """What a part of the screen shows, as plain text at 120 columns."""
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(screen.query_one(f"#{widget}", Info).content)
    return console.export_text()


async def test_l_shows_the_newest_ladder_in_the_store_with_its_verdict(tmp_path: Path, runs_dir: Path) -> None:
    app = apps.make_app(tmp_path, runs_dir=runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("l")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, LadderScreen)
        store = RunStore(runs_dir)
        try:
            stored = newest_ladder(store)
        finally:
            store.close()
        assert stored is not None and screen.results == stored.rungs
        assert [r.arch for r in screen.results] == [rung.arch for rung in RUNGS]
        assert all(r.n == 2 for r in screen.results)
        assert " ".join(text_of(screen, "ladder-verdict").split()) == verdict(stored.rungs)
        table = text_of(screen, "ladder-table")
        for r in stored.rungs:
            assert f"{r.val_acc_mean:.1%} ± {r.val_acc_sd * 100:.1f}" in table
        bars = text_of(screen, "ladder-bars")
        # Each rung's line: its name, its parameter bar, its count, then its accuracy gauge.
        lengths = {line.split()[0]: line.split()[1].count("█") for line in bars.splitlines()[1:5]}
        # One bar a rung on a log scale: dense_cnn's 1,040,866 longest, simple_cnn's 5,274 shortest.
        assert lengths["dense_cnn"] > lengths["local_cnn"] > lengths["mlp"] > 0


async def test_without_a_ladder_it_says_how_to_make_one(tmp_path: Path) -> None:
    app = apps.make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("l")
        await settle(pilot)
        head = text_of(app.screen, "ladder-head")
        assert "no ladder in the runs store yet: t trains one here, or `cnn-tui ladder`" in head
        assert "no two neighbouring rungs measured yet" in text_of(app.screen, "ladder-verdict")


async def test_t_trains_the_ladder_and_each_rung_fills_in_as_it_is_stored(
    tmp_path: Path, mnist5k: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = first_digits(mnist5k, 128, 100)
    monkeypatch.setattr(data_module, "load", lambda *args, **kwargs: small)
    gate = threading.Event()
    real = ladder_run.ladder_sweep

    def held_after_the_first_rung(data, base, seeds, store, on_rung=None, **kwargs):
        def on_first_rung(result) -> None:
            on_rung(result)
            if result.arch == RUNGS[0].arch:
                gate.wait(60)

        return real(data, base, seeds, store, on_rung=on_first_rung, **kwargs)

    monkeypatch.setattr(ladder_run, "ladder_sweep", held_after_the_first_rung)
    app = apps.make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("l")
        await pilot.pause()
        screen = app.screen
        await pilot.press("t")
        deadline = time.monotonic() + 60
        while not screen.results:
            assert screen.state == "training", screen.message
            assert time.monotonic() < deadline, "no rung within 60 s"
            await pilot.pause(0.05)
        # The first rung is in; the sweep is held before the second, so the screen shows one rung, live.
        assert [r.arch for r in screen.results] == ["mlp"] and screen.results[0].n == 3  # 3 seeds by default
        assert screen.state == "training" and screen.training_rung == "dense_cnn"
        assert "dense_cnn" in text_of(screen, "ladder-head") and "training…" in text_of(screen, "ladder-bars")
        gate.set()
        await settle(pilot)
        assert screen.state == "finished", screen.message
        assert [r.arch for r in screen.results] == [rung.arch for rung in RUNGS]
        assert " ".join(text_of(screen, "ladder-verdict").split()) == verdict(screen.results)
    store = RunStore(tmp_path / "runs")
    try:
        stored = newest_ladder(store)
    finally:
        store.close()
    assert stored is not None and stored.rungs == screen.results and stored.sweep_id == screen.sweep_id


async def test_leaving_the_view_stops_the_ladder_with_every_record_complete(
    tmp_path: Path, mnist5k: Dataset, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = first_digits(mnist5k, 128, 100)
    monkeypatch.setattr(data_module, "load", lambda *args, **kwargs: small)
    app = apps.make_app(tmp_path, epochs=5_000)  # far more than the half second it trains here
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("l", "t")
        screen = app.screen
        deadline = time.monotonic() + 60
        while screen.sweep_id is None:
            assert time.monotonic() < deadline and screen.state == "training", screen.message
            await pilot.pause(0.05)
        await pilot.pause(0.5)
        await pilot.press("escape")
        assert app.screen is app.main
        await app.workers.wait_for_complete()
    store = RunStore(tmp_path / "runs")
    try:
        statuses = [r.status for r in store.runs()]
    finally:
        store.close()
    assert statuses == ["interrupted"] * 3  # the first rung's three seeds, stopped, no rung after it


async def test_the_ladder_is_in_the_palette_and_the_help(tmp_path: Path) -> None:
    from tui_cnn.ui.screens.help import HelpScreen

    app = apps.make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("ctrl+p", *"The ladder", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LadderScreen)
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        lines = apps.help_text(app).splitlines()
        assert any(line.split()[:1] == ["l"] and "The ladder" in line for line in lines)


def test_ladder_snapshot(snap_compare, tmp_path: Path, runs_dir: Path) -> None:
    async def run_before(pilot) -> None:
        await pilot.press("l")
        await settle(pilot)

    assert snap_compare(apps.make_app(tmp_path, runs_dir=runs_dir), terminal_size=WIDE, run_before=run_before)
