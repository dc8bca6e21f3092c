"""The locally connected layer against torch: its language, budget, forward, init, export and lessons."""

from __future__ import annotations

import json

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from tui_cnn.architecture.budget import budget_of
from tui_cnn.architecture.build import build_model, to_code
from tui_cnn.architecture.local import LocallyConnected2d
from tui_cnn.architecture.presets import preset
from tui_cnn.architecture.spec import Layer, ParseError, Spec, parse_line
from tui_cnn.cli import main
from tui_cnn.lessons.fields import receptive_fields
from tui_cnn.lessons.matrix import ConvMatrix, layer_matrix, matrix_cell
from tui_cnn.lessons.models import activations


def spec_of(line: str, shape: tuple[int, ...] = (1, 28, 28)) -> Spec:
    spec = parse_line(line, input_shape=shape)
    assert isinstance(spec, Spec), spec
    return spec


# The language


@pytest.mark.parametrize(
    ("line", "layer", "canonical"),
    [
        ("local 4", Layer("local", out=4, kernel=3, stride=1, padding=1), "local 4"),
        ("local 8 s2", Layer("local", out=8, kernel=3, stride=2, padding=1), "local 8 s2"),
        (
            "LOCAL 6 k5 p0 nobias",
            Layer("local", out=6, kernel=5, stride=1, padding=0, bias=False),
            "local 6 k5 p0 nobias",
        ),
        ("local 2 k4 s3 p0", Layer("local", out=2, kernel=4, stride=3, padding=0), "local 2 k4 s3 p0"),
    ],
)
def test_local_parses_like_a_conv_and_round_trips(line: str, layer: Layer, canonical: str) -> None:
    spec = spec_of(line)
    assert spec.layers == (layer,)
    assert spec.line() == canonical
    assert spec_of(canonical) == spec


@pytest.mark.parametrize(
    ("line", "column", "words"),
    [
        ("conv 4 | local", 10, "local needs a number"),
        ("local 4 p3", 9, "padding 3 is too large for kernel 3"),
        ("local 4 x2", 9, "unexpected 'x2' after local (options: kK sS pP nobias)"),
        ("local 0", 7, "output channels must be at least 1"),
        ("lokal 4", 1, "did you mean 'local'?"),
    ],
)
def test_bad_local_layers_point_at_the_token(line: str, column: int, words: str) -> None:
    error = parse_line(line)
    assert isinstance(error, ParseError)
    assert error.column == column and words in error.message


# The budget against torch

GEOMETRIES = [
    "local 4 s2",
    "local 3 k5 p0",
    "local 5 k2 s2 p0 nobias",
    "local 2 k3 s3 p2",
    "conv 3 s2 | relu | local 6 k3 s1 | local 4 k4 s2 p1 nobias",
    "maxpool 2 | local 7 k1 p0 | flatten | linear 10",
]


@pytest.mark.parametrize("line", GEOMETRIES)
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 9, 11)])
def test_budget_counts_a_local_layer_as_torch_builds_it(line: str, shape: tuple[int, ...]) -> None:
    spec = spec_of(line, shape)
    budget = budget_of(spec)
    assert budget.ok, budget.error
    model = build_model(spec)
    assert budget.total_params == sum(p.numel() for p in model.parameters())
    x = torch.zeros(2, *shape)
    for module, row, layer in zip(model, budget.rows, spec.layers, strict=True):
        x = module(x)
        assert tuple(x.shape[1:]) == row.out_shape, row.spec
        if layer.kind == "local":
            c, k = row.in_shape[0], layer.kernel
            o, ho, wo = row.out_shape
            # One kernel over all input channels, and one bias, per output channel and position.
            assert row.params == ho * wo * o * (k * k * c + layer.bias)
            assert row.macs == ho * wo * o * k * k * c
            assert row.dense_equiv == (c * row.in_shape[1] * row.in_shape[2]) * (o * ho * wo)


def test_a_local_layer_by_hand() -> None:
    # 1x28x28, k3 s2 p1 -> 4x14x14: 196 positions x 4 channels x (9 weights + 1 bias).
    row = budget_of(spec_of("local 4 s2")).rows[0]
    assert row.out_shape == (4, 14, 14)
    assert (row.params, row.weights, row.macs) == (7840, 7056, 7056)
    assert row.dense_equiv == 784 * 784
    conv = budget_of(spec_of("conv 4 s2")).rows[0]
    assert conv.macs == row.macs and conv.dense_equiv == row.dense_equiv and conv.params == 40


