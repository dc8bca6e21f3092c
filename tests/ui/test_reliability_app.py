"""The app under faults: bad lines, failing runs, resizes, dumb terminals, and SIGHUP or SIGTERM mid-run.

Pilot tests for what happens inside the app; real processes under a pseudo-terminal for
the signals and the terminal types, since only a real process can be hung up on.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import sqlite3
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest
import torch
from textual.widgets import Input, OptionList, Static
from torch import nn

from tui_cnn.app import CnnTuiApp
from tui_cnn.store.runs import RunStore
from tui_cnn.training import trainer as trainer_module
from tui_cnn.ui.dialogs.modals import Prompt
from tui_cnn.ui.panes.architecture import ArchitecturePane
from tui_cnn.ui.panes.training import TrainingPane

from ..test_train import Boom
from . import apps

ROOT = Path(__file__).resolve().parents[2]
WIDE = (120, 40)
WAIT_S = 60


def make_app(tmp_path: Path, arch: str = "linear", runs_dir: Path | None = None, **config: object) -> CnnTuiApp:
    return apps.make_app(tmp_path, arch, runs_dir=runs_dir, **{"batch_size": 500, **config})


def head(pane: TrainingPane) -> str:
    return str(pane.query_one("#train-head", Static).render())


async def train_to_the_end(app: CnnTuiApp, pilot) -> TrainingPane:
    pane = app.main.query_one(TrainingPane)
    await pilot.press("t")
    await app.workers.wait_for_complete()
    await pilot.pause()
    return pane


# -- bad lines in the editor -----------------------------------------------------------------

PARSE_ERRORS = [
    ("conv 4 | blah 3", 10, "unknown layer 'blah'"),
    ("conv -3 | flatten", 6, "must be at least 1"),
    ("conv four", 6, "whole number"),
    ("conv 4 k3 p5", 11, "padding 5 is too large"),
    ("dropout 1.5", 9, "dropout rate must be in [0, 1)"),
    ("conv 4 || relu", 9, "stray '|'"),
    ("conv 4\x07 | relu", 7, "unexpected character"),
    ("", 1, "empty architecture"),
]


async def test_bad_lines_typed_with_colon_are_marked_at_their_column(tmp_path: Path) -> None:
    app = make_app(tmp_path, "mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("colon")
        prompt = app.screen
        assert isinstance(prompt, Prompt)
        for line, column, words in PARSE_ERRORS:
            prompt.query_one(Input).value = line
            await pilot.press("enter")
            assert app.screen is prompt, line  # refused: the prompt stays open
            verdict = prompt.query_one("#verdict", Static).render()
            text = str(verdict)
            assert f"column {column}: " in text and words in text, text
            caret = text.splitlines()[1] if line else ""
            assert not line or caret.index("^") == column - 1  # the caret under the offending character
            assert any("red" in str(span.style) for span in verdict.spans)
        await pilot.press("escape")
        assert [layer.line() for layer in app.main.query_one(ArchitecturePane).spec.layers][0] == "flatten"


async def test_an_impossible_model_is_marked_red_and_never_built(tmp_path: Path, monkeypatch) -> None:
    built: list[str] = []
    monkeypatch.setattr(trainer_module, "build_model", lambda spec: built.append(spec.line()))
    monkeypatch.setattr(nn.Conv2d, "__init__", lambda *a, **kw: built.append("Conv2d"))
    app = make_app(tmp_path, "mlp")
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("colon")
        app.screen.query_one(Input).value = "conv 1000000 | conv 1000000"
        await pilot.press("enter")
        pane = app.main.query_one(ArchitecturePane)
        assert pane.has_class("invalid")
        row = pane.query_one("#layers", OptionList).get_option_at_index(0).prompt
        assert "784,000,000 values a sample" in str(row)
        assert any("red" in str(span.style) for span in row.spans)
        training = app.main.query_one(TrainingPane)
        await pilot.press("t")
        await pilot.pause()
        assert training.state == "ready" and "cannot train: layer 0" in head(training)
    assert built == []


# -- training faults ---------------------------------------------------------------------------


def fail_once(monkeypatch, error: Exception) -> None:
    """The next model built raises `error` on its first forward; the one after is the real one."""
    real = trainer_module.build_model
    calls: list[int] = []

    def build(spec):
        calls.append(1)
        return nn.Sequential(Boom(error)) if len(calls) == 1 else real(spec)

    monkeypatch.setattr(trainer_module, "build_model", build)


async def test_cuda_out_of_memory_fails_the_run_and_the_next_one_trains(tmp_path: Path, monkeypatch) -> None:
    fail_once(monkeypatch, torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB"))
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        pane = await train_to_the_end(app, pilot)
        assert pane.state == "failed"
        assert "out of memory: CUDA out of memory. Tried to allocate 20.00 GiB" in head(pane)
        assert "try a smaller batch size or model" in pane.message
        pane = await train_to_the_end(app, pilot)
        assert pane.state == "finished", pane.message
    statuses = [r.status for r in RunStore(tmp_path / "runs").runs()]
    assert sorted(statuses) == ["failed", "finished"]


async def test_an_exception_in_the_worker_is_shown_logged_and_the_app_goes_on(tmp_path: Path, monkeypatch) -> None:
    log = tmp_path / "runs" / "cnn-tui.log"
    fail_once(monkeypatch, RuntimeError("boom inside the loop"))
    app = make_app(tmp_path)
    async with app.run_test(size=WIDE) as pilot:
        pane = await train_to_the_end(app, pilot)
        assert pane.state == "failed"
        assert f"RuntimeError: boom inside the loop (details in {log})" in pane.message
        assert "boom inside the loop" in head(pane)
        text = log.read_text()
        assert "Traceback" in text and "RuntimeError: boom inside the loop" in text

        # An exception outside the trainer, in the worker itself.
        monkeypatch.setattr(RunStore, "recorder", lambda self: (_ for _ in ()).throw(OSError(28, "No space left")))
        pane = await train_to_the_end(app, pilot)
        assert pane.state == "failed" and "No space left" in pane.message and str(log) in pane.message
        assert "the training thread failed" in log.read_text()

        monkeypatch.undo()
        pane = await train_to_the_end(app, pilot)
        assert pane.state == "finished", pane.message
        await pilot.press("q")
    assert app.return_code == 0


async def test_an_unwritable_runs_directory_is_named_in_the_pane(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    app = make_app(tmp_path, runs_dir=blocker / "runs")
    async with app.run_test(size=WIDE) as pilot:
        pane = await train_to_the_end(app, pilot)
        assert pane.state == "failed"
        assert f"cannot use the runs directory {blocker / 'runs'}" in head(pane).replace("\n", "")


async def test_resizing_to_60x20_and_back_while_training(tmp_path: Path) -> None:
    app = make_app(tmp_path, "simple_cnn", epochs=3, batch_size=100)
    async with app.run_test(size=WIDE) as pilot:
        pane = app.main.query_one(TrainingPane)
        await pilot.press("t")
        await apps.first_step(pilot, pane)
        for size in ((60, 20), (80, 24), (60, 20), WIDE):
            await pilot.resize_terminal(*size)
            await pilot.pause(0.2)
            assert app.screen.size == size
            shown = [p for p in app.main.query(".pane") if p.display]
            assert shown and all(p.region.width <= size[0] for p in shown)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert pane.state == "finished", pane.message
        for pane_id in ("architecture", "budget", "training", "kernels"):
            region = app.main.query_one(f"#{pane_id}").region
            assert region.width > 30 and region.height > 10, pane_id  # the wide layout is back
        assert len(pane.epochs) == 3


# -- real processes under a pseudo-terminal --------------------------------------------------


class Terminal:
    """`cnn-tui` in a pseudo-terminal of its own (its controlling terminal, as over SSH)."""

    def __init__(self, args: list[str], env: dict[str, str], size: tuple[int, int] = WIDE) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", size[1], size[0], 0, 0))
        self.output = bytearray()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tui_cnn", *args],
            env={**os.environ, **env},
            cwd=ROOT,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
            preexec_fn=lambda: fcntl.ioctl(0, termios.TIOCSCTTY, 0),  # noqa: PLW1509 - before exec, on purpose
        )
        os.close(slave)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 1 << 16)
            except OSError:
                return
            if not chunk:
                return
            self.output.extend(chunk)

    def wait_for(self, text: bytes) -> None:
        deadline = time.monotonic() + WAIT_S
        while text not in self.output:
            assert self.process.poll() is None, bytes(self.output[-2000:])
            assert time.monotonic() < deadline, f"{text!r} never appeared"
            time.sleep(0.05)

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def hang_up(self) -> None:
        """Close our side, as sshd does when the connection drops: the kernel sends SIGHUP."""
        os.close(self.master)

    def wait(self) -> int:
        try:
            return self.process.wait(WAIT_S)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()


def wait_for_an_epoch(home: Path, terminal: Terminal) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert terminal.process.poll() is None, bytes(terminal.output[-2000:])
        try:
            with sqlite3.connect(f"file:{home / 'runs.sqlite3'}?mode=ro", uri=True, timeout=5) as db:
                found = db.execute("SELECT status, epochs_done FROM runs").fetchall()
        except sqlite3.Error:
            found = []
        if found and found[0] == ("running", found[0][1]) and found[0][1] >= 1:
            return
        time.sleep(0.05)
    pytest.fail("the run never reached an epoch")


@pytest.mark.slow
@pytest.mark.parametrize("how", ["SIGHUP", "SIGTERM", "hang-up"])
def test_a_signal_mid_run_completes_the_record_before_exit(tmp_path: Path, how: str) -> None:
    terminal = Terminal(["--epochs", "30", "--batch-size", "100", "--device", "cpu"], {"CNN_TUI_HOME": str(tmp_path)})
    terminal.wait_for(b"Kernels")
    terminal.press(b"t")
    wait_for_an_epoch(tmp_path, terminal)
    if how == "hang-up":
        terminal.hang_up()
    else:
        terminal.process.send_signal(getattr(signal, how))
    code = terminal.wait()
    assert code == 128 + (signal.SIGTERM if how == "SIGTERM" else signal.SIGHUP)
    store = RunStore(tmp_path)
    [record] = store.runs()
    assert record.status == "interrupted" and record.message.startswith("stopped at step")  # not marked stale later
    assert record.epochs_done >= 1 and len(store.metrics(record.run_id)) == record.epochs_done
    assert set(store.load_weights(record.run_id)) >= {"0.weight", "0.bias"}


@pytest.mark.slow
@pytest.mark.parametrize("env", [{"TERM": "dumb"}, {"NO_COLOR": "1"}], ids=["TERM=dumb", "NO_COLOR"])
def test_the_app_starts_and_quits_on_dumb_and_colourless_terminals(tmp_path: Path, env: dict[str, str]) -> None:
    terminal = Terminal([], {"CNN_TUI_HOME": str(tmp_path), **env})
    for title in (b"Architecture", b"Budget", b"Training", b"Kernels", b"5,274"):
        terminal.wait_for(title)
    terminal.press(b"q")
    assert terminal.wait() == 0
    if "NO_COLOR" in env:  # only black, white and greys: 30/37/90/97 and their backgrounds, bold, reset
        codes = {code for sgr in re.findall(rb"\x1b\[([0-9;]*)m", terminal.output) for code in sgr.split(b";")}
        greys = {b"30", b"37", b"40", b"47", b"90", b"97", b"100", b"107"}
        assert codes <= {b"", b"0", b"1", b"2", b"3", b"4", b"7"} | greys


@pytest.mark.parametrize("env", [{"TERM": "dumb"}, {"NO_COLOR": "1"}], ids=["TERM=dumb", "NO_COLOR"])
def test_the_cli_prints_plain_tables_on_dumb_and_colourless_terminals(tmp_path: Path, env: dict[str, str]) -> None:
    terminal = Terminal(["summary", "mlp"], {"CNN_TUI_HOME": str(tmp_path), **env})
    assert terminal.wait() == 0
    terminal.reader.join(5)
    out = bytes(terminal.output)
    assert b"39,760" in out and b"linear 50" in out
    colours = re.findall(rb"\x1b\[[0-9;]*(?:3[0-8]|4[0-8]|9[0-7]|10[0-7])[;m]", out)
    assert colours == []
    if env.get("TERM") == "dumb":
        assert b"\x1b" not in out
