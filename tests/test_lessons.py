"""The lessons' maths against torch itself: conv as a matrix, receptive fields, activations, mistakes."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tui_cnn.architecture.budget import budget_of
from tui_cnn.architecture.build import build_model
from tui_cnn.architecture.presets import preset
from tui_cnn.architecture.spec import Spec, parse_line
from tui_cnn.lessons.fields import input_region, receptive_fields
from tui_cnn.lessons.matrix import ConvMatrix, conv_matrix, conv_pattern, layer_matrix
from tui_cnn.lessons.mistakes import Mistake, confusion, confusion_heat, worst
from tui_cnn.lessons.models import activations, first_layer_maps, predict

from .subsets import first_digits


def spec_of(line: str, shape: tuple[int, ...] = (1, 28, 28)) -> Spec:
    spec = parse_line(line, input_shape=shape)
    assert isinstance(spec, Spec), spec
    return spec


def seeded_model(spec: Spec, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return build_model(spec)


def as_matrix(m: ConvMatrix) -> ConvMatrix:
    assert isinstance(m, ConvMatrix), m
    return m


# Conv as a matrix


def test_the_seeds_four_by_nine_matrix() -> None:
    m = conv_pattern((1, 3, 3), 1, 2)
    # Weights a b / c d (indices 1-4) slide over the 3x3 image: every row the same four, shifted.
    assert m.pattern == [
        [1, 2, 0, 3, 4, 0, 0, 0, 0],
        [0, 1, 2, 0, 3, 4, 0, 0, 0],
        [0, 0, 0, 1, 2, 0, 3, 4, 0],
        [0, 0, 0, 0, 1, 2, 0, 3, 4],
    ]
    assert (m.shape, m.cells, m.nonzeros, m.distinct, m.sharing) == ((4, 9), 36, 16, 4, 4.0)
    assert (m.in_shape, m.out_shape, m.values) == ((1, 3, 3), (1, 2, 2), None)


def random_conv_cases(n: int) -> list[tuple[int, int, int, int, int, int, int]]:
    """(C, O, k, s, p, H, W) with strides, padding and several channels; the kernel always fits."""
    rng = random.Random(0)
    cases = []
    while len(cases) < n:
        c, o, k, s = rng.randint(1, 3), rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 3)
        p, h, w = rng.randint(0, k - 1), rng.randint(1, 8), rng.randint(1, 8)
        if k <= h + 2 * p and k <= w + 2 * p:
            cases.append((c, o, k, s, p, h, w))
    return cases


@pytest.mark.parametrize("case", random_conv_cases(40))
def test_matrix_times_input_is_the_convolution(case: tuple[int, ...]) -> None:
    c, o, k, s, p, h, w = case
    gen = torch.Generator().manual_seed(sum(case))
    weight = torch.randn(o, c, k, k, generator=gen, dtype=torch.float64)
    bias = torch.randn(o, generator=gen, dtype=torch.float64)
    x = torch.randn(c, h, w, generator=gen, dtype=torch.float64)
    m = conv_matrix(weight, (c, h, w), s, p, bias)
    expected = F.conv2d(x[None], weight, bias, stride=s, padding=p)[0]
    assert m.out_shape == tuple(expected.shape)
    assert m.values is not None and m.bias is not None
    assert m.values.shape == m.shape
    assert torch.allclose(m.values @ x.flatten() + m.bias, expected.flatten())
    # The pattern and the values are the same matrix: a cell holds exactly the weight it names.
    pattern = torch.tensor(m.pattern)
    assert torch.equal(m.values[pattern == 0], torch.zeros(int((pattern == 0).sum()), dtype=torch.float64))
    assert torch.equal(m.values[pattern > 0], weight.flatten()[pattern[pattern > 0] - 1])
    # Each output unit reads at most C*k*k inputs: the rest of its row is structural zeros.
    assert all(len(row) - row.count(0) <= c * k * k for row in m.pattern)


def test_without_padding_every_weight_is_used_once_per_output_unit() -> None:
    m = conv_pattern((2, 6, 6), 3, 3, stride=1, padding=0)
    assert m.shape == (3 * 4 * 4, 2 * 6 * 6)
    assert m.distinct == 3 * 2 * 3 * 3
    assert m.nonzeros == 3 * 4 * 4 * 2 * 3 * 3  # the conv's multiply-adds
    assert m.sharing == 16.0  # each weight serves every one of the 4x4 positions


def test_padding_removes_cells_not_weights() -> None:
    m = conv_pattern((1, 4, 4), 1, 3, padding=1)
    assert m.out_shape == (1, 4, 4)
    assert m.distinct == 9
    # A corner unit's kernel hangs over the padding on two sides: 4 of its 9 taps land on pixels.
    assert m.pattern[0].count(0) == 16 - 4
    assert m.nonzeros == 4 * 4 + 8 * 6 + 4 * 9  # corners, edges, interior


def test_a_tiny_padded_input_leaves_weights_unused() -> None:
    m = conv_pattern((1, 1, 1), 2, 3, padding=1)
    assert m.pattern == [[5], [14]]  # only each kernel's centre ever touches the one pixel
    assert (m.distinct, m.nonzeros, m.sharing) == (2, 2, 1.0)


def test_impossible_patterns_raise_with_a_reason() -> None:
    with pytest.raises(ValueError, match="larger than the 2x2 input"):
        conv_pattern((1, 2, 2), 1, 3)
    with pytest.raises(ValueError, match="cells"):
        conv_pattern((1, 40, 40), 8, 3, padding=1)  # 12,800 x 1,600 cells
    with pytest.raises(ValueError, match="input channels"):
        conv_matrix(torch.zeros(4, 2, 3, 3), (1, 5, 5))


def test_to_json_carries_the_matrix_and_its_numbers() -> None:
    m = conv_matrix(torch.arange(1.0, 5.0).reshape(1, 1, 2, 2), (1, 3, 3), bias=torch.tensor([0.5]))
    data = json.loads(json.dumps(m.to_json()))
    assert data["shape"] == [4, 9]
    assert (data["nonzeros"], data["distinct"], data["cells"], data["sharing"]) == (16, 4, 36, 4.0)
    assert (data["in_shape"], data["out_shape"]) == ([1, 3, 3], [1, 2, 2])
    assert data["pattern"][1] == [0, 1, 2, 0, 3, 4, 0, 0, 0]
    assert data["values"][1] == [0.0, 1.0, 2.0, 0.0, 3.0, 4.0, 0.0, 0.0, 0.0]
    assert data["bias"] == [0.5] * 4
    assert conv_pattern((1, 3, 3), 1, 2).to_json()["values"] is None


def test_layer_matrix_defaults_to_the_first_conv_on_a_small_input() -> None:
    m = as_matrix(layer_matrix(preset("simple_cnn")))
    assert (m.in_shape, m.out_shape, m.shape) == ((1, 5, 5), (4, 3, 3), (36, 25))
    assert m.distinct == 36  # the seed's 36 first-layer weights
    second = as_matrix(layer_matrix(preset("simple_cnn"), 2))
    assert (second.in_shape, second.out_shape) == ((4, 5, 5), (8, 3, 3))  # channels as the budget infers
    assert second.distinct == 8 * 4 * 3 * 3
    big = as_matrix(layer_matrix(preset("lenet5"), 0))
    assert big.in_shape == (1, 5, 5) and big.out_shape == (6, 5, 5)


def test_layer_matrix_on_the_real_input_is_the_budgets_dense_layer() -> None:
    m = as_matrix(layer_matrix(preset("simple_cnn"), 0, in_shape=(1, 28, 28)))
    first = budget_of(preset("simple_cnn")).rows[0]
    assert m.cells == first.dense_equiv == 614_656  # what a dense layer 784 -> 4x14x14 would need
    assert m.distinct == first.weights == 36
    assert m.nonzeros == 6_724 < first.macs  # padded taps are structural zeros, not connections


def test_layer_matrix_is_seeded_and_reads_a_models_weights() -> None:
    spec = preset("simple_cnn")
    one, two = as_matrix(layer_matrix(spec, 2)), as_matrix(layer_matrix(spec, 2))
    assert one.values is not None and two.values is not None and torch.equal(one.values, two.values)
    other = as_matrix(layer_matrix(spec, 2, seed=1))
    assert other.values is not None and not torch.equal(one.values, other.values)
    model = seeded_model(spec, 3)
    m = as_matrix(layer_matrix(spec, 2, model=model, in_shape=(4, 6, 6)))
    x = torch.randn(4, 6, 6, generator=torch.Generator().manual_seed(0))
    assert m.values is not None and m.bias is not None
    with torch.no_grad():
        expected = model[2](x[None])[0].flatten()
    assert torch.allclose(m.values @ x.flatten() + m.bias, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("arch", "index", "shape", "message"),
    [
        ("mlp", None, None, "no conv layer"),
        ("simple_cnn", 1, None, "layer 1 (relu) is not a conv (conv layers are at 0, 2, 4, 6, 8)"),
        ("simple_cnn", 12, None, "there is no layer 12"),
        ("simple_cnn", -1, None, "there is no layer -1"),
        ("simple_cnn", 2, (1, 5, 5), "takes 4 input channels: try 4x5x5, not 1x5x5"),
        ("lenet5", 3, (6, 3, 3), "layer 3 (conv 16 k5 p0): kernel 5x5 is larger than the 3x3 input with padding 0"),
        ("lenet5", 0, (1, 28, 28), "3,687,936 cells"),
    ],
)
def test_layer_matrix_explains_what_it_cannot_show(
    arch: str, index: int | None, shape: tuple[int, ...] | None, message: str
) -> None:
    result = layer_matrix(preset(arch), index, in_shape=shape)
    assert isinstance(result, str) and message in result
    assert "\n" not in result


def test_layer_matrix_after_a_shape_error_says_so() -> None:
    result = layer_matrix(spec_of("flatten | conv 4"))
    assert isinstance(result, str) and "needs a CxHxW input" in result
    result = layer_matrix(spec_of("linear 10 | conv 4", (1, 5, 5)))
    assert isinstance(result, str) and "earlier layer" in result


# Receptive fields


def test_simple_cnn_fields_double_with_each_stride_two_conv() -> None:
    fields = receptive_fields(preset("simple_cnn"))
    convs = [f for f in fields if f.kind == "conv"]
    assert [f.rf for f in convs] == [3, 7, 15, 31, 63]
    assert [f.jump for f in convs] == [2, 4, 8, 16, 32]
    assert [f.start for f in convs] == [0.0] * 5  # k3 p1: every field stays centred on pixel 0
    assert convs[0].coverage == 9 / 784
    assert convs[-1].coverage == 1.0  # the last conv's one unit sees the whole digit
    assert input_region(fields, 8, 0, 0, (28, 28)) == (0, 0, 28, 28)
    # rf 31 is larger than the image, but each of the 2x2 units' fields hangs off an edge.
    assert convs[3].coverage == 27 * 27 / 784
    relus = [f for f in fields if f.kind == "relu"]
    assert [(f.rf, f.jump) for f in relus] == [(f.rf, f.jump) for f in convs[:4]]
    assert (fields[-1].kind, fields[-1].rf, fields[-1].coverage, fields[-1].whole) == ("flatten", 28, 1.0, True)


def test_a_one_by_one_conv_keeps_the_field_and_pools_grow_it_like_convs() -> None:
    fields = receptive_fields(spec_of("conv 4 | conv 8 k1 | maxpool 2 | conv 8 k5 p0"))
    assert [(f.rf, f.jump, f.start) for f in fields] == [(3, 1, 0.0), (3, 1, 0.0), (4, 2, 0.5), (12, 2, 4.5)]
    assert fields[-1].coverage == 144 / 784


def test_an_mlp_sees_everything_from_the_first_layer() -> None:
    fields = receptive_fields(preset("mlp"))
    assert [(f.kind, f.rf, f.coverage, f.whole) for f in fields] == [
        ("flatten", 28, 1.0, True),
        ("linear", 28, 1.0, True),
        ("relu", 28, 1.0, True),
        ("linear", 28, 1.0, True),
    ]
    assert input_region(fields, 1, 0, 0, (28, 28)) == (0, 0, 28, 28)


def test_fields_stop_at_a_shape_error() -> None:
    fields = receptive_fields(spec_of("conv 4 | relu | linear 10 | conv 3"))
    assert [f.index for f in fields] == [0, 1]
    # On 8x8, lenet5's second conv (k5, no padding) meets a 4x4 map: its fields stop before it.
    assert [f.index for f in receptive_fields(preset("lenet5"), (1, 8, 8))] == [0, 1, 2]


def test_a_corner_unit_sees_a_clipped_box() -> None:
    fields = receptive_fields(preset("simple_cnn"))
    assert input_region(fields, 0, 0, 0, (28, 28)) == (0, 0, 2, 2)  # the 3x3 field hangs over the padding
    assert input_region(fields, 0, 5, 6, (28, 28)) == (9, 11, 12, 14)  # an inner unit: the whole 3x3
    assert input_region(fields, 4, 3, 0, (28, 28)) == (17, 0, 28, 8)
    with pytest.raises(ValueError):
        input_region(fields, 42, 0, 0, (28, 28))


def gradient_box(model: nn.Sequential, shape: tuple[int, ...], y: int, x: int) -> tuple[int, int, int, int]:
    """The bounding box of the input pixels that move one unit of the model's output."""
    inp = torch.ones(1, *shape, requires_grad=True)  # positive everywhere, so relu passes the gradient
    model(inp)[0, 0, y, x].backward()
    assert inp.grad is not None
    ys, xs = inp.grad[0].abs().sum(0).nonzero(as_tuple=True)
    return int(ys.min()), int(xs.min()), int(ys.max()) + 1, int(xs.max()) + 1


