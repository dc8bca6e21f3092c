"""The parameter budget against torch's own counts, and by hand where the seed gives numbers."""

from __future__ import annotations

import pytest
import torch

from tui_cnn.architecture.budget import MAX_PARAMS, Budget, budget_of, check_trainable
from tui_cnn.architecture.build import build_model, to_code
from tui_cnn.architecture.presets import PRESETS, preset
from tui_cnn.architecture.spec import Spec, SpecError, parse_line


def line_budget(line: str, shape: tuple[int, ...] = (1, 28, 28)) -> Budget:
    spec = parse_line(line, input_shape=shape)
    assert isinstance(spec, Spec), spec
    return budget_of(spec)


def test_the_seeds_numbers() -> None:
    mlp, cnn = budget_of(preset("mlp")), budget_of(preset("simple_cnn"))
    assert mlp.total_params == 39_760
    assert cnn.total_params == 5_274
    first = cnn.rows[0]
    assert (first.weights, first.params - first.weights) == (36, 4)
    assert first.out_shape == (4, 14, 14)
    assert cnn.out_shape == (10,) == mlp.out_shape
    assert [r.out_shape for r in cnn.rows if r.kind == "conv"] == [
        (4, 14, 14),
        (8, 7, 7),
        (16, 4, 4),
        (16, 2, 2),
        (10, 1, 1),
    ]


def test_dense_equivalents_by_hand() -> None:
    cnn = budget_of(preset("simple_cnn"))
    # 784 inputs to 4x14x14 = 784 outputs: a dense layer needs 784 * 784 weights.
    assert cnn.rows[0].dense_equiv == 784 * 784 == 614_656
    # 4x14x14 = 784 inputs to 8x7x7 = 392 outputs.
    assert cnn.rows[2].dense_equiv == 784 * 392 == 307_328
    assert cnn.rows[0].sharing == pytest.approx(614_656 / 40)
    mlp = budget_of(preset("mlp"))
    assert mlp.rows[1].dense_equiv == 784 * 50  # a linear layer is its own dense equivalent
    assert mlp.rows[1].sharing == pytest.approx(784 * 50 / (784 * 50 + 50))
    assert mlp.rows[0].dense_equiv is None  # flatten has no weights


def test_multiply_adds_by_hand() -> None:
    cnn = budget_of(preset("simple_cnn"))
    assert cnn.rows[0].macs == 4 * 14 * 14 * 1 * 3 * 3
    assert cnn.rows[2].macs == 8 * 7 * 7 * 4 * 3 * 3
    assert budget_of(preset("mlp")).total_macs == 784 * 50 + 50 * 10


SPECS = [
    *(line for line, _ in PRESETS.values()),
    "conv 8 k5 p0 nobias | bn | relu | flatten | linear 10 nobias",
    "conv 3 k1 p0 | conv 6 k7 s3 p3 | avgpool 2 | flatten | bn | linear 10",
    "maxpool 2 | conv 16 k3 p0 | gelu | maxpool 3 s1 p1 | flatten | dropout 0.5 | linear 10",
    "conv 2 k28 p0 | flatten | linear 10",
    "avgpool 7 | flatten | linear 3 | sigmoid | linear 10",
    "conv 12 s2 | tanh | conv 12 s2 | tanh | flatten | linear 32 | bn | relu | linear 10",
]


@pytest.mark.parametrize("line", SPECS)
def test_budget_matches_torch(line: str) -> None:
    budget = line_budget(line)
    assert budget.ok, budget.error
    model = build_model(parse_line(line)).eval()
    assert budget.total_params == sum(p.numel() for p in model.parameters())
    x = torch.zeros(2, *budget.input_shape)
    for layer, row in zip(model, budget.rows, strict=True):
        x = layer(x)
        assert tuple(x.shape[1:]) == row.out_shape, row.spec


def test_at_least_a_dozen_specs_are_checked_against_torch() -> None:
    assert len(SPECS) >= 12


@pytest.mark.parametrize(
    ("line", "index", "words"),
    [
        ("conv 4 k7 p0 | conv 4 k7 p0 | conv 4 k7 p0 | conv 4 k7 p0 | conv 4 k7 p0", 4, "larger than the 4x4 input"),
        ("flatten | conv 4", 1, "flatten before it"),
        ("linear 10", 0, "add a flatten"),
        ("maxpool 2 | maxpool 2 | maxpool 2 | maxpool 2 | maxpool 2", 4, "larger than the 1x1"),
        ("conv 4 k2 s5 p0 | conv 4 k2 s5 p0 | conv 4 k2 s5 p0", 2, "larger than the 1x1"),
        ("conv 100000 | conv 100000", 0, "too large"),
        ("flatten | linear 100000 | linear 100000", 2, f"exceed {MAX_PARAMS:,} parameters"),
    ],
)
def test_shape_errors_name_the_layer_and_reason(line: str, index: int, words: str) -> None:
    budget = line_budget(line)
    assert not budget.ok
    assert budget.error.index == index
    assert words in budget.error.error
    assert all(r.out_shape is None for r in budget.rows[index:])  # nothing after is guessed


def test_shape_error_stops_the_build_before_any_allocation() -> None:
    spec = parse_line("flatten | linear 1000000 | linear 1000000")
    with pytest.raises(SpecError, match="parameters"):
        build_model(spec)


def test_check_trainable() -> None:
    assert check_trainable(budget_of(preset("simple_cnn")), 10) is None
    no_flatten = line_budget("conv 4 s2 | conv 10 k14 p0")
    assert "end with flatten" in check_trainable(no_flatten, 10)
    assert "10 classes" in check_trainable(line_budget("flatten | linear 7"), 10)
    assert "no trainable parameters" in check_trainable(line_budget("flatten"), 784)
    assert "layer 0" in check_trainable(line_budget("linear 10"), 10)


def test_json_shape() -> None:
    data = budget_of(preset("simple_cnn")).to_json()
    assert data["total_params"] == 5274
    assert data["input"] == [1, 28, 28]
    assert data["layers"][0] == {
        "index": 0,
        "kind": "conv",
        "spec": "conv 4 s2",
        "out_shape": [4, 14, 14],
        "params": 40,
        "macs": 7056,
        "activations": 784,
        "dense_equiv": 614_656,
        "error": None,
    }


def test_code_is_runnable_and_matches_the_budget() -> None:
    namespace: dict = {"__name__": "generated"}
    exec(to_code(preset("lenet5")), namespace)  # noqa: S102 - our own generated source
    model = namespace["model"]
    assert sum(p.numel() for p in model.parameters()) == budget_of(preset("lenet5")).total_params
    assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)
