"""A run's model taken out of cnn-tui: standalone PyTorch source, ONNX or TorchScript.

Every export is read back and run on the validation set before it is reported: its
logits must equal the stored model's to `TOLERANCE` of the largest logit, so a file that loads but computes
something else never leaves here as a success. The exported models take normalised
images, as the run saw them; the mean and std travel with them (in `model.py`, or in
`model.json` beside the ONNX and TorchScript files).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import json
import struct
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..architecture.build import build_model, sequential_source
from ..architecture.spec import Spec, parse_line

if TYPE_CHECKING:
    import torch
    from torch import nn

    from ..training.data import Dataset
    from .runs import RunRecord, RunStore

FORMATS = ("pytorch", "onnx", "torchscript")
# Of the largest logit's size (at least 1): kernels that sum in another order differ by float
# rounding that grows with the logits, and onnxruntime's on an AVX-512 Xeon differed by 1.1e-5
# from logits near 10; an export that computes something else is off by far more.
TOLERANCE = 1e-5
ONNX_EXTRA = "onnx"
BATCH = 2000

# safetensors' dtype names for the tensors a cnn-tui state dict holds.
_SAFETENSORS_DTYPES = {"F32": "float32", "F64": "float64", "F16": "float16", "BF16": "bfloat16", "I64": "int64"}


class ExportError(Exception):
    """The run cannot be exported, or its export did not reproduce the run; the message says which."""


@dataclass(frozen=True)
class Exported:
    """What an export wrote and how closely it reproduces the run on the validation set."""

    run_id: str
    format: str
    out: Path
    files: tuple[str, ...]
    val_acc: float  # the exported model's, on the run's validation split
    run_val_acc: float | None  # the store's record of the run's last epoch
    max_abs_diff: float  # largest |exported - stored| logit over the validation split
    allowed_diff: float  # the most it could have been: TOLERANCE of the largest stored logit


def allowed_difference(expected: torch.Tensor) -> float:
    """The largest logit difference an export may show against the run's `expected` logits."""
    return TOLERANCE * max(1.0, float(expected.abs().max()) if len(expected) else 0.0)


def write_safetensors(state: dict[str, torch.Tensor], path: Path) -> None:
    """The state dict in the safetensors format: no pickle, so loading it cannot run code.

    Uses the safetensors package when it is installed; otherwise writes the format itself
    (an 8-byte little-endian header length, a JSON header of dtype, shape and byte offsets,
    then the raw little-endian tensor bytes), which the package reads back the same.
    """
    try:
        from safetensors.torch import save_file
    except ImportError:
        path.write_bytes(_safetensors_bytes(state))
        return
    save_file({k: v.detach().cpu().contiguous() for k, v in state.items()}, str(path))


