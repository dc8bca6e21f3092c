"""Spec -> `nn.Sequential`, and the same model as PyTorch source anyone can paste."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .budget import budget_of
from .spec import Layer, ParseError, Spec, SpecError

if TYPE_CHECKING:
    from torch import nn


Call = tuple[str, tuple, dict]  # (torch.nn class name, or LOCAL, args, kwargs)
LOCAL = "LocallyConnected2d"  # the one layer torch.nn lacks: `tui_cnn.architecture.local`'s


def _layer_call(layer: Layer, in_shape: tuple[int, ...]) -> Call:
    """The torch.nn constructor for one layer, given its input shape."""
    kind = layer.kind
    bias = {} if layer.bias else {"bias": False}
    if kind == "conv":
        kw = {"kernel_size": layer.kernel, "stride": layer.stride, "padding": layer.padding, **bias}
        return "Conv2d", (in_shape[0], layer.out), kw
    if kind == "local":  # its weights exist per output position, so it needs the input's size
        kw = {"kernel_size": layer.kernel, "stride": layer.stride, "padding": layer.padding, **bias}
        return LOCAL, (in_shape[0], layer.out, tuple(in_shape[1:])), kw
    if kind == "linear":
        return "Linear", (in_shape[0], layer.out), bias
    if kind in ("maxpool", "avgpool"):
        cls = "MaxPool2d" if kind == "maxpool" else "AvgPool2d"
        return cls, (), {"kernel_size": layer.kernel, "stride": layer.stride, "padding": layer.padding}
    if kind == "bn":
        return f"BatchNorm{2 if len(in_shape) == 3 else 1}d", (in_shape[0],), {}
    if kind == "dropout":
        return "Dropout", (), {"p": layer.p}
    cls = {"relu": "ReLU", "gelu": "GELU", "tanh": "Tanh", "sigmoid": "Sigmoid", "flatten": "Flatten"}[kind]
    return cls, (), {}


def _source(call: Call) -> str:
    cls, args, kwargs = call
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{'' if cls == LOCAL else 'nn.'}{cls}({', '.join(parts)})"


def layer_calls(spec: Spec) -> list[Call]:
    """The constructor of each layer; raises SpecError if the shapes do not fit."""
    budget = budget_of(spec)
    if budget.error:
        bad = budget.error
        raise SpecError(ParseError(f"layer {bad.index} ({bad.spec}): {bad.error}", 1, bad.spec))
    return [
        _layer_call(layer, row.in_shape) for layer, row in zip(spec.layers, budget.rows, strict=False) if row.in_shape
    ]


def sequential_source(spec: Spec, indent: str = "") -> str:
    """The `nn.Sequential(...)` expression for the spec, one layer a line with its spec as a comment."""
    body = "\n".join(
        f"{indent}    {_source(call)},  # {layer.line()}"
        for call, layer in zip(layer_calls(spec), spec.layers, strict=False)
    )
    return f"nn.Sequential(\n{body}\n{indent})"


def _local_source() -> str:
    """The locally connected layer's class as source, so exported code runs without cnn-tui."""
    import inspect

    from . import local

    return inspect.getsource(local.LocallyConnected2d)


def to_code(spec: Spec) -> str:
    """Runnable PyTorch source for the spec (prints the model and its parameter count)."""
    calls = layer_calls(spec)
    shape = ", ".join(map(str, spec.input_shape))
    if any(cls == LOCAL for cls, _, _ in calls):
        head = "import math\n\nimport torch\nimport torch.nn.functional as F\nfrom torch import nn\n\n\n"
        head += _local_source() + "\n\n"
    else:
        head = "import torch\nfrom torch import nn\n\n"
    return (
        head + f"# {spec.name}: {spec.line()}\n"
        f"model = {sequential_source(spec)}\n\n"
        'if __name__ == "__main__":\n'
        f"    x = torch.zeros(2, {shape})  # two samples: batch norm needs more than one\n"
        "    print(model)\n"
        '    print("output", tuple(model(x).shape[1:]), "params", sum(p.numel() for p in model.parameters()))\n'
    )


def build_model(spec: Spec) -> nn.Sequential:
    """The spec as an `nn.Sequential` on the CPU (PyTorch's default initialisation)."""
    from torch import nn

    from .local import LocallyConnected2d

    return nn.Sequential(
        *(
            (LocallyConnected2d if cls == LOCAL else getattr(nn, cls))(*args, **kwargs)
            for cls, args, kwargs in layer_calls(spec)
        )
    )