def test_the_budget_refuses_a_huge_local_layer_before_torch_builds_it() -> None:
    # 1024 kernels of 3x3x64 at each of 32x32 positions: 604 million parameters; as a conv, 590 thousand.
    budget = budget_of(spec_of("local 1024", (64, 32, 32)))
    assert budget.error is not None and "would exceed 500,000,000 parameters" in (budget.error.error or "")
    assert budget_of(spec_of("conv 1024", (64, 32, 32))).ok


# The forward against per-position convs


@pytest.mark.parametrize(
    ("c", "o", "h", "w", "k", "s", "p"),
    [
        (1, 4, 28, 28, 3, 2, 1),
        (3, 5, 7, 9, 3, 1, 1),
        (2, 3, 8, 6, 4, 2, 2),
        (4, 2, 5, 5, 2, 3, 0),
        (1, 1, 3, 3, 2, 1, 0),
    ],
)
def test_each_position_computes_the_conv_of_its_own_kernel(
    c: int, o: int, h: int, w: int, k: int, s: int, p: int
) -> None:
    torch.manual_seed(0)
    layer = LocallyConnected2d(c, o, (h, w), k, stride=s, padding=p)
    x = torch.randn(3, c, h, w)
    out = layer(x)
    ho, wo = layer.out_size
    assert out.shape == (3, o, ho, wo)
    for y in range(ho):
        for xx in range(wo):
            conv = nn.Conv2d(c, o, k, stride=s, padding=p)
            with torch.no_grad():
                conv.weight.copy_(layer.weight[y * wo + xx].reshape(o, c, k, k))
                conv.bias.copy_(layer.bias[:, y, xx])
            torch.testing.assert_close(out[:, :, y, xx], conv(x)[:, :, y, xx], rtol=1e-5, atol=1e-5)


def test_without_bias_and_with_gradients() -> None:
    torch.manual_seed(1)
    layer = LocallyConnected2d(2, 3, (6, 6), 3, stride=2, padding=1, bias=False)
    assert layer.bias is None
    x = torch.randn(2, 2, 6, 6, dtype=torch.float64, requires_grad=True)
    layer = layer.double()
    assert torch.autograd.gradcheck(layer, (x,))


def test_a_wrong_input_size_is_refused_with_a_reason() -> None:
    layer = LocallyConnected2d(1, 2, (5, 5), 3)
    with pytest.raises(ValueError, match="takes 5x5 inputs"):
        layer(torch.zeros(1, 1, 6, 6))


# Initialisation


def test_init_is_a_convs_drawn_weights_first_then_bias() -> None:
    torch.manual_seed(3)
    layer = LocallyConnected2d(2, 4, (7, 7), 3, stride=2, padding=1)  # 4x4 positions
    bound = 1 / (2 * 3 * 3) ** 0.5
    torch.manual_seed(3)
    weight = torch.empty(16, 4, 18).uniform_(-bound, bound)
    bias = torch.empty(4, 4, 4).uniform_(-bound, bound)
    assert torch.equal(layer.weight, weight) and torch.equal(layer.bias, bias)
    assert layer.weight.abs().max() <= bound
    generator = torch.Generator().manual_seed(3)
    before = torch.random.get_rng_state()
    layer.reset_parameters(generator)
    assert torch.equal(layer.weight, weight) and torch.equal(layer.bias, bias)
    assert torch.equal(torch.random.get_rng_state(), before)


# Export


def test_exported_code_defines_the_layer_and_computes_the_same() -> None:
    spec = preset("local_cnn")
    code = to_code(spec)
    assert "tui_cnn" not in code and "class LocallyConnected2d" in code
    namespace: dict = {"__name__": "generated"}
    exec(code, namespace)  # noqa: S102 - our own output
    exported = namespace["model"]
    torch.manual_seed(0)
    model = build_model(spec)
    exported.load_state_dict(model.state_dict())
    x = torch.randn(2, 1, 28, 28)
    assert torch.equal(exported(x), model(x))
    assert sum(p.numel() for p in exported.parameters()) == 51_762


# Lessons


