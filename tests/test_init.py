"""A model's initial weights come from the caller's generator and equal PyTorch's default init."""

from __future__ import annotations

import pytest
import torch

from tui_cnn.architecture.build import build_model
from tui_cnn.architecture.init import initial_model
from tui_cnn.architecture.presets import PRESETS, preset


@pytest.mark.parametrize("name", list(PRESETS))
def test_initial_model_equals_a_seeded_build(name: str) -> None:
    torch.manual_seed(7)
    expected = build_model(preset(name)).state_dict()
    got = initial_model(preset(name), 7).state_dict()
    assert list(got) == list(expected)
    for key, value in expected.items():
        assert torch.equal(got[key], value), key


def test_initial_model_leaves_the_global_generator_alone() -> None:
    torch.manual_seed(3)
    before = torch.random.get_rng_state()
    initial_model(preset("simple_cnn"), 11)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_seeds_give_different_weights() -> None:
    a = initial_model(preset("simple_cnn"), 0).state_dict()["0.weight"]
    b = initial_model(preset("simple_cnn"), 1).state_dict()["0.weight"]
    assert not torch.equal(a, b)