def _safetensors_bytes(state: dict[str, torch.Tensor]) -> bytes:
    import torch

    names = {torch_name: code for code, torch_name in _SAFETENSORS_DTYPES.items()}
    header: dict[str, Any] = {}
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(state):
        tensor = state[name].detach().cpu().contiguous()
        dtype = str(tensor.dtype).removeprefix("torch.")
        if dtype not in names:
            raise ExportError(f"cannot write {name} ({dtype}) as safetensors")
        raw = tensor.reshape(-1).view(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": names[dtype], "shape": list(tensor.shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the package aligns the data to 8 bytes
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


_MODEL_PY = '''\
"""{title}

Exported by cnn-tui from run {run_id} ({dataset}, validation accuracy {acc}).
It needs only torch (and Pillow to read image files):

    python model.py digit.png          # prints the class
    from model import load, classify   # load() -> the model in eval mode

The model takes images normalised as the run saw them: pixels in [0, 1], minus MEAN,
over STD. `preprocess` does that for a grey {h}x{w} image (white on black, like MNIST).
"""

import json
import sys
from pathlib import Path

import torch
from torch import nn

MEAN = {mean!r}  # of the training pixels in [0, 1]
STD = {std!r}
CLASSES = {classes!r}
INPUT_SHAPE = {shape!r}
WEIGHTS = Path(__file__).with_name("weights.safetensors")
_DTYPES = {dtypes!r}


def build() -> nn.Sequential:
    """{line}"""
    return {sequential}


def _read_safetensors(path: Path) -> dict:
    """The state dict in `path`, with the safetensors package when present, else read directly."""
    try:
        from safetensors.torch import load_file
    except ImportError:
        data = Path(path).read_bytes()
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + size])
        header.pop("__metadata__", None)
        body = data[8 + size :]
        state = {{}}
        for name, info in header.items():
            start, end = info["data_offsets"]
            dtype = getattr(torch, _DTYPES[info["dtype"]])
            raw = bytearray(body[start:end])
            flat = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
            state[name] = flat.reshape(info["shape"])
        return state
    return load_file(str(path))


def load(path: "str | Path" = WEIGHTS) -> nn.Sequential:
    """The trained model on the CPU, in eval mode."""
    model = build()
    model.load_state_dict(_read_safetensors(Path(path)))
    return model.eval()


def preprocess(image: "str | Path | object") -> torch.Tensor:
    """A file name or a PIL image as a [1, C, H, W] batch the model expects."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.open(image)
    channels, height, width = INPUT_SHAPE
    image = image.convert("L" if channels == 1 else "RGB").resize((width, height))
    pixels = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).float() / 255.0
    pixels = pixels.reshape(height, width, channels).permute(2, 0, 1)
    return ((pixels - MEAN) / STD).unsqueeze(0)


@torch.inference_mode()
def classify(image: "str | Path | object", model: "nn.Module | None" = None) -> str:
    """The class the model gives the image."""
    model = model if model is not None else load()
    return CLASSES[int(model(preprocess(image)).argmax(1))]


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: python model.py IMAGE...")
    trained = load()
    for name in sys.argv[1:]:
        print(f"{{name}}: {{classify(name, trained)}}")
'''


def model_source(spec: Spec, record: RunRecord, data: Dataset) -> str:
    """The standalone `model.py` for a run: its layers, its normalisation, a loader and a classifier."""
    c, h, w = data.input_shape
    acc = f"{record.final_val_acc * 100:.1f}%" if record.final_val_acc is not None else "unknown"
    return _MODEL_PY.format(
        title=f"{record.arch}: {spec.line()}" if record.arch != spec.line() else spec.line(),
        run_id=record.run_id,
        dataset=record.dataset,
        acc=acc,
        h=h,
        w=w,
        mean=data.mean,
        std=data.std,
        classes=tuple(data.classes),
        shape=(c, h, w),
        dtypes=_SAFETENSORS_DTYPES,
        line=spec.line(),
        sequential=sequential_source(spec, indent="    "),
    )


def _stored_state(store: RunStore, run_id: str) -> dict[str, torch.Tensor]:
    """The run's final weights, else (a run killed with kill -9 has none) its last checkpoint's."""
    from .runs import StoreError

    try:
        return store.load_weights(run_id)
    except StoreError as exc:
        try:
            return store.load_checkpoint(run_id).model
        except StoreError:
            raise ExportError(str(exc)) from exc


def run_model(store: RunStore, record: RunRecord, data: Dataset) -> tuple[Spec, nn.Sequential]:
    """The run's architecture with its stored weights, on the CPU in eval mode."""
    spec = parse_line(record.line, name=record.arch, input_shape=data.input_shape)
    if not isinstance(spec, Spec):
        raise ExportError(f"run {record.run_id}'s architecture no longer parses: {spec}")
    model = build_model(spec)
    try:
        model.load_state_dict(_stored_state(store, record.run_id))
    except RuntimeError as exc:  # a state dict of another shape
        raise ExportError(f"run {record.run_id}'s weights do not fit its architecture: {exc}") from exc
    return spec, model.eval()


def _logits(forward: Any, x: torch.Tensor) -> torch.Tensor:
    import torch

    with torch.inference_mode():
        return torch.cat([torch.as_tensor(forward(x[i : i + BATCH])) for i in range(0, len(x), BATCH)])


def _need_onnx() -> None:
    missing = [name for name in ("onnx", "onnxruntime") if importlib.util.find_spec(name) is None]
    if missing:
        raise ExportError(
            f"ONNX export needs {' and '.join(missing)}: install the {ONNX_EXTRA!r} extra,"
            f" pip install 'cnn-tui[{ONNX_EXTRA}]'"
        )


def _import_file(path: Path, name: str) -> Any:
    """A generated module imported from its file, without leaving it in sys.modules."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    finally:
        sys.modules.pop(name, None)
    return module


def _write_pytorch(out: Path, spec: Spec, model: nn.Module, record: RunRecord, data: Dataset) -> tuple[Any, list]:
    import torch

    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    (out / "model.py").write_text(model_source(spec, record, data), encoding="utf-8")
    write_safetensors(state, out / "weights.safetensors")
    buffer = io.BytesIO()
    torch.save(state, buffer)
    (out / "weights.pt").write_bytes(buffer.getvalue())
    exported = _import_file(out / "model.py", f"_cnn_tui_export_{record.run_id.replace('-', '_')}")
    return exported.load(out / "weights.safetensors"), ["model.py", "weights.safetensors", "weights.pt"]


def _metadata(record: RunRecord, data: Dataset, spec: Spec) -> str:
    return json.dumps(
        {
            "run_id": record.run_id,
            "arch": record.arch,
            "line": spec.line(),
            "dataset": record.dataset,
            "input_shape": list(data.input_shape),
            "mean": data.mean,
            "std": data.std,
            "classes": list(data.classes),
            "input": "images in [0, 1], minus mean, over std",
        },
        indent=2,
    )


def _write_onnx(out: Path, model: nn.Module, data: Dataset) -> tuple[Any, list]:
    import numpy as np
    import onnxruntime
    import torch

    path = out / "model.onnx"
    example = data.x_val[:2].cpu()
    with warnings.catch_warnings():  # the legacy exporter warns that it is legacy; it needs no onnxscript
        warnings.simplefilter("ignore")
        kwargs: dict[str, Any] = {"dynamo": False} if "dynamo" in _parameters(torch.onnx.export) else {}
        torch.onnx.export(
            model,
            (example,),
            str(path),
            input_names=["image"],
            output_names=["logits"],
            dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
            **kwargs,
        )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    forward = lambda x: session.run(["logits"], {"image": np.ascontiguousarray(x.numpy())})[0]
    return (lambda x: torch.from_numpy(forward(x))), ["model.onnx"]


def _write_torchscript(out: Path, model: nn.Module, data: Dataset) -> tuple[Any, list]:
    import torch

    jit = getattr(torch, "jit", None)
    if jit is None or not hasattr(jit, "trace"):
        raise ExportError(f"this torch ({torch.__version__}) has no TorchScript; export as pytorch or onnx")
    path = out / "model.ts"
    with warnings.catch_warnings():  # torch >= 2.9 marks TorchScript deprecated; it still saves and loads
        warnings.simplefilter("ignore")
        traced = jit.trace(model, data.x_val[:2].cpu())
        jit.save(traced, str(path))
        loaded = jit.load(str(path), map_location="cpu").eval()
    return loaded, ["model.ts"]


def _parameters(fn: Any) -> set[str]:
    import inspect

    try:
        return set(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        return set()


def export_run(
    store: RunStore, run_id: str, out: Path, fmt: str = "pytorch", data_dir: Path | str | None = None
) -> Exported:
    """Export run `run_id` into folder `out` and check it against the run on the validation set."""
    import torch

    from ..training.data import DataError, load

    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r} (use {', '.join(FORMATS)})")
    record = store.get(run_id)
    if record is None:
        raise ExportError(f"no run {run_id!r} in {store.root}")
    if fmt == "onnx":
        _need_onnx()
    try:
        data = load(record.dataset, data_dir, device="cpu")
    except DataError as exc:
        raise ExportError(str(exc)) from exc
    spec, model = run_model(store, record, data)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot write to {out}: {exc.strerror or exc}") from exc
    spec = dataclasses.replace(spec, input_shape=data.input_shape)
    expected = _logits(model, data.x_val)
    try:
        if fmt == "pytorch":
            forward, files = _write_pytorch(out, spec, model, record, data)
        elif fmt == "onnx":
            forward, files = _write_onnx(out, model, data)
        else:
            forward, files = _write_torchscript(out, model, data)
        if fmt != "pytorch":
            (out / "model.json").write_text(_metadata(record, data, spec) + "\n", encoding="utf-8")
            files.append("model.json")
    except OSError as exc:
        raise ExportError(f"cannot write to {out}: {exc.strerror or exc}") from exc
    got = _logits(forward, data.x_val).float()
    diff = float((got - expected).abs().max()) if len(expected) else 0.0
    allowed = allowed_difference(expected)
    if not diff <= allowed:
        raise ExportError(f"the {fmt} export's outputs differ from the run's by {diff:.2g} (more than {allowed:.2g})")
    accuracy = float((got.argmax(1) == data.y_val).to(torch.float64).mean()) if len(got) else 0.0
    return Exported(record.run_id, fmt, out, tuple(files), accuracy, record.final_val_acc, diff, allowed)
