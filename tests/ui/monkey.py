"""A seeded monkey: random keys from every binding of every screen, pane and modal, and random resizes.

Shared by the suite's short run (tests/ui/test_monkey.py) and the long one (scripts/monkey.py);
a failure names its seed and key number, and the same seed replays the same keys.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import random
import string
import time
from dataclasses import dataclass, field
from pathlib import Path

from textual.binding import Binding
from textual.command import CommandPalette
from textual.pilot import Pilot

import tui_cnn.ui
from tui_cnn.app import CnnTuiApp
from tui_cnn.store.runs import RunStore
from tui_cnn.ui.dialogs.modals import ConfirmQuit
from tui_cnn.ui.panes.training import TrainingPane

from . import apps

QUITTING = frozenset({"q", "ctrl+q", "ctrl+c"})  # pressed, they would end the session under test
EXTRA = ("ctrl+p", "escape", "enter", "up", "down", "left", "right", "tab", "shift+tab", "space", "backspace")
SIZES = ((60, 160), (20, 50))  # columns and rows the terminal is resized between
RESIZE_EVERY = 25  # keys, on average
ENDED = ("finished", "interrupted", "diverged", "failed")


def binding_keys() -> list[str]:
    """Every key bound by a class in tui_cnn.ui (screens, panes, widgets, modals), less the quitting ones."""
    keys: set[str] = set()
    for info in pkgutil.walk_packages(tui_cnn.ui.__path__, "tui_cnn.ui."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            for binding in cls.__dict__.get("BINDINGS", ()):
                key = binding.key if isinstance(binding, Binding) else binding[0]
                keys.update(k.strip() for k in key.split(","))
    return sorted(keys - QUITTING)


def key_pool() -> list[str]:
    """The bound keys, the printable ones (as Textual names them) and the usual movement keys."""
    printable = [c for c in string.ascii_letters + string.digits if c != "q"]
    return sorted(set(binding_keys()) | set(printable) | set(EXTRA))


@dataclass
class Report:
    """What a monkey run did."""

    seed: int
    keys: int
    resizes: int = 0
    seconds: float = 0.0
    pressed: list[str] = field(default_factory=list)


async def monkey(app: CnnTuiApp, pilot: Pilot, seed: int, keys: int) -> Report:
    """Press `keys` random keys (and resize now and then); a quit dialog is answered no, the palette closed."""
    rng = random.Random(seed)
    pool = key_pool()
    report = Report(seed, keys)
    start = time.monotonic()
    for n in range(keys):
        if isinstance(app.screen, ConfirmQuit):
            key = "n"
        elif isinstance(app.screen, CommandPalette):
            key = "escape"  # its commands include saving screenshots and quitting
        else:
            key = rng.choice(pool)
        report.pressed.append(key)
        try:
            await pilot.press(key)
            if rng.random() < 1 / RESIZE_EVERY:
                await pilot.resize_terminal(rng.randint(*SIZES[0]), rng.randint(*SIZES[1]))
                report.resizes += 1
        except Exception as exc:
            raise AssertionError(f"seed {seed}, key {n} ({key!r}): {type(exc).__name__}: {exc}") from exc
        assert app.is_running, f"seed {seed}: the app stopped at key {n} ({key!r}); last keys {report.pressed[-20:]}"
    report.seconds = time.monotonic() - start
    return report


async def back_to_main(app: CnnTuiApp, pilot: Pilot) -> None:
    """Escape (or answer no) until the main screen is on top."""
    for _ in range(20):
        if app.screen is app.main:
            return
        await pilot.press("n" if isinstance(app.screen, ConfirmQuit) else "escape")
    raise AssertionError(f"cannot get back to the main screen from {type(app.screen).__name__}")


async def check_after(app: CnnTuiApp, pilot: Pilot, runs_dir: Path, seed: int) -> None:
    """The app still answers, every run it started has a complete record, nothing was logged as an exception."""
    training = app.main.query_one(TrainingPane)
    training.stop()
    await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause()
    await back_to_main(app, pilot)
    await pilot.resize_terminal(120, 40)
    await pilot.press("2")
    assert app.main.current == 1, f"seed {seed}: 2 did not focus the Budget pane"
    await pilot.press("question_mark")
    assert type(app.screen).__name__ == "HelpScreen", f"seed {seed}: ? did not open the help"
    await pilot.press("escape")
    assert app.screen is app.main
    store = RunStore.open(str(runs_dir))
    try:
        records = store.runs()
        assert records, f"seed {seed}: no run was recorded"
        for record in records:
            assert record.status in ENDED, f"seed {seed}: run {record.run_id} left {record.status!r}"
            assert len(store.metrics(record.run_id)) == record.epochs_done, f"seed {seed}: run {record.run_id}"
    finally:
        store.close()
    log = app.log_file.path
    text = log.read_text() if log.is_file() else ""
    assert "Traceback" not in text, f"seed {seed}: an exception reached {log}:\n{text[-3000:]}"


async def run_monkey(tmp_path: Path, seed: int, keys: int, size: tuple[int, int] = (120, 40)) -> Report:
    """The whole check: start a run, let the monkey loose while it trains, then check the app and the store."""
    runs_dir = tmp_path / "runs"
    app = apps.make_app(tmp_path, "simple_cnn", runs_dir=runs_dir, epochs=3, batch_size=100)
    async with app.run_test(size=size) as pilot:
        await pilot.press("t")
        await apps.first_step(pilot, app.main.query_one(TrainingPane))
        report = await monkey(app, pilot, seed, keys)
        await check_after(app, pilot, runs_dir, seed)
    return report
