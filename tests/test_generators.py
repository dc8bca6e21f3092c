"""A seeded run draws only from its own generators: lesson views and other threads cannot change it."""

from __future__ import annotations

import threading

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from tui_cnn.architecture.presets import preset
from tui_cnn.cli.commands import main
from tui_cnn.lessons import matrix, models
from tui_cnn.training.data import Dataset
from tui_cnn.training.events import Event, Step
from tui_cnn.training.generators import SeededDropout, dropout_seed, seed_dropout
from tui_cnn.training.trainer import TrainConfig, Trainer

from .subsets import first_digits

pytestmark = pytest.mark.usefixtures("one_thread")  # runs compared sum in one order

SPEC = preset("deep_mlp")  # has a dropout layer


@pytest.fixture(scope="module")
def small(mnist5k: Dataset) -> Dataset:
    return first_digits(mnist5k, 640, 200)


def _weights(data: Dataset, on_event=None) -> dict[str, torch.Tensor]:
    config = TrainConfig(device="cpu", seed=5, epochs=2, batch_size=64, report_every=0, weights_every=0)
    ended = Trainer(SPEC, data, config, on_event).run()
    assert ended.status == "finished", ended.message
    assert ended.state_dict is not None
    return ended.state_dict


def _same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
    return list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_a_run_is_the_same_while_another_thread_builds_lesson_models(small: Dataset) -> None:
    alone = _weights(small)
    state = {k: v.clone() for k, v in alone.items()}
    stop = threading.Event()

    def views() -> None:
        while not stop.wait(0.002):
            models.model_from(SPEC, seed=1)
            models.model_from(SPEC, state)
            matrix._fresh_conv((1, 5, 5), 4, 3, 1, 1, True, seed=2)

    thread = threading.Thread(target=views)
    thread.start()
    try:
        beside = _weights(small)
    finally:
        stop.set()
        thread.join()
    assert _same(alone, beside)


def test_a_run_ignores_draws_from_the_global_generator(small: Dataset) -> None:
    alone = _weights(small)

    def draw(event: Event) -> None:
        if isinstance(event, Step):
            torch.manual_seed(event.step)
            torch.rand(100)

    before = torch.random.get_rng_state()
    drawn = _weights(small, draw)
    assert _same(alone, drawn)
    torch.random.set_rng_state(before)
    _weights(small)
    assert torch.equal(torch.random.get_rng_state(), before)  # the run itself drew nothing from it


def test_dropout_actually_drops_and_seeds_differ(small: Dataset) -> None:
    config = TrainConfig(device="cpu", seed=5, epochs=1, batch_size=64, report_every=0, weights_every=0)
    other = Trainer(SPEC, small, TrainConfig(**{**config.to_dict(), "seed": 6})).run().state_dict
    assert other is not None and not _same(_weights(small), other)


def test_lesson_models_leave_the_global_generator_alone() -> None:
    state = models.model_from(SPEC, seed=3).state_dict()
    before = torch.random.get_rng_state()
    rebuilt = models.model_from(SPEC, state)
    conv = matrix._fresh_conv((1, 5, 5), 4, 3, 1, 1, True, seed=2)
    assert torch.equal(torch.random.get_rng_state(), before)
    assert _same(rebuilt.state_dict(), state)
    torch.manual_seed(2)
    assert _same(conv.state_dict(), nn.Conv2d(1, 4, 3, stride=1, padding=1).state_dict())  # still PyTorch's init


def test_seeded_dropout_matches_nn_dropout_bit_for_bit() -> None:
    x = torch.randn(64, 256, requires_grad=True)
    torch.manual_seed(9)
    theirs = nn.Dropout(0.3)(x)
    theirs.sum().backward()
    grad, x.grad = x.grad, None
    ours = SeededDropout(0.3, torch.Generator().manual_seed(9))(x)
    ours.sum().backward()
    assert torch.equal(ours, theirs) and torch.equal(x.grad, grad)
    assert torch.equal(SeededDropout(0.3, torch.Generator()).eval()(x), x)


def test_seed_dropout_swaps_every_dropout_and_shares_the_generator() -> None:
    generator = torch.Generator().manual_seed(dropout_seed(0))
    model = seed_dropout(nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.2), nn.Sequential(nn.Dropout(0.5))), generator)
    swapped = [m for m in model.modules() if isinstance(m, SeededDropout)]
    assert [m.p for m in swapped] == [0.2, 0.5] and all(m.generator is generator for m in swapped)
    assert dropout_seed(0) != 0 and 0 <= dropout_seed(-1) < 2**64


def test_code_still_prints_plain_nn_dropout() -> None:
    result = CliRunner().invoke(main, ["code", "deep_mlp"])
    assert result.exit_code == 0 and "nn.Dropout(p=0.2)" in result.output and "Seeded" not in result.output
