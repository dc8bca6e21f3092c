"""The app as the UI tests drive it: repeatable on any machine."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from tui_cnn.app import CnnTuiApp
from tui_cnn.training.config import TrainConfig


def help_text(app: CnnTuiApp) -> str:
    """The open help screen's body as plain text, as a reader sees it at 120 columns."""
    console = Console(width=120, file=io.StringIO(), record=True)
    console.print(app.screen.body())
    return console.export_text()


def make_app(tmp_path: Path, arch: str = "simple_cnn", *, runs_dir: Path | None = None, **config: object) -> CnnTuiApp:
    """CPU, one torch thread (the same sums on any core count), the device label fixed, timings masked."""
    settings = {"epochs": 1, "batch_size": 64, "seed": 0, "device": "cpu", **config}
    return CnnTuiApp(
        arch=arch,
        config=TrainConfig(**settings),
        runs_dir=str(runs_dir or tmp_path / "runs"),
        spec_dir=tmp_path,
        device_label="CPU",
        show_volatile=False,
        torch_threads=1,
    )
