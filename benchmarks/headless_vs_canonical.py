"""`cnn-tui train` against the PyTorch examples' MNIST pipeline, whole process, one run.

Runs both as subprocesses in alternation (same arch, data, optimizer, epochs, batch)
and prints one JSON line with the medians and their ratio:

    python benchmarks/headless_vs_canonical.py --epochs 3 --batch-size 64 --repeat 3

Also timed in the same alternation: `python -c "import torch"`, the floor under any
PyTorch process (both pipelines pay it), so the ratio can be read against it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def timed(cmd: list[str]) -> tuple[float, dict]:
    start = time.perf_counter()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return time.perf_counter() - start, json.loads(out.strip().splitlines()[-1])


def write_mnist_files(root: Path) -> None:
    """mnist-5k's split as MNIST's four raw (idx) files, which torchvision's `datasets.MNIST` reads."""
    import numpy as np

    from tui_cnn.data import load

    data = load("mnist-5k")
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for prefix, images, labels in (
        ("train", data.images("train"), data.y_train),
        ("t10k", data.images("val"), data.y_val),
    ):
        n, h, w = images.shape
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
            np.array([2051, n, h, w], dtype=">i4").tobytes() + images.numpy().tobytes()
        )
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(
            np.array([2049, n], dtype=">i4").tobytes() + labels.numpy().astype(np.uint8).tobytes()
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("arch", nargs="?", default="simple_cnn")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    common = [args.arch, "--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    ours, theirs, floor, accs = [], [], [], {"cnn-tui": [], "canonical": []}
    with tempfile.TemporaryDirectory() as runs, tempfile.TemporaryDirectory() as mnist:
        write_mnist_files(Path(mnist))
        for _ in range(args.repeat):
            t, result = timed(
                [sys.executable, "-m", "tui_cnn", "train", *common, "--device", "cpu", "--runs-dir", runs, "--json"]
            )
            ours.append(t)
            accs["cnn-tui"].append(result["val_acc"])
            t, result = timed([sys.executable, str(HERE / "canonical_mnist.py"), *common, "--root", mnist])
            theirs.append(t)
            accs["canonical"].append(result["val_acc"])
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", "import torch"], check=True)
            floor.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "benchmark": "headless_vs_canonical",
                "arch": args.arch,
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "repeat": args.repeat,
                "cnn_tui_s_median": round(statistics.median(ours), 3),
                "canonical_s_median": round(statistics.median(theirs), 3),
                "speedup": round(statistics.median(theirs) / statistics.median(ours), 2),
                "import_torch_s_median": round(statistics.median(floor), 3),
                "val_acc": {k: round(statistics.median(v), 4) for k, v in accs.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
