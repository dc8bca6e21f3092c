"""Make the README's screenshots from the real app, at 120x40 (and one at 80x24).

    python scripts/screenshots.py [--out screenshots] [--epochs 3]

Each view is the app driven by key presses through `App.run_test`, saved with
`App.save_screenshot`. Runs go to a temporary store, never the user's.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tui_cnn.app import CnnTuiApp
from tui_cnn.training.config import TrainConfig

WIDE, SMALL = (120, 40), (80, 24)

# name -> (architecture, terminal size, keys, train first)
VIEWS: dict[str, tuple[str, tuple[int, int], Sequence[str], bool]] = {
    "main": ("simple_cnn", WIDE, (), False),
    "mlp": ("mlp", WIDE, (), False),
    "error": ("conv 4 s2 | relu | linear 10", WIDE, (), False),
    "cnn-trained": ("simple_cnn", WIDE, ("4", "right_square_bracket", "down", "right"), True),
    "mlp-trained": ("mlp", WIDE, ("4",), True),
    "help": ("simple_cnn", WIDE, ("question_mark",), False),
    "small": ("simple_cnn", SMALL, ("4",), True),
    "matrix": ("simple_cnn", WIDE, ("m", "s", "right_square_bracket", "down", "right"), True),
    "rf": ("simple_cnn", WIDE, ("f", "right_square_bracket", "right_square_bracket", "right"), False),
    "features": ("simple_cnn", WIDE, ("i",), True),
    "templates": ("simple_cnn", WIDE, ("w",), False),
    "runs": ("simple_cnn", WIDE, ("r", "down"), False),
    "mistakes": ("simple_cnn", WIDE, ("e",), False),
    "shift": ("simple_cnn", WIDE, ("S", "right", "right"), False),
}


# Views of stored runs: seeded with a trained mlp and simple_cnn.
NEEDS_RUNS = {"templates", "runs", "mistakes", "shift"}


def seed_runs(runs_dir: str, epochs: int) -> None:
    """Train the seed's two models into the store, so the views of stored runs have something to show."""
    from tui_cnn.architecture.presets import preset
    from tui_cnn.store.runs import RunStore
    from tui_cnn.training.trainer import Trainer

    store = RunStore(runs_dir)
    for arch in ("mlp", "simple_cnn"):
        Trainer(preset(arch), "mnist-5k", TrainConfig(epochs=epochs, seed=0), store.recorder()).run()
    store.close()


async def shoot(name: str, out: Path, epochs: int, runs_dir: str) -> Path:
    arch, size, keys, train = VIEWS[name]
    app = CnnTuiApp(arch=arch, config=TrainConfig(epochs=epochs, seed=0), runs_dir=runs_dir)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        while app.main.initial_pending:  # the kernels at initialisation, drawn in a thread once torch is in
            await pilot.pause(0.05)
        if train:
            await pilot.press("t")
            await app.workers.wait_for_complete()
            await pilot.pause()
        await pilot.press(*keys)
        await app.workers.wait_for_complete()  # the lesson views load runs in workers
        await pilot.pause(0.6)  # past the panes' redraw ticks
        return Path(app.save_screenshot(f"{name}.svg", str(out)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "screenshots")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("views", nargs="*", help=f"some of {', '.join(VIEWS)} (default: all)")
    args = parser.parse_args()
    unknown = set(args.views) - set(VIEWS)
    if unknown:
        parser.error(f"unknown views: {', '.join(sorted(unknown))}")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as runs_dir:
        if NEEDS_RUNS & set(args.views or VIEWS):
            seed_runs(runs_dir, args.epochs)
        for name in args.views or VIEWS:
            print(asyncio.run(shoot(name, args.out, args.epochs, runs_dir)))


if __name__ == "__main__":
    main()
