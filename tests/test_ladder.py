"""The ladder's rungs counted by hand, against the budget and torch, and its verdict in words."""

from __future__ import annotations

import pytest
import torch

from tui_cnn.architecture.budget import budget_of
from tui_cnn.architecture.build import build_model
from tui_cnn.architecture.presets import preset
from tui_cnn.experiments.ladder import RUNGS, Rung, RungResult, factors, measured, rung_params, verdict

# Worked out by hand. simple_cnn's activations: 1x28x28 = 784 -> 4x14x14 = 784 -> 8x7x7 = 392
# -> 16x4x4 = 256 -> 16x2x2 = 64 -> 10x1x1 = 10; every layer a 3x3 kernel, stride 2, padding 1.
HAND = {
    # a linear layer: in*out weights + out biases
    "mlp": (784 * 50 + 50) + (50 * 10 + 10),  # 39,760
    "dense_cnn": (784 * 784 + 784) + (784 * 392 + 392) + (392 * 256 + 256) + (256 * 64 + 64) + (64 * 10 + 10),
    # a local layer: positions * out channels * (3*3*in channels + 1 bias)
    "local_cnn": 14 * 14 * 4 * (9 * 1 + 1)
    + 7 * 7 * 8 * (9 * 4 + 1)
    + 4 * 4 * 16 * (9 * 8 + 1)
    + 2 * 2 * 16 * (9 * 16 + 1)
    + 1 * 1 * 10 * (9 * 16 + 1),
    # a conv: out channels * (3*3*in channels + 1 bias), whatever the positions
    "simple_cnn": 4 * (9 * 1 + 1) + 8 * (9 * 4 + 1) + 16 * (9 * 8 + 1) + 16 * (9 * 16 + 1) + 10 * (9 * 16 + 1),
}


def test_the_hand_counts_are_the_numbers_quoted() -> None:
    assert HAND == {"mlp": 39_760, "dense_cnn": 1_040_866, "local_cnn": 51_762, "simple_cnn": 5_274}


@pytest.mark.parametrize("arch", list(HAND))
def test_each_rung_has_its_hand_count_in_the_budget_and_in_torch(arch: str) -> None:
    assert budget_of(preset(arch)).total_params == HAND[arch]
    assert sum(p.numel() for p in build_model(preset(arch)).parameters()) == HAND[arch]


def test_the_cnn_rungs_share_simple_cnns_geometry() -> None:
    shapes = {
        arch: [r.out_shape for r in budget_of(preset(arch)).rows if r.params] for arch in ("local_cnn", "simple_cnn")
    }
    assert shapes["local_cnn"] == shapes["simple_cnn"]
    sizes = [r.out_shape[0] for r in budget_of(preset("dense_cnn")).rows if r.kind == "linear"]
    assert sizes == [784, 392, 256, 64, 10]  # simple_cnn's activations, flattened
    torch.manual_seed(0)
    assert build_model(preset("local_cnn"))(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_rungs_name_what_each_keeps() -> None:
    assert [(r.arch, r.locality, r.sharing) for r in RUNGS] == [
        ("mlp", False, False),
        ("dense_cnn", False, False),
        ("local_cnn", True, False),
        ("simple_cnn", True, True),
    ]
    assert rung_params() == HAND


def test_factors_split_the_saving_into_locality_then_sharing() -> None:
    f = factors(rung_params())
    assert f.locality == pytest.approx(1_040_866 / 51_762) == pytest.approx(20.109, abs=1e-3)
    assert f.sharing == pytest.approx(51_762 / 5_274) == pytest.approx(9.815, abs=1e-3)
    assert f.locality * f.sharing == pytest.approx(1_040_866 / 5_274)


def rung(arch: str) -> Rung:
    return next(r for r in RUNGS if r.arch == arch)


def test_measured_summarises_the_seeds() -> None:
    result = measured(rung("local_cnn"), 51_762, [0.90, 0.92, 0.94])
    assert result == RungResult("local_cnn", 51_762, True, False, 3, pytest.approx(0.92), pytest.approx(0.02))
    assert result.to_json()["val_acc_sd"] == pytest.approx(0.02)
    one = measured(rung("mlp"), 39_760, [0.943])
    assert (one.n, one.val_acc_mean, one.val_acc_sd) == (1, 0.943, None)
    assert measured(rung("mlp"), 39_760, []).val_acc_mean is None


def test_the_verdict_states_both_steps_from_the_numbers() -> None:
    params = rung_params()
    accs = {"mlp": [0.943], "dense_cnn": [0.950], "local_cnn": [0.938], "simple_cnn": [0.942]}
    results = [measured(r, params[r.arch], accs[r.arch]) for r in RUNGS]
    assert verdict(results) == (
        "locality cuts the parameters 20.1x for a 1.2-point loss in accuracy, "
        "and sharing cuts them 9.8x more for a 0.4-point gain in accuracy"
    )


def test_the_verdict_says_what_it_can_while_rungs_are_missing() -> None:
    params = rung_params()
    local = measured(rung("local_cnn"), params["local_cnn"], [0.941])
    simple = measured(rung("simple_cnn"), params["simple_cnn"], [0.941])
    dense = measured(rung("dense_cnn"), params["dense_cnn"], [])
    assert verdict([dense, local, simple]) == "sharing cuts the parameters 9.8x for no change in accuracy"
    assert verdict([local]).startswith("no two neighbouring rungs measured yet")