@pytest.mark.parametrize(
    "line",
    [
        "conv 2 s2 | relu | conv 2 s2 | conv 2 s2",
        "conv 2 k5 p0 | avgpool 2 | conv 2 k3 p0 | avgpool 2",
        "conv 2 k4 p1 s2 | conv 2 k1 | conv 2 k2 p0 | avgpool 3 s2 p1",
        "avgpool 2 s1 | conv 2 k3 s3 | conv 2 k5 p2",
    ],
)
def test_fields_are_where_the_gradient_reaches(line: str) -> None:
    """With positive weights and no bias, a unit's input gradient is non-zero exactly on its field."""
    shape = (2, 40, 40)
    spec = spec_of(line, shape)
    model = build_model(spec)
    with torch.no_grad():
        for module in model:
            if isinstance(module, nn.Conv2d):
                module.weight.fill_(1.0)
                module.bias.zero_()
    fields = receptive_fields(spec)
    last = fields[-1]
    out_h = budget_of(spec).rows[-1].out_shape[1]  # type: ignore[index]
    mid = out_h // 2
    y0, x0, y1, x1 = input_region(fields, last.index, mid, mid, (40, 40))
    assert (y1 - y0, x1 - x0) == (last.rf, last.rf)  # an inner unit's field fits: its size is rf
    assert gradient_box(model, shape, mid, mid) == (y0, x0, y1, x1)
    assert gradient_box(model, shape, 0, 0) == input_region(fields, last.index, 0, 0, (40, 40))