def test_a_local_layers_matrix_has_a_weight_of_its_own_in_every_cell() -> None:
    spec = preset("local_cnn")
    torch.manual_seed(0)
    model = build_model(spec).eval()
    m = layer_matrix(spec, 2, model=model)
    assert isinstance(m, ConvMatrix) and m.local
    assert m.in_shape == (4, 14, 14) and m.out_shape == (8, 7, 7)  # the layer's own input, as trained
    assert m.distinct == m.nonzeros and m.sharing == 1.0
    conv = layer_matrix(preset("simple_cnn"), 2, in_shape=(4, 14, 14))
    assert isinstance(conv, ConvMatrix)
    assert conv.nonzeros == m.nonzeros  # the same connections...
    assert conv.distinct == 8 * 4 * 9 and conv.sharing > 40  # ...from 288 shared weights
    x = torch.randn(4, 14, 14)
    with torch.no_grad():
        torch.testing.assert_close(m.values @ x.flatten() + m.bias, model[2](x[None]).flatten(), rtol=1e-5, atol=1e-5)


def test_a_fresh_local_matrix_is_seeded_on_a_small_input() -> None:
    spec = spec_of("local 1 k2 p0", (1, 3, 3))
    m = layer_matrix(spec, 0, in_shape=(1, 3, 3))
    assert isinstance(m, ConvMatrix)
    # The seed's 4x9 matrix, with 16 weights instead of 4 shared ones.
    assert m.shape == (4, 9) and m.nonzeros == 16 and m.distinct == 16
    assert m.pattern[0] == [1, 2, 0, 3, 4, 0, 0, 0, 0] and m.pattern[1] == [0, 5, 6, 0, 7, 8, 0, 0, 0]
    again = layer_matrix(spec, 0, in_shape=(1, 3, 3))
    assert isinstance(again, ConvMatrix) and torch.equal(m.values, again.values)
    cell = matrix_cell(m, 3, 8, 2)
    assert cell.weight == (0, 0, 1, 1) and cell.uses == 1


def test_a_local_matrix_with_a_model_needs_the_layers_own_input() -> None:
    spec = preset("local_cnn")
    message = layer_matrix(spec, 0, model=build_model(spec), in_shape=(1, 5, 5))
    assert message == "layer 0 (local 4 s2) has weights for its 1x28x28 input only"


def test_receptive_fields_and_feature_maps_are_a_convs() -> None:
    local, conv = receptive_fields(preset("local_cnn")), receptive_fields(preset("simple_cnn"))
    assert [(r.rf, r.jump, r.start, r.coverage) for r in local] == [(r.rf, r.jump, r.start, r.coverage) for r in conv]
    torch.manual_seed(0)
    maps = activations(build_model(preset("local_cnn")), torch.randn(1, 28, 28))
    assert [tuple(a.shape) for a in maps] == [r.out_shape for r in budget_of(preset("local_cnn")).rows]


# The CLI


def test_cli_commands_take_a_local_layer() -> None:
    cli = CliRunner()
    summary = cli.invoke(main, ["summary", "local_cnn", "--json"])
    assert summary.exit_code == 0, summary.output
    assert json.loads(summary.stdout)["total_params"] == 51_762
    assert "7,840" in cli.invoke(main, ["summary", "local_cnn"]).stdout
    matrix = cli.invoke(main, ["matrix", "local 1 k2 p0", "--input", "1x3x3", "--json"])
    assert matrix.exit_code == 0, matrix.output
    data = json.loads(matrix.stdout)
    assert (data["nonzeros"], data["distinct"], data["sharing"]) == (16, 16, 1.0)
    shown = " ".join(cli.invoke(main, ["matrix", "local 1 k2 p0", "--input", "1x3x3"]).stdout.split())
    assert "16 distinct weights, each used 1.0x" in shown and "ab·cd···· ·ef·gh···" in shown
    fields = cli.invoke(main, ["rf", "local_cnn", "--json"])
    assert fields.exit_code == 0 and json.loads(fields.stdout)["layers"][8]["rf"] == 63
    code = cli.invoke(main, ["code", "local 4 s2 | relu | flatten | linear 10"])
    assert (
        code.exit_code == 0 and "LocallyConnected2d(1, 4, (28, 28), kernel_size=3, stride=2, padding=1)" in code.stdout
    )
