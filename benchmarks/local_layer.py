"""Which batched matmul the locally connected layer's forward should use, forward and backward.

    python benchmarks/local_layer.py [--threads 1] [--batch-size 64] [--repeat 11]

Times local_cnn's five layers (simple_cnn's geometry, each `F.unfold` then one product over
positions, ReLU between) forward and backward in one step, alternating the ways of taking
that product so a busy machine slows them alike: `bmm` of the (positions, out, C*k*k)
weights with the patches made contiguous (what `LocallyConnected2d` does), `bmm` with the
patches as a strided view, `einsum`, and a broadcast multiply and sum; simple_cnn's convs
as the reference. Checks the ways agree, then prints one JSON line of medians (ms a step).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from tui_cnn.architecture.build import build_model
from tui_cnn.architecture.local import LocallyConnected2d
from tui_cnn.architecture.presets import preset

Product = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (patches [N, CKK, L], weight [L, O, CKK]) -> [N, O, L]

PRODUCTS: dict[str, Product] = {
    "bmm_contiguous": lambda cols, w: torch.bmm(w, cols.permute(2, 1, 0).contiguous()).permute(2, 1, 0),
    "bmm_strided": lambda cols, w: torch.bmm(w, cols.permute(2, 1, 0)).permute(2, 1, 0),
    "einsum": lambda cols, w: torch.einsum("ncl,loc->nol", cols, w),
    "mul_sum": lambda cols, w: (cols.unsqueeze(1) * w.permute(1, 2, 0)).sum(2),
}


def local_forward(model: torch.nn.Sequential, product: Product, x: torch.Tensor) -> torch.Tensor:
    """local_cnn's forward with `product` in place of the layer's own."""
    h = x
    for module in model:
        if isinstance(module, LocallyConnected2d):
            cols = F.unfold(h, module.kernel_size, padding=module.padding, stride=module.stride)
            h = product(cols, module.weight).reshape(h.shape[0], module.out_channels, *module.out_size) + module.bias
        else:
            h = module(h)
    return h


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=11, help="rounds; each times 10 steps of every way")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    local, conv = build_model(preset("local_cnn")), build_model(preset("simple_cnn"))
    x = torch.randn(args.batch_size, 1, 28, 28)
    with torch.no_grad():
        reference = local(x)
        for product in PRODUCTS.values():
            torch.testing.assert_close(local_forward(local, product, x), reference)
    ways: dict[str, Callable[[], object]] = {
        name: (lambda p=p: local_forward(local, p, x).sum().backward()) for name, p in PRODUCTS.items()
    }
    ways["layer_forward"] = lambda: local(x).sum().backward()
    ways["simple_cnn_conv"] = lambda: conv(x).sum().backward()
    for fn in ways.values():
        for _ in range(5):
            fn()
    times: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.repeat):
        for name, fn in ways.items():
            start = time.perf_counter()
            for _ in range(10):
                fn()
            times[name].append((time.perf_counter() - start) / 10 * 1000)
    medians = {name: round(statistics.median(t), 3) for name, t in times.items()}
    print(
        json.dumps(
            {
                "benchmark": "local_layer",
                "batch_size": args.batch_size,
                "threads": args.threads,
                "step_ms_median": medians,
                "einsum_over_bmm_contiguous": round(medians["einsum"] / medians["bmm_contiguous"], 2),
                "repeat": args.repeat,
            }
        )
    )


if __name__ == "__main__":
    main()
