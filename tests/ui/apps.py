"""The app as the UI tests drive it: repeatable on any machine."""

from __future__ import annotations

from pathlib import Path

from tui_cnn.app import CnnTuiApp
from tui_cnn.train import TrainConfig


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