# Activations and predictions


@pytest.mark.parametrize("arch", ["simple_cnn", "mlp", "lenet5", "bn_cnn", "deep_mlp"])
def test_activations_have_the_budgets_shapes(arch: str) -> None:
    spec = preset(arch)
    model = seeded_model(spec)
    x = torch.randn(1, 28, 28, generator=torch.Generator().manual_seed(0))
    outs = activations(model, x)
    assert [tuple(a.shape) for a in outs] == [r.out_shape for r in budget_of(spec).rows]
    assert model.training  # looked at in eval mode, handed back as it was
    model.eval()
    with torch.no_grad():
        assert torch.allclose(outs[-1], model(x[None])[0])


def test_predict_gives_eval_mode_probabilities() -> None:
    model = seeded_model(preset("deep_mlp"))  # dropout: train mode would give a different answer each call
    x = torch.randn(1, 28, 28, generator=torch.Generator().manual_seed(1))
    probs = predict(model, x)
    assert probs.shape == (10,)
    assert torch.allclose(probs.sum(), torch.tensor(1.0))
    assert torch.equal(probs, predict(model, x))
    model.eval()
    with torch.no_grad():
        assert torch.allclose(probs, model(x[None])[0].softmax(0))


# Mistakes


@dataclass
class TinyDataset:
    """The slice of `tui_cnn.training.data.Dataset` the mistake views use."""

    x_val: torch.Tensor
    y_val: torch.Tensor
    num_classes: int

    def images(self, split: str) -> torch.Tensor:
        assert split == "val"
        return (self.x_val[:, 0] * 255).clamp(0, 255).to(torch.uint8)


