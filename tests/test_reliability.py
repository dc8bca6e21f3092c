"""What a user can break on the command line, and what survives: bad input, faults, signals, files, data.

Subprocess tests use real signals on tiny runs (mnist-5k, batch 100: an epoch is about a
second here) and wait on the store, never on a fixed sleep.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from tui_cnn.architecture import build
from tui_cnn.cli.commands import main
from tui_cnn.store.runs import RunStore
from tui_cnn.training import data
from tui_cnn.training import trainer as trainer_module

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 60  # upper bound on any wait for a subprocess; they take a few seconds


@pytest.fixture
def cli() -> CliRunner:
    return CliRunner()


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Records every torch layer constructed: an impossible spec must be refused before any is."""
    built: list[str] = []
    for cls in (nn.Conv2d, nn.Linear, nn.BatchNorm1d, nn.BatchNorm2d):
        original = cls.__init__

        def spy(self, *args, _cls=cls, _init=original, **kwargs) -> None:
            built.append(_cls.__name__)
            _init(self, *args, **kwargs)

        monkeypatch.setattr(cls, "__init__", spy)
    return built


# Each class of malformed input from issue 6, as a line; the words its message must hold.
MALFORMED = [
    ("conv 4 | blah 3", "column 10: unknown layer 'blah'"),
    ("conv | relu", "column 1: conv needs a number"),
    ("conv -3", "column 6: output channels must be at least 1"),
    ("conv 0", "column 6: output channels must be at least 1"),
    ("conv four", "column 6: output channels must be a whole number"),
    ("conv 4 k3 p5", "column 11: padding 5 is too large for kernel 3"),
    ("maxpool 2 p3", "column 11: padding 3 is too large"),
    ("dropout 1.5", "column 9: dropout rate must be in [0, 1)"),
    ("dropout -0.1", "column 9: dropout rate must be in [0, 1)"),
    ("dropout nan", "column 9: dropout rate must be in [0, 1)"),
    ("conv 1000000 | conv 1000000", "layer 0 (conv 1000000): output 1000000x28x28 is too large"),
    ("flatten | linear 1000000 | linear 1000000", "layer 1 (linear 1000000): model would exceed 500,000,000"),
    ("conv 99999999999999999999", "column 6: output channels 99,999,999,999,999,999,999 is too large"),
    ("conv 8 s4 | conv 8 s4 | conv 8 k5 p0", "layer 2 (conv 8 k5 p0): kernel 5x5 is larger than the 2x2 input"),
    ("maxpool 2 | maxpool 2 | maxpool 2 | maxpool 2 | maxpool 2", "layer 4 (maxpool 2): kernel 2x2 is larger"),
    ("conv 4 s2 | linear 10", "layer 1 (linear 10): linear needs flat features"),
    ("conv 4 || relu", "column 9: stray '|'"),
    ("| conv 4", "column 1: stray '|'"),
    ("conv 4 |", "column 8: stray '|'"),
    ("conv 4\x07 | relu", "column 7: unexpected character '\\x07'"),
    ("conv 4 | relu \u200b", "column 15: unexpected character '\\u200b'"),
    ("conv \uff14", "column 6: unexpected character"),
    ("conv 4 \x1b[31m", "column 8: unexpected character '\\x1b'"),
    ("", "column 1: empty architecture"),
    ("   ", "column 1: empty architecture"),
    ("relu | " * 2000, "column 1: line is too long"),
]


