"""A local layer's kernels by position, and their spread across positions, against the layer itself."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tui_cnn.architecture.local import LocallyConnected2d
from tui_cnn.architecture.spec import parse_line
from tui_cnn.lessons.positions import kernels_at, position_spread
from tui_cnn.training.config import TrainConfig
from tui_cnn.training.data import Dataset
from tui_cnn.training.events import Weights
from tui_cnn.training.trainer import Trainer

from .subsets import first_digits


def test_the_kernels_at_a_position_are_the_conv_that_computes_it() -> None:
    torch.manual_seed(0)
    layer = LocallyConnected2d(2, 3, (6, 6), 3, stride=2, padding=1)
    x = torch.randn(1, 2, 6, 6)
    out = layer(x)
    h, w = layer.out_size
    weight = layer.weight.detach().numpy()
    for position in (0, 4, h * w - 1):
        y, xx = divmod(position, w)
        kernel = torch.from_numpy(kernels_at(weight, position, 3, 2, 3).reshape(3, 2, 3, 3).copy())
        conv = F.conv2d(x, kernel, layer.bias[:, y, xx].detach(), stride=2, padding=1)
        assert torch.allclose(conv[0, :, y, xx], out[0, :, y, xx], atol=1e-6)
    with pytest.raises(IndexError):
        kernels_at(weight, h * w, 3, 2, 3)


def test_shared_kernels_spread_nowhere_and_one_changed_kernel_stands_out_where_it_changed() -> None:
    positions, out, channels, k = (3, 4), 2, 2, 3
    kernel = np.arange(out * channels * k * k, dtype=np.float32)
    weight = np.tile(kernel, (12, 1)).reshape(12, out, channels * k * k)  # a conv's sharing, untied
    assert np.array_equal(position_spread(weight, positions, out, channels), np.zeros((4, 3, 4)))
    weight[5, 1, k * k : 2 * k * k] += 1.0  # position (1, 1), kernel out 1 in 1, every tap
    spread = position_spread(weight, positions, out, channels)
    assert spread.shape == (4, 3, 4)
    assert np.array_equal(spread[:3], np.zeros((3, 3, 4)))  # the other kernels still share
    assert spread[3, 1, 1] == pytest.approx(11 / 12)  # it is 1 - 1/12 from the new mean
    others = np.delete(spread[3].reshape(-1), 5)
    assert np.allclose(others, 1 / 12)


def test_the_trainers_weight_snapshots_carry_a_local_layer(mnist5k: Dataset) -> None:
    """The Kernels pane draws what the Weights events hold: the local layer's weight must be among them."""
    seen: list[Weights] = []
    spec = parse_line("local 2 k3 s4 | relu | flatten | linear 10")
    config = TrainConfig(epochs=1, batch_size=64, device="cpu", seed=0, weights_every=0)
    ended = Trainer(
        spec, first_digits(mnist5k, 128, 64), config, lambda e: isinstance(e, Weights) and seen.append(e)
    ).run()
    assert ended.status == "finished", ended.message
    assert seen and sorted(seen[-1].tensors) == [0, 3]
    assert seen[-1].tensors[0].shape == (7 * 7, 2, 9)  # positions, out, in*k*k