def logit_reader(num_classes: int) -> nn.Sequential:
    """A model whose logits are the first `num_classes` pixels of the top row: predictions set by hand."""
    linear = nn.Linear(28 * 28, num_classes, bias=False)
    with torch.no_grad():
        linear.weight.zero_()
        linear.weight[:, :num_classes] = torch.eye(num_classes)
    return nn.Sequential(nn.Flatten(), linear)


def dataset_with_logits(logits: torch.Tensor, labels: list[int]) -> TinyDataset:
    x = torch.zeros(len(labels), 1, 28, 28)
    x[:, 0, 0, : logits.shape[1]] = logits
    return TinyDataset(x, torch.tensor(labels), logits.shape[1])


def test_confusion_counts_true_rows_against_predicted_columns() -> None:
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(53, 4, generator=gen)
    labels = torch.randint(0, 4, (53,), generator=gen).tolist()
    data = dataset_with_logits(logits, labels)
    expected = torch.zeros(4, 4, dtype=torch.int64)
    for true, pred in zip(labels, logits.argmax(1).tolist(), strict=True):
        expected[true, pred] += 1
    model = logit_reader(4)
    assert torch.equal(confusion(model, data, "cpu"), expected)
    assert torch.equal(confusion(model, data, batch_size=7), expected)  # batches that do not divide 53