@pytest.mark.parametrize(("line", "words"), MALFORMED, ids=[repr(line)[:30] for line, _ in MALFORMED])
@pytest.mark.parametrize("command", ["summary", "code", "train"])
def test_malformed_input_is_one_line_with_its_position_and_exit_2(
    cli: CliRunner, no_model: list[str], tmp_path: Path, command: str, line: str, words: str
) -> None:
    args = [command, line] + (["--runs-dir", str(tmp_path), "--epochs", "1"] if command == "train" else [])
    result = cli.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert words in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output and not isinstance(result.exception, (AssertionError, TypeError))
    assert no_model == []  # refused by the budget or the parser: no layer was ever constructed
    assert not (tmp_path / "runs.sqlite3").exists() or RunStore(tmp_path).runs() == []


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"", "no layers in file"),
        (b"# only a comment\n", "no layers in file"),
        (b"import torch\nprint('hello')\n", "thing.spec:1:1: unknown layer 'import'"),
        (b"name: x\ninput: 1x28x28\nconv 4\nconv 4 | | relu\n", "thing.spec:4:10: stray '|'"),
        (b"input: 28x28\nflatten\n", "thing.spec:1:7: input shape must be CxHxW"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "thing.spec: not a text spec file (not UTF-8)"),
        (b"flatten | linear 10\n" * 6000, "thing.spec: too large for a spec"),
    ],
    ids=["empty", "comment-only", "python", "stray-separator", "bad-input", "binary", "huge"],
)
def test_a_file_that_is_not_a_spec_is_a_parse_error(
    cli: CliRunner, no_model: list[str], tmp_path: Path, content: bytes, words: str
) -> None:
    path = tmp_path / "thing.spec"
    path.write_bytes(content)
    for command in ("summary", "train"):
        result = cli.invoke(main, [command, str(path), "--runs-dir", str(tmp_path)][: 2 if command == "summary" else 4])
        assert result.exit_code == 2, result.output
        assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert no_model == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["summary", "conv 4 | lnear 3"], "column 10: unknown layer 'lnear'"),
        (["train", "conv 1000000 | conv 1000000", "--epochs", "1"], "784,000,000 values a sample"),
    ],
)
def test_bad_input_in_a_real_process_is_one_line_and_exit_2(tmp_path: Path, args: list[str], words: str) -> None:
    env = {**os.environ, "CNN_TUI_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "tui_cnn", *args], env=env, capture_output=True, text=True, timeout=WAIT_S, cwd=ROOT
    )
    assert done.returncode == 2
    assert words in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_the_budget_refuses_before_build_model_allocates(no_model: list[str]) -> None:
    from tui_cnn.architecture.spec import SpecError, or_raise, parse_line

    spec = or_raise(parse_line("conv 1000000 | conv 1000000"))
    with pytest.raises(SpecError, match="too large"):
        build.build_model(spec)
    assert no_model == []


# -- training faults --------------------------------------------------------------------------


