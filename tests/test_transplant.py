"""The transplanted MLP against its CNN: the same outputs, random and trained, and clear refusals."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tui_cnn.architecture.budget import budget_of
from tui_cnn.architecture.build import build_model
from tui_cnn.architecture.local import LocallyConnected2d
from tui_cnn.architecture.presets import preset
from tui_cnn.architecture.spec import Spec, parse_line
from tui_cnn.cli import main
from tui_cnn.lessons.matrix import conv_matrix, local_matrix
from tui_cnn.lessons.transplant import TransplantError, mlp_spec, report, transplant, unrolled
from tui_cnn.store.runs import RunStore
from tui_cnn.training.config import TrainConfig
from tui_cnn.training.data import Dataset
from tui_cnn.training.trainer import Trainer


def spec_of(line: str, shape: tuple[int, ...] = (1, 28, 28)) -> Spec:
    spec = parse_line(line, input_shape=shape)
    assert isinstance(spec, Spec), spec
    return spec


def test_simple_cnn_transplanted_is_the_dense_rung() -> None:
    # simple_cnn's activations are 784, 784, 392, 256, 64 and 10 features: dense_cnn's layers.
    assert mlp_spec(preset("simple_cnn")).layers == preset("dense_cnn").layers
    assert mlp_spec(preset("local_cnn")).layers == preset("dense_cnn").layers
    line = "conv 3 k5 p0 nobias | tanh | flatten | dropout 0.1 | linear 10"
    assert mlp_spec(spec_of(line)).line() == "flatten | linear 1728 nobias | tanh | dropout 0.1 | linear 10"


@pytest.mark.parametrize(("c", "o", "h", "w", "k", "s", "p"), [(1, 1, 3, 3, 2, 1, 0), (2, 3, 5, 6, 3, 2, 1)])
def test_the_unrolled_matrix_is_the_lessons_matrix(c: int, o: int, h: int, w: int, k: int, s: int, p: int) -> None:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(c, o, k, stride=s, padding=p)
    weight, bias = unrolled(conv, (c, h, w))
    lesson = conv_matrix(conv.weight, (c, h, w), s, p, conv.bias)
    assert torch.equal(weight, lesson.values) and torch.equal(bias, lesson.bias)
    local = LocallyConnected2d(c, o, (h, w), k, stride=s, padding=p)
    weight, bias = unrolled(local, (c, h, w))
    lesson = local_matrix(local.weight, (c, h, w), k, s, p, local.bias)
    assert torch.equal(weight, lesson.values) and torch.equal(bias, lesson.bias)


NETWORKS = [
    "simple_cnn",
    "local_cnn",
    "conv 3 k5 p0 nobias | tanh | local 4 k3 s2 | relu | flatten | dropout 0.1 | linear 10",
    "local 2 k4 s3 p2 nobias | gelu | conv 5 k2 s1 p1 | sigmoid | flatten | linear 16 | relu | linear 10",
    "conv 2 s2 | relu | conv 10 k7 p0",  # no flatten: the CNN's 10xHxW against the MLP's features
]


@pytest.mark.parametrize("arch", NETWORKS)
@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 16, 16)])
def test_the_mlp_computes_the_cnns_outputs_for_random_weights(arch: str, shape: tuple[int, ...]) -> None:
    spec = preset(arch) if arch in ("simple_cnn", "local_cnn") else spec_of(arch)
    spec = Spec(spec.layers, spec.name, shape)
    assert budget_of(spec).ok
    torch.manual_seed(0)
    cnn = build_model(spec).eval()
    before = torch.random.get_rng_state()
    line, mlp = transplant(spec, cnn)
    assert torch.equal(torch.random.get_rng_state(), before)  # nothing drawn: every weight is the CNN's
    assert sum(p.numel() for p in mlp.parameters()) == budget_of(line).total_params
    x = torch.randn(16, *shape)
    with torch.no_grad():
        torch.testing.assert_close(mlp(x), cnn(x).flatten(1), rtol=0, atol=1e-4)


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("conv 8 | relu | maxpool 2 | flatten | linear 10", "layer 2 (maxpool 2): pooling is not a matrix of weights"),
        ("conv 8 s2 | bn | relu | flatten | linear 10", "layer 1 (bn): batch norm is not transplanted"),
        ("flatten | conv 4", "layer 1 (conv 4): conv needs a CxHxW input"),
    ],
)
def test_what_cannot_be_transplanted_says_why_in_one_line(line: str, words: str) -> None:
    with pytest.raises(TransplantError, match=r"^[^\n]+$") as info:
        mlp_spec(spec_of(line))
    assert str(info.value).startswith(words)


def test_an_mlp_too_large_to_build_is_refused() -> None:
    # 64x64x64 in and out: a 262,144 x 262,144 matrix, far past the budget's limit.
    with pytest.raises(TransplantError, match="the MLP would be too large"):
        mlp_spec(spec_of("conv 64 | relu | flatten | linear 10", (64, 64, 64)))


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory: pytest.TempPathFactory, mnist5k: Dataset) -> Path:
    """A store with a trained conv-and-local network and a trained pooling one."""
    root = tmp_path_factory.mktemp("runs")
    store = RunStore(root)
    for arch in ("local 4 s2 | relu | conv 8 s2 | relu | flatten | linear 10", "pool_cnn"):
        spec = preset(arch) if arch == "pool_cnn" else spec_of(arch)
        Trainer(spec, mnist5k, TrainConfig(epochs=1, seed=0, device="cpu"), store.recorder(), arch=arch).run()
    store.close()
    return root


def run_ids(runs_dir: Path) -> dict[str, str]:
    store = RunStore(runs_dir)
    try:
        return {r.arch: r.run_id for r in store.runs()}
    finally:
        store.close()


def test_a_trained_run_transplants_with_the_same_outputs_and_accuracy(runs_dir: Path, mnist5k: Dataset) -> None:
    from tui_cnn.store.compare import load_model, run_spec

    store = RunStore(runs_dir)
    record = next(r for r in store.runs() if r.arch != "pool_cnn")
    spec = run_spec(record)
    assert isinstance(spec, Spec)
    result = report(record.run_id, spec, load_model(store, record), mnist5k)
    store.close()
    assert result.max_abs_diff < 1e-4
    assert result.val_acc_mlp == result.val_acc_cnn == pytest.approx(record.final_val_acc, abs=0.002)
    assert result.params_cnn == record.params == 196 * 4 * 10 + 8 * 37 + 392 * 10 + 10
    assert result.params_mlp == (784 * 784 + 784) + (784 * 392 + 392) + (392 * 10 + 10)
    assert result.line == "flatten | linear 784 | relu | linear 392 | relu | linear 10"


def test_cli_transplant_json_and_table(runs_dir: Path) -> None:
    run_id = run_ids(runs_dir)["local 4 s2 | relu | conv 8 s2 | relu | flatten | linear 10"]
    cli = CliRunner()
    result = cli.invoke(main, ["transplant", run_id, "--runs-dir", str(runs_dir), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert set(data) == {"run_id", "params_cnn", "params_mlp", "max_abs_diff", "val_acc_cnn", "val_acc_mlp", "line"}
    assert data["run_id"] == run_id and data["max_abs_diff"] < 1e-4
    table = cli.invoke(main, ["transplant", run_id, "--runs-dir", str(runs_dir)])
    assert table.exit_code == 0, table.output
    assert f"{data['params_cnn']:,}" in table.stdout and f"{data['params_mlp']:,}" in table.stdout
    assert "largest output difference" in " ".join(table.stdout.split())


@pytest.mark.parametrize(
    ("which", "words"),
    [("pool_cnn", "layer 2 (maxpool 2): pooling is not a matrix of weights"), ("nope", "no run 'nope'")],
)
def test_cli_refuses_an_untransplantable_or_unknown_run_with_exit_2(runs_dir: Path, which: str, words: str) -> None:
    run_id = run_ids(runs_dir).get(which, which)
    result = CliRunner().invoke(main, ["transplant", run_id, "--runs-dir", str(runs_dir)])
    assert result.exit_code == 2, result.output
    assert words in result.stderr and "Traceback" not in result.output
    assert len(result.stderr.strip().splitlines()) == 1
