"""Every divergence ends as "diverged" naming its step: nan, inf, and finite losses whose float32 sum overflows."""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from tui_cnn.architecture.presets import preset
from tui_cnn.cli.commands import main
from tui_cnn.store.runs import RunStore
from tui_cnn.training.data import Dataset
from tui_cnn.training.trainer import DIVERGED_LOSS, TrainConfig, Trainer, _Meter

CPU = torch.device("cpu")
HUGE = 3e38  # finite in float32, and 64 of them overflow a float32 sum


def _meter(losses: list[float], batch: int = 64) -> _Meter:
    meter = _Meter(CPU, [batch] * len(losses))
    y = torch.zeros(batch, dtype=torch.int64)
    for loss in losses:
        meter.add(torch.tensor(loss, dtype=torch.float32), torch.zeros(batch, 10), y)
    return meter


def test_a_sum_of_finite_huge_losses_does_not_overflow_and_names_the_first_huge_step() -> None:
    meter = _meter([2.3, 2.0, HUGE, HUGE, HUGE])
    loss, _ = meter.read()
    assert loss == pytest.approx((4.3 + 3 * float(torch.tensor(HUGE))) / 5, rel=1e-6)
    assert meter.first_bad() == (2, float(torch.tensor(HUGE)))


def meter_first_bad(losses: list[float]) -> int:
    return _meter(losses).first_bad()[0]


def test_first_bad_finds_a_nan_after_a_huge_loss_and_never_fails() -> None:
    assert meter_first_bad([2.3, float("nan"), 1.0]) == 1
    assert meter_first_bad([2.3, 2.0, DIVERGED_LOSS * 10, float("inf")]) == 2
    assert meter_first_bad([2.3, 5.0, 1.0]) == 1  # nothing diverged: the largest, not an IndexError


def test_reads_weight_each_step_by_its_batch_size() -> None:
    meter = _Meter(CPU, [4, 4, 2])
    for loss, size in ((1.0, 4), (2.0, 4), (4.0, 2)):
        meter.add(torch.tensor(loss), torch.zeros(size, 10), torch.zeros(size, dtype=torch.int64))
    assert meter.read() == (pytest.approx((4 + 8 + 8) / 10), 1.0)


def test_validation_sums_of_finite_huge_losses_stay_finite(mnist5k: Dataset) -> None:
    trainer = Trainer(preset("linear"), mnist5k, TrainConfig(device="cpu"))
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.copy_(torch.tensor([1e37] + [0.0] * 9))  # every digit but the zeros costs 1e37
    trainer.model = model
    loss, _ = trainer._evaluate(model, contextlib.nullcontext(), mnist5k)
    assert 1e36 < loss < 1e37


def test_a_run_whose_float32_loss_sum_overflows_ends_diverged_naming_the_step(
    mnist5k: Dataset, one_thread: None
) -> None:
    config = TrainConfig(device="cpu", seed=0, epochs=2, lr=1e6, report_every=1e9, weights_every=0)
    ended = Trainer(preset("simple_cnn"), mnist5k, config).run()
    assert ended.status == "diverged", ended.message
    found = re.fullmatch(
        r"loss became ([\d.]+e\+\d+) at step (\d+) \(epoch 1\); try a lower learning rate \(now 1e\+06\)", ended.message
    )
    assert found, ended.message
    assert float(found.group(1)) > DIVERGED_LOSS and int(found.group(2)) < 78  # inside the epoch, not at its end


def test_cli_train_that_overflows_exits_1_diverged_without_a_traceback(tmp_path: Path) -> None:
    args = ["train", "simple_cnn", "--epochs", "1", "--lr", "1e6", "--device", "cpu", "--runs-dir", str(tmp_path)]
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "IndexError" not in result.output
    assert re.search(
        r"^diverged: loss became .* at step \d+ \(epoch 1\); try a lower learning rate", result.stderr, re.M
    )
    assert json.loads(result.stdout.splitlines()[-1])["status"] == "diverged"
    assert [run.status for run in RunStore(tmp_path).runs()] == ["diverged"]