class Boom(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(784, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise RuntimeError("boom in forward")


def test_a_failed_run_is_logged_with_its_traceback_and_the_message_says_where(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(trainer_module, "build_model", lambda spec: nn.Sequential(Boom()))
    result = cli.invoke(main, ["train", "linear", "--epochs", "1", "--runs-dir", str(tmp_path), "--device", "cpu"])
    log = tmp_path / "cnn-tui.log"
    assert result.exit_code == 1
    assert f"failed: RuntimeError: boom in forward (details in {log})" in result.stderr
    text = log.read_text()
    assert "Traceback" in text and "RuntimeError: boom in forward" in text and "in forward" in text
    assert RunStore(tmp_path).runs()[0].status == "failed"


def test_a_huge_learning_rate_diverges_naming_the_step_and_a_lower_lr(cli: CliRunner, tmp_path: Path) -> None:
    args = ["train", "mlp", "--epochs", "1", "--lr", "1e12", "--optimizer", "sgd", "--runs-dir", str(tmp_path)]
    result = cli.invoke(main, [*args, "--batch-size", "100", "--device", "cpu"])
    assert result.exit_code == 1
    assert "diverged: loss became" in result.stderr and "at step" in result.stderr
    assert "try a lower learning rate (now 1e+12)" in result.stderr
    assert RunStore(tmp_path).runs()[0].status == "diverged"


# -- interruptions and kill -9 -----------------------------------------------------------------


def _start_training(home: Path, epochs: int = 30) -> subprocess.Popen:
    command = [sys.executable, "-m", "tui_cnn", "train", "simple_cnn", "--epochs", str(epochs), "--batch-size", "100"]
    env = {**os.environ, "CNN_TUI_HOME": str(home)}
    return subprocess.Popen(
        [*command, "--device", "cpu", "--json"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_epochs(home: Path, process: subprocess.Popen, epochs: int = 1) -> None:
    """Until the run in the store at `home` has `epochs` epochs committed (read-only, as `cnn-tui runs` would)."""
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        try:
            with sqlite3.connect(f"file:{home / 'runs.sqlite3'}?mode=ro", uri=True, timeout=5) as db:
                found = db.execute("SELECT epochs_done FROM runs").fetchall()
        except sqlite3.Error:
            found = []
        if found and found[0][0] >= epochs:
            return
        time.sleep(0.05)
    process.kill()
    pytest.fail("the run did not reach its first epoch in time")


def test_ctrl_c_during_train_keeps_the_epochs_and_exits_130(tmp_path: Path) -> None:
    process = _start_training(tmp_path)
    wait_for_epochs(tmp_path, process)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=WAIT_S)
    assert process.returncode == 130, err
    assert "Traceback" not in err and "interrupted: stopped at step" in err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["status"] == "interrupted" and result["epochs"] >= 1
    store = RunStore(tmp_path)
    [record] = store.runs()
    assert record.status == "interrupted" and record.epochs_done == result["epochs"]
    assert [m.epoch for m in store.metrics(record.run_id)] == list(range(1, record.epochs_done + 1))
    assert record.final_val_acc == store.metrics(record.run_id)[-1].val_acc
    assert store.load_weights(record.run_id)["0.weight"].shape == (4, 1, 3, 3)  # its weights as they were


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_sigterm_and_sighup_during_train_stop_cleanly(tmp_path: Path, sig: int) -> None:
    process = _start_training(tmp_path)
    wait_for_epochs(tmp_path, process)
    process.send_signal(sig)
    _, err = process.communicate(timeout=WAIT_S)
    assert process.returncode == 130 and "Traceback" not in err
    [record] = RunStore(tmp_path).runs()
    assert record.status == "interrupted" and record.epochs_done >= 1


def test_kill_9_leaves_a_readable_store_and_the_run_is_later_interrupted(tmp_path: Path, cli: CliRunner) -> None:
    process = _start_training(tmp_path)
    wait_for_epochs(tmp_path, process)
    process.kill()
    process.communicate(timeout=WAIT_S)
    assert process.returncode == -signal.SIGKILL
    with sqlite3.connect(tmp_path / "runs.sqlite3") as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    result = cli.invoke(main, ["runs", "--runs-dir", str(tmp_path), "--json"])  # opening the store marks it
    assert result.exit_code == 0
    [run] = json.loads(result.stdout)["runs"]
    assert run["status"] == "interrupted" and "process ended before the run finished" in run["message"]
    assert run["epochs_done"] >= 1
    store = RunStore(tmp_path)
    assert len(store.metrics(run["run_id"])) == run["epochs_done"]
    weights = [p for p in store.weights_dir.iterdir() if p.suffix == ".pt"]
    assert weights == []  # no half-written weights file passes for a checkpoint


# -- files -------------------------------------------------------------------------------------


def test_weights_are_only_ever_loaded_with_weights_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tui_cnn.training.events import Ended, Started

    store = RunStore(tmp_path)
    recorder = store.recorder()
    recorder(Started("linear", "flatten | linear 10", 7850, "mnist-5k", "cpu", "CPU", 1, 1, 1, 1, {}))
    recorder(Ended("finished", "", 1, 0.9, 0.9, 0.3, 1.0, 1.0, nn.Linear(784, 10).state_dict()))
    calls: list[dict] = []
    load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **kw: calls.append(kw) or load(*a, **kw))
    assert set(store.load_weights(recorder.run_id)) == {"weight", "bias"}
    assert calls == [{"map_location": "cpu", "weights_only": True}]


@pytest.mark.parametrize("command", [["train", "mlp", "--epochs", "1"], ["runs"]])
def test_an_unwritable_runs_directory_is_named(cli: CliRunner, tmp_path: Path, command: list[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = cli.invoke(main, [*command, "--runs-dir", str(blocker / "runs")])
    assert result.exit_code == 2
    assert f"cannot use the runs directory {blocker / 'runs'}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


# -- data --------------------------------------------------------------------------------------


def test_a_missing_dataset_offline_names_the_fetch_command(cli: CliRunner, tmp_path: Path) -> None:
    args = ["train", "mlp", "--dataset", "fashion-mnist", "--data-dir", str(tmp_path / "cache")]
    result = cli.invoke(main, [*args, "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert "run `cnn-tui data fetch fashion-mnist`" in result.stderr and "mnist-5k works offline" in result.stderr


class HalfThenDrop:
    """A response that sends half its bytes, then the connection drops."""

    def __init__(self, size: int = 200_000) -> None:
        self.left = size // 2
        self.headers = {"Content-Length": str(size)}

    def read(self, n: int) -> bytes:
        if self.left <= 0:
            raise ConnectionResetError(104, "Connection reset by peer")
        chunk = min(n, self.left)
        self.left -= chunk
        return b"\x1f\x8b" + b"\0" * (chunk - 2)

    def __enter__(self) -> HalfThenDrop:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def test_an_interrupted_download_leaves_nothing_that_passes(
    cli: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[str] = []

    def fake_urlopen(request, timeout: float = 0):  # never the network
        opened.append(getattr(request, "full_url", request))
        return HalfThenDrop()

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    cache = tmp_path / "cache"
    result = cli.invoke(main, ["data", "fetch", "mnist", "--data-dir", str(cache)])
    assert result.exit_code == 2
    assert "could not download mnist (offline?)" in result.stderr and "Connection reset" in result.stderr
    assert opened and all(url.startswith("http") for url in opened)
    assert not {i.name: i.present for i in data.available(cache)}["mnist"]
    assert list(cache.rglob("*")) == [cache / "MNIST", cache / "MNIST" / "raw"]  # no half file, no temp dir
    with pytest.raises(data.DataError, match="cnn-tui data fetch mnist"):
        data.load("mnist", cache)
