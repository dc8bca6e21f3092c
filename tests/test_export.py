"""Exports: each format reproduces its run, model.py works on its own, and a bad export is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from tui_cnn.architecture.spec import or_raise, parse_line
from tui_cnn.cli import main
from tui_cnn.store import export
from tui_cnn.store.export import ExportError, export_run, run_model, write_safetensors
from tui_cnn.store.runs import RunStore
from tui_cnn.training.data import Dataset
from tui_cnn.training.trainer import TrainConfig, Trainer

from .threads import one_torch_thread

# Batch norm (float buffers and an int64 counter) and dropout (a no-op once exported, in eval mode).
LINE = "conv 4 s2 | bn | relu | conv 8 s2 | relu | flatten | dropout 0.1 | linear 10"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, mnist5k: Dataset) -> tuple[RunStore, str]:
    """One short seeded run in its own store."""
    store = RunStore(tmp_path_factory.mktemp("runs"))
    recorder = store.recorder()
    spec = or_raise(parse_line(LINE, name="bn_cnn"))
    with one_torch_thread():
        ended = Trainer(spec, mnist5k, TrainConfig(epochs=1, device="cpu", weights_every=0), recorder).run()
    assert ended.status == "finished", ended.message
    return store, recorder.run_id


def _clean_env() -> dict[str, str]:
    """No PYTHONPATH: the exported folder must work without cnn-tui on the path."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def test_pytorch_export_runs_on_its_own_and_matches_the_run(
    trained: tuple[RunStore, str], mnist5k: Dataset, tmp_path: Path
) -> None:
    store, run_id = trained
    done = export_run(store, run_id, tmp_path, "pytorch")
    assert done.files == ("model.py", "weights.safetensors", "weights.pt")
    assert done.max_abs_diff <= export.TOLERANCE
    assert done.val_acc == pytest.approx(store.get(run_id).final_val_acc, abs=1e-3)

    torch.save(mnist5k.x_val[:200].clone(), tmp_path / "x.pt")
    for i, pixels in enumerate(mnist5k.images()[:5]):
        Image.fromarray(pixels.numpy()).save(tmp_path / f"digit{i}.png")
    script = (
        "import sys, torch\n"
        "from model import load, classify\n"
        "model = load()\n"
        "torch.save(model(torch.load('x.pt')).detach(), 'logits.pt')\n"
        "print(' '.join(classify(f'digit{i}.png', model) for i in range(5)))\n"
        "print('tui_cnn' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=_clean_env(), capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    classes, imported = result.stdout.split("\n")[:2]
    assert imported == "False"

    _, model = run_model(store, store.get(run_id), mnist5k)
    with torch.inference_mode():
        expected = model(mnist5k.x_val[:200])
        assert torch.allclose(torch.load(tmp_path / "logits.pt"), expected, atol=1e-5, rtol=0)
        from_pngs = model(mnist5k.x_val[:5]).argmax(1).tolist()  # the PNGs hold the same pixels, exactly
    assert classes.split() == [str(c) for c in from_pngs]

    command = subprocess.run(
        [sys.executable, "model.py", "digit0.png"], cwd=tmp_path, env=_clean_env(), capture_output=True, text=True
    )
    assert command.returncode == 0, command.stderr
    assert command.stdout.strip() == f"digit0.png: {from_pngs[0]}"
    assert torch.load(tmp_path / "weights.pt", weights_only=True).keys() == model.state_dict().keys()


def test_the_safetensors_file_is_what_the_safetensors_package_reads(tmp_path: Path) -> None:
    safetensors = pytest.importorskip("safetensors.torch")
    state = {"w": torch.randn(3, 2, generator=torch.Generator().manual_seed(0)), "n": torch.tensor(7)}
    (tmp_path / "ours.safetensors").write_bytes(export._safetensors_bytes(state))
    read = safetensors.load_file(str(tmp_path / "ours.safetensors"))
    assert read.keys() == state.keys() and all(torch.equal(read[k], state[k]) for k in state)


def test_model_py_reads_the_built_in_safetensors_writer_without_the_package(
    trained: tuple[RunStore, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the package both sides fall back to the format itself; they must agree on every dtype."""
    store, run_id = trained
    export_run(store, run_id, tmp_path, "pytorch")
    state = {
        "a.weight": torch.randn(4, 1, 3, 3, generator=torch.Generator().manual_seed(1)),
        "b.num_batches_tracked": torch.tensor(12),
        "c.half": torch.randn(5, generator=torch.Generator().manual_seed(2)).to(torch.bfloat16),
        "d.empty": torch.zeros(0),
    }
    path = tmp_path / "other.safetensors"
    path.write_bytes(export._safetensors_bytes(state))
    assert int.from_bytes(path.read_bytes()[:8], "little") % 8 == 0
    monkeypatch.setitem(sys.modules, "safetensors", None)  # import safetensors now raises ImportError
    monkeypatch.setitem(sys.modules, "safetensors.torch", None)
    read = export._import_file(tmp_path / "model.py", "exported_model")._read_safetensors(path)
    assert read.keys() == state.keys()
    assert all(torch.equal(read[k], state[k]) and read[k].dtype == state[k].dtype for k in state)


def test_write_safetensors_writes_a_readable_file(tmp_path: Path) -> None:
    state = {"x": torch.arange(6, dtype=torch.float32).reshape(2, 3)}
    write_safetensors(state, tmp_path / "w.safetensors")
    raw = (tmp_path / "w.safetensors").read_bytes()
    header = json.loads(raw[8 : 8 + int.from_bytes(raw[:8], "little")])
    assert header["x"]["shape"] == [2, 3] and header["x"]["dtype"] == "F32"


@pytest.mark.filterwarnings("ignore:`torch.jit:FutureWarning")
def test_torchscript_export_matches_the_run(trained: tuple[RunStore, str], mnist5k: Dataset, tmp_path: Path) -> None:
    store, run_id = trained
    done = export_run(store, run_id, tmp_path, "torchscript")
    assert done.files == ("model.ts", "model.json") and done.max_abs_diff <= export.TOLERANCE
    meta = json.loads((tmp_path / "model.json").read_text())
    assert meta["mean"] == pytest.approx(mnist5k.mean) and meta["input_shape"] == [1, 28, 28]
    loaded = torch.jit.load(str(tmp_path / "model.ts"))
    _, model = run_model(store, store.get(run_id), mnist5k)
    with torch.inference_mode():
        assert torch.allclose(loaded(mnist5k.x_val[:100]), model(mnist5k.x_val[:100]), atol=1e-5, rtol=0)


def test_onnx_export_runs_in_onnxruntime_and_matches_the_run(
    trained: tuple[RunStore, str], mnist5k: Dataset, tmp_path: Path
) -> None:
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    store, run_id = trained
    done = export_run(store, run_id, tmp_path, "onnx")
    assert done.files == ("model.onnx", "model.json") and done.max_abs_diff <= done.allowed_diff
    session = ort.InferenceSession(str(tmp_path / "model.onnx"), providers=["CPUExecutionProvider"])
    got = session.run(["logits"], {"image": mnist5k.x_val[:37].numpy()})[0]
    _, model = run_model(store, store.get(run_id), mnist5k)
    with torch.inference_mode():
        expected = model(mnist5k.x_val[:37])
    assert float((torch.from_numpy(got) - expected).abs().max()) <= export.allowed_difference(expected)


def test_the_allowed_difference_is_a_share_of_the_largest_logit() -> None:
    assert export.allowed_difference(torch.tensor([[0.1, -0.5]])) == export.TOLERANCE  # never under TOLERANCE
    assert export.allowed_difference(torch.tensor([[3.0, -20.0]])) == pytest.approx(20 * export.TOLERANCE)
    assert export.allowed_difference(torch.empty(0, 10)) == export.TOLERANCE


def test_onnx_without_its_packages_names_the_extra(
    trained: tuple[RunStore, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, run_id = trained
    find_spec = export.importlib.util.find_spec
    monkeypatch.setattr(
        export.importlib.util, "find_spec", lambda name, *a: None if name.startswith("onnx") else find_spec(name, *a)
    )
    result = CliRunner().invoke(
        main, ["export", run_id, "--format", "onnx", "--out", str(tmp_path / "o"), "--runs-dir", str(store.root)]
    )
    assert result.exit_code == 2
    assert "cnn-tui[onnx]" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_an_export_that_does_not_reproduce_the_run_is_refused(
    trained: tuple[RunStore, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, run_id = trained
    write = export._write_torchscript

    def off_by_a_little(*args: object) -> tuple:
        forward, files = write(*args)
        return (lambda x: forward(x) + 1e-3), files

    monkeypatch.setattr(export, "_write_torchscript", off_by_a_little)
    with pytest.raises(ExportError, match="differ from the run's by 0.001"):
        export_run(store, run_id, tmp_path, "torchscript")


def test_export_command_prints_the_checked_accuracy(trained: tuple[RunStore, str], tmp_path: Path) -> None:
    store, run_id = trained
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["export", run_id[:8], "--out", str(out), "--runs-dir", str(store.root)])
    assert result.exit_code == 0, result.output
    assert f"exported run {run_id} as pytorch" in result.output
    assert "val acc" in result.output and "largest logit difference" in result.output
    assert sorted(p.name for p in out.iterdir()) == ["model.py", "weights.pt", "weights.safetensors"]


@pytest.mark.parametrize(
    ("args", "words"),
    [(["nope"], "no run 'nope'"), (["RUN", "--format", "keras"], "Invalid value for '--format'")],
)
def test_export_bad_input_is_one_line_and_exit_2(
    trained: tuple[RunStore, str], args: list[str], words: str, tmp_path: Path
) -> None:
    store, run_id = trained
    args = [run_id if a == "RUN" else a for a in args]
    result = CliRunner().invoke(main, ["export", *args, "--out", str(tmp_path), "--runs-dir", str(store.root)])
    assert result.exit_code == 2 and words in result.output


def test_a_run_without_final_weights_exports_its_last_checkpoint(
    trained: tuple[RunStore, str], mnist5k: Dataset, tmp_path: Path
) -> None:
    """A run killed with kill -9 never wrote its final weights; its last epoch's checkpoint has them."""
    store, run_id = trained
    weights = store.weights_path(run_id)
    saved = weights.read_bytes()
    weights.unlink()
    try:
        done = export_run(store, run_id, tmp_path, "torchscript")
        checkpoint = store.load_checkpoint(run_id).model
        store.checkpoint_path(run_id).rename(tmp_path / "aside")
        with pytest.raises(ExportError, match="no saved weights"):
            export_run(store, run_id, tmp_path, "torchscript")
    finally:
        weights.write_bytes(saved)
        if (tmp_path / "aside").exists():
            (tmp_path / "aside").rename(store.checkpoint_path(run_id))
    _, model = run_model(store, store.get(run_id), mnist5k)
    assert done.max_abs_diff <= export.TOLERANCE
    assert all(torch.equal(checkpoint[k], v) for k, v in model.state_dict().items())