def test_confusion_of_a_real_model_adds_up() -> None:
    model = seeded_model(preset("simple_cnn"))
    gen = torch.Generator().manual_seed(2)
    data = TinyDataset(torch.randn(300, 1, 28, 28, generator=gen), torch.randint(0, 10, (300,), generator=gen), 10)
    matrix = confusion(model, data)
    assert matrix.shape == (10, 10) and int(matrix.sum()) == 300
    assert torch.equal(matrix.sum(1), torch.bincount(data.y_val, minlength=10))
    with torch.no_grad():
        model.eval()
        right = int((model(data.x_val).argmax(1) == data.y_val).sum())
    assert int(matrix.trace()) == right


def test_worst_lists_the_surest_mistakes_first() -> None:
    logits = torch.tensor(
        [
            [5.0, 0.0, 0.0],  # 0: right, sure
            [0.0, 4.0, 0.0],  # 1: wrong (true 2), sure
            [0.0, 0.0, 1.0],  # 2: wrong (true 0), unsure
            [3.0, 0.0, 0.0],  # 3: wrong (true 1)
            [0.0, 4.0, 0.0],  # 4: wrong (true 0), as sure as 1
            [0.0, 0.0, 9.0],  # 5: right, surest of all
        ]
    )
    data = dataset_with_logits(logits, [0, 2, 0, 1, 0, 2])
    mistakes = worst(logit_reader(3), data, n=3)
    confidence = logits.softmax(1).max(1).values
    assert [(m.index, m.true, m.pred) for m in mistakes] == [(1, 2, 1), (4, 0, 1), (3, 1, 0)]
    assert mistakes[0] == Mistake(1, 2, 1, pytest.approx(float(confidence[1])))
    assert [m.confidence for m in mistakes] == pytest.approx(confidence[[1, 4, 3]].tolist())
    assert [m.index for m in worst(logit_reader(3), data, n=16, batch_size=4)] == [1, 4, 3, 2]
    assert worst(logit_reader(3), dataset_with_logits(logits[:1], [0])) == []


