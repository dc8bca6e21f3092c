"""`cnn-tui train` against the PyTorch examples' MNIST pipeline, whole process, one run.

Runs both as subprocesses in alternation (same arch, data, optimizer, epochs, batch)
and prints one JSON line with the medians and their ratio for each epoch count:

    python benchmarks/headless_vs_canonical.py --epochs 3 14 --batch-size 64 --repeat 3

14 is the examples' own default. With two or more epoch counts, `per_epoch` is the
cost of one more epoch (the slope between the fewest and the most) and its ratio,
which the whole-process ratio approaches as runs get longer. Also timed in the same
alternation: `python -c "import torch"`, the floor under any PyTorch process (both
pipelines pay it), so the ratios can be read against it.
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

    from tui_cnn.training.data import load

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
    parser.add_argument("--epochs", type=int, nargs="+", default=[3, 14])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    results, floor = [], []
    with tempfile.TemporaryDirectory() as runs, tempfile.TemporaryDirectory() as mnist:
        write_mnist_files(Path(mnist))
        for epochs in args.epochs:
            common = [args.arch, "--epochs", str(epochs), "--batch-size", str(args.batch_size)]
            ours, theirs, accs = [], [], {"cnn-tui": [], "canonical": []}
            for _ in range(args.repeat):
                cmd = [sys.executable, "-m", "tui_cnn", "train", *common, "--device", "cpu", "--runs-dir", runs]
                t, result = timed([*cmd, "--json"])
                ours.append(t)
                accs["cnn-tui"].append(result["val_acc"])
                t, result = timed([sys.executable, str(HERE / "canonical_mnist.py"), *common, "--root", mnist])
                theirs.append(t)
                accs["canonical"].append(result["val_acc"])
                start = time.perf_counter()
                subprocess.run([sys.executable, "-c", "import torch"], check=True)
                floor.append(time.perf_counter() - start)
            results.append(
                {
                    "epochs": epochs,
                    "cnn_tui_s_median": round(statistics.median(ours), 3),
                    "canonical_s_median": round(statistics.median(theirs), 3),
                    "speedup": round(statistics.median(theirs) / statistics.median(ours), 2),
                    "val_acc": {k: round(statistics.median(v), 4) for k, v in accs.items()},
                }
            )
    report = {
        "benchmark": "headless_vs_canonical",
        "arch": args.arch,
        "batch_size": args.batch_size,
        "repeat": args.repeat,
        "results": results,
        "import_torch_s_median": round(statistics.median(floor), 3),
    }
    first, last = min(results, key=lambda r: r["epochs"]), max(results, key=lambda r: r["epochs"])
    if last["epochs"] > first["epochs"]:
        span = last["epochs"] - first["epochs"]
        ours_epoch = (last["cnn_tui_s_median"] - first["cnn_tui_s_median"]) / span
        theirs_epoch = (last["canonical_s_median"] - first["canonical_s_median"]) / span
        report["per_epoch"] = {
            "cnn_tui_s": round(ours_epoch, 4),
            "canonical_s": round(theirs_epoch, 4),
            "speedup": round(theirs_epoch / ours_epoch, 2),
        }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
