"""`CnnTuiApp`: the Textual app over the core (editor, budget, training, kernels).

torch is not imported here: the first frame needs only the spec and its budget; the
trainer, the datasets and the device lookup import torch in worker threads.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.app import App

from .architecture.presets import preset, resolve
from .architecture.spec import ParseError
from .signals import ExitOnSignals
from .store.logs import LogFile
from .store.runs import runs_root
from .ui.commands import PaneCommands
from .ui.main_screen import MainScreen
from .ui.options import AppOptions
from .ui.panes.training import TrainingPane

if TYPE_CHECKING:
    from .training.config import TrainConfig


class CnnTuiApp(App):
    """A keyboard-driven lab: build an MLP or a CNN, see its budget, train it, watch its kernels."""

    CSS_PATH = Path(__file__).parent / "ui" / "app.tcss"  # absolute: subclasses elsewhere find it too
    TITLE = "cnn-tui"
    COMMANDS = App.COMMANDS | {PaneCommands}

    def __init__(
        self,
        arch: str = "simple_cnn",
        dataset: str = "mnist-5k",
        config: TrainConfig | None = None,
        runs_dir: str | None = None,
        data_dir: str | None = None,
        *,
        device_label: str | None = None,
        show_volatile: bool = True,
        spec_dir: str | Path | None = None,
        torch_threads: int | None = None,
    ) -> None:
        """Options as on the command line; the keyword-only ones make tests and snapshots repeatable.

        device_label: shown instead of looking the device up (and warming torch up) in a thread; snapshots
            pass one to mask the machine's name.
        show_volatile: False masks what differs between identical runs: samples/s, ETA, times, run ids.
        spec_dir: where spec files are saved and listed for opening (default: the working directory).
        torch_threads: torch's CPU threads in the training thread (None: torch's default, one per core).
            Measured on 2 cores (benchmarks/app_overhead.py): with both, the app trains at 0.97x of
            headless and the UI still answers within 40 ms; with 1, at 0.8x.
        """
        super().__init__()
        if config is None:
            from .training.config import TrainConfig

            config = TrainConfig()
        spec = resolve(arch)
        self.arch_error = spec if isinstance(spec, ParseError) else None
        self.log_file = LogFile(runs_root(runs_dir))  # tracebacks of failed runs, beside the runs store
        options = AppOptions(
            config,
            dataset,
            runs_dir,
            data_dir,
            device_label,
            show_volatile,
            torch_threads,
            Path(spec_dir) if spec_dir is not None else Path.cwd(),
        )
        self.main = MainScreen(preset("simple_cnn") if isinstance(spec, ParseError) else spec, options)

    def on_mount(self) -> None:
        self.log_file.open()
        self.push_screen(self.main)
        if self.arch_error is not None:
            self.notify(f"{self.arch_error}; opened simple_cnn instead", severity="error", timeout=8)

    def on_unmount(self) -> None:
        self.log_file.close()

    def action_train(self, action: str) -> None:
        """t (train), space and x from any screen: the main screen's Training pane runs them."""
        self.main.action_train(action)

    async def action_quit(self) -> None:
        """ctrl+q asks first while a run is going, like q."""
        await self.main.action_quit()

    def training_panes(self) -> list[TrainingPane]:
        """The runs a signal must stop (none before the main screen is up)."""
        return list(self.main.query(TrainingPane)) if self.main.is_mounted else []


def run_app(
    arch: str = "simple_cnn",
    dataset: str = "mnist-5k",
    config: TrainConfig | None = None,
    runs_dir: str | None = None,
    data_dir: str | None = None,
) -> int:
    """Open the app (what `cnn-tui` with no subcommand does); returns the exit status.

    SIGHUP (a dropped SSH session) and SIGTERM stop a run, let it complete its record,
    then exit with 128 + the signal's number (see `signals`).
    """
    app = CnnTuiApp(arch=arch, dataset=dataset, config=config, runs_dir=runs_dir, data_dir=data_dir)

    def leave(code: int) -> None:
        app.exit(return_code=code)  # from the watchdog thread: exit only posts a message, which is thread-safe

    with ExitOnSignals(app.training_panes, leave):
        app.run()
    return app.return_code or 0