def test_mistakes_need_a_model_with_one_output_per_class() -> None:
    data = dataset_with_logits(torch.zeros(2, 3), [0, 1])
    with pytest.raises(ValueError, match="3 classes"):
        confusion(logit_reader(4), data)


# Templates vs kernels


def test_an_mlp_learns_whole_image_templates() -> None:
    model = seeded_model(preset("mlp"))
    result = first_layer_maps(model, preset("mlp"))
    assert not isinstance(result, str), result
    maps, params = result
    assert maps.shape == (50, 28, 28)
    assert params == 39_250 == 784 * 50 + 50
    assert torch.equal(maps[7], model[1].weight[7].detach().reshape(28, 28))


def test_a_cnn_learns_small_kernels() -> None:
    model = seeded_model(preset("simple_cnn"))
    result = first_layer_maps(model, preset("simple_cnn"))
    assert not isinstance(result, str), result
    maps, params = result
    assert maps.shape == (4, 3, 3)
    assert params == 40 == 36 + 4
    assert torch.equal(maps, model[0].weight.detach()[:, 0])
    lenet = first_layer_maps(seeded_model(preset("lenet5")), preset("lenet5"))
    assert not isinstance(lenet, str) and (lenet[0].shape, lenet[1]) == ((6, 5, 5), 156)


def test_first_layer_maps_average_channels_and_follow_pooling() -> None:
    colour = spec_of("conv 2 k3 | relu | flatten | linear 10", (3, 8, 8))
    model = seeded_model(colour)
    result = first_layer_maps(model, colour)
    assert not isinstance(result, str), result
    assert torch.allclose(result[0], model[0].weight.detach().mean(1))
    pooled = spec_of("maxpool 2 | flatten | linear 10")
    result = first_layer_maps(seeded_model(pooled), pooled)
    assert not isinstance(result, str) and result[0].shape == (10, 14, 14)  # templates on the pooled image


def test_first_layer_maps_explain_what_has_no_picture() -> None:
    flat = spec_of("linear 10", (784,))
    assert "flat features" in str(first_layer_maps(seeded_model(flat), flat))
    nothing = spec_of("flatten | relu")
    assert "no conv or linear" in str(first_layer_maps(seeded_model(nothing), nothing))
    broken = spec_of("linear 10 | conv 4")
    assert "layer 0 (linear 10): linear needs flat features" in str(first_layer_maps(nn.Sequential(), broken))


# Mistakes as colours


def test_confusion_heat_is_recall_on_the_diagonal_and_mistakes_off_it() -> None:
    counts = torch.tensor([[8, 2, 0], [1, 9, 0], [0, 4, 6]])
    heat = confusion_heat(counts)
    assert heat[0] == pytest.approx([-0.8, 0.5, 0.0])  # recall 8/10; 2 of the worst mistake's 4
    assert heat[1] == pytest.approx([0.25, -0.9, 0.0])
    assert heat[2] == pytest.approx([0.0, 1.0, -0.6])  # the most frequent mistake is the reddest
    assert confusion_heat(torch.eye(2, dtype=torch.int64) * 5) == [[-1.0, 0.0], [0.0, -1.0]]
    assert confusion_heat(torch.zeros(2, 2, dtype=torch.int64)) == [[0.0, 0.0], [0.0, 0.0]]


# The views' helpers: the seed's example, naming a cell, rebuilding a model from a snapshot


def test_the_seed_matrix_is_the_four_by_nine_with_seeded_weights() -> None:
    from tui_cnn.lessons.matrix import seed_matrix

    m = seed_matrix()
    assert m == conv_pattern((1, 3, 3), 1, 2)  # the same pattern (values are not compared)
    assert (m.cells, m.nonzeros, m.distinct) == (36, 16, 4)
    assert torch.equal(m.values, seed_matrix().values) and not torch.equal(m.values, seed_matrix(seed=1).values)
    x = torch.randn(1, 3, 3)
    torch.manual_seed(0)
    conv = nn.Conv2d(1, 1, 2)
    assert torch.allclose(m.values @ x.flatten() + m.bias, conv(x.unsqueeze(0)).flatten(), atol=1e-6)


