"""An error nobody foresaw in a view's worker: one line in place of the "loading…", the traceback in the log."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console
from textual.widgets import Static

from tui_cnn.store import compare
from tui_cnn.store.runs import RunStore
from tui_cnn.training import data
from tui_cnn.ui.screens import features, matrix

from . import apps

WIDE = (120, 40)


class Surprise(Exception):
    """A type no worker catches by name."""


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory, mnist5k: data.Dataset) -> Path:
    """A store with one finished run, for the views that open one."""
    root = tmp_path_factory.mktemp("runs")
    apps.train_runs(root, ("linear",), mnist5k, batch_size=500)
    return root


def screen_text(app) -> str:
    """Every Static on the screen as plain text, as a reader sees it at 120 columns."""
    console = Console(width=120, file=io.StringIO(), record=True)
    for widget in app.screen.query(Static):
        console.print(widget.content)
    return console.export_text()


def raiser(what: str):
    def fail(*args: object, **kwargs: object) -> None:
        raise Surprise(f"the {what} broke\nsecond line")

    return fail


# (keys that open the view, the module and function to break, what the screen says failed)
CASES = {
    "templates": (("w",), RunStore, "runs", "reading the runs"),
    "run": (("r", "enter"), compare, "load_model", "loading the run's weights"),
    "mistakes": (("e",), compare, "load_model", "scoring the run"),
    "features": (("i",), features, "activations", "running the model"),
    "fields": (("f",), data, "load", "loading the digits"),
    "matrix": (("m",), matrix, "seed_matrix", "unrolling the layer"),
    "shift": (("S",), compare, "shift_pair", "probing the shifts"),
}


@pytest.mark.parametrize("view", list(CASES))
async def test_an_unexpected_error_is_shown_in_place_and_logged(
    view: str, tmp_path: Path, runs_dir: Path, monkeypatch
) -> None:
    keys, owner, name, doing = CASES[view]
    monkeypatch.setattr(owner, name, raiser(view))
    app = apps.make_app(tmp_path, runs_dir=runs_dir)
    async with app.run_test(size=WIDE) as pilot:
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
            await app.workers.wait_for_complete()
        await pilot.pause()
        shown = screen_text(app)
        log = app.log_file.path
        line = f"{doing} failed: Surprise: the {view} broke (details in {log})"
        assert " ".join(line.split()) in " ".join(shown.split()), shown
        assert "second line" not in shown
        text = log.read_text()
        assert f"{doing} failed\nTraceback" in text and f"Surprise: the {view} broke" in text