def test_matrix_cell_names_the_unit_the_pixel_and_the_shared_weight() -> None:
    from tui_cnn.lessons.matrix import MatrixCell, matrix_cell

    seed = conv_pattern((1, 3, 3), 1, 2)
    # Row 3 is the bottom-right output; column 8 the bottom-right pixel, under weight d (index 4).
    assert matrix_cell(seed, 3, 8, 2) == MatrixCell((0, 1, 1), (0, 2, 2), (0, 0, 1, 1), 4)
    assert matrix_cell(seed, 0, 2, 2) == MatrixCell((0, 0, 0), (0, 0, 2), None, 0)
    m = conv_pattern((2, 5, 5), 3, 3, stride=2, padding=1)  # 3x3x3 outputs, 2x5x5 inputs
    weights = torch.arange(1, 3 * 2 * 3 * 3 + 1).reshape(3, 2, 3, 3)
    for row, col in [(0, 0), (13, 31), (26, 49), (9, 25), (17, 6)]:
        cell = matrix_cell(m, row, col, 3)
        index = m.pattern[row][col]
        assert cell.out == tuple(int(v) for v in torch.unravel_index(torch.tensor(row), (3, 3, 3)))
        assert cell.inp == tuple(int(v) for v in torch.unravel_index(torch.tensor(col), (2, 5, 5)))
        if index:
            assert int(weights[cell.weight]) == index
            assert cell.uses == sum(r.count(index) for r in m.pattern)
        else:
            assert (cell.weight, cell.uses) == (None, 0)
    with pytest.raises(ValueError, match="no cell"):
        matrix_cell(seed, 4, 0, 2)


@pytest.mark.parametrize("arch", ["simple_cnn", "bn_cnn", "mlp"])
def test_model_from_is_seeded_or_loads_a_state_dict_and_stays_in_eval_mode(arch: str) -> None:
    from tui_cnn.lessons.models import model_from

    spec = preset(arch)
    fresh = model_from(spec)
    assert not fresh.training
    again = model_from(spec).state_dict()
    assert all(torch.equal(a, again[k]) for k, a in fresh.state_dict().items())
    trained = seeded_model(spec, seed=7)
    rebuilt = model_from(spec, trained.state_dict())
    assert all(torch.equal(a, rebuilt.state_dict()[k]) for k, a in trained.state_dict().items())
    x = torch.randn(1, 28, 28)
    activations(rebuilt, x)
    assert not rebuilt.training  # a look leaves it as it found it: in eval mode
    assert torch.allclose(predict(rebuilt, x), predict(trained, x))


def test_a_weights_event_carries_the_whole_state_dict(mnist5k_on_device, device: str) -> None:
    from tui_cnn.lessons.models import model_from
    from tui_cnn.training.events import Weights
    from tui_cnn.training.trainer import TrainConfig, Trainer

    small = first_digits(mnist5k_on_device, 256, 64)
    spec = preset("bn_cnn")  # batch norm: its running statistics are in the state dict, not the weights
    events: list[object] = []
    config = TrainConfig(epochs=1, batch_size=64, device=device, weights_every=0)
    trainer = Trainer(spec, small, config, events.append)
    trainer.run()
    final = [e for e in events if isinstance(e, Weights)][-1]
    assert final.state_dict is not None and set(final.state_dict) == set(trainer.model.state_dict())
    assert "1.running_mean" in final.state_dict
    assert all(final.tensors[i] is final.state_dict[f"{i}.weight"] for i in final.tensors)
    x = small.x_val[0]
    tolerance = 1e-6 if device == "cpu" else 2e-3  # CUDA's TF32 matmuls round to 10 bits
    assert torch.allclose(predict(model_from(spec, final.state_dict), x), predict(trainer.model, x), atol=tolerance)
