"""Epoch time and samples/s of simple_cnn and mlp at batch 64 and 512, on the chosen device.

    python benchmarks/gpu_epoch.py                       # auto device (cuda if present), full MNIST
    python benchmarks/gpu_epoch.py --amp --compile       # bf16 autocast and torch.compile (CUDA)
    python benchmarks/gpu_epoch.py --cuda-graphs         # each step one replayed CUDA graph
    python benchmarks/gpu_epoch.py --dataset mnist-5k --train-size 60000   # mnist-5k's 4,000 tiled 15 times
    python benchmarks/gpu_epoch.py --device cpu --epochs 2

The core `Trainer` as `cnn-tui train` runs it, in this process, one run per
(architecture, batch size), with the data loaded once on the device. Full MNIST
(60,000 training images) when it is in the cache (`cnn-tui data fetch mnist`), else
mnist-5k (4,000), which the JSON says. The first epoch pays one-off costs (cuDNN
autotuning, compilation), so the figures are the median of the later epochs: train
samples/s (the trainer's own, training steps only), and the time of a 60,000-image
epoch at that speed, whatever the set. On a CPU, --amp and --compile are ignored with
a note, as in the app. `--train-size` repeats the training split until it has that many
images (real digits, each seen several times an epoch), for full-size epochs without the
download. A run that does not finish is a row with its status, not the end of the script.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
from typing import Any

from tui_cnn.architecture.presets import resolve
from tui_cnn.training.data import DataError, Dataset, load
from tui_cnn.training.devices import device_name, pick
from tui_cnn.training.events import EpochEnd
from tui_cnn.training.trainer import TrainConfig, Trainer

FULL_EPOCH = 60_000  # images in a full MNIST epoch


def tiled(data: Dataset, size: int) -> Dataset:
    """The training split repeated (and cut) to `size` images; validation as it was."""
    reps = math.ceil(size / len(data.x_train))
    if reps <= 1:
        return data
    x = data.x_train.repeat(reps, 1, 1, 1)[:size]
    y = data.y_train.repeat(reps)[:size]
    return dataclasses.replace(data, x_train=x, y_train=y)


def measure(arch: str, data: Any, config: TrainConfig) -> dict[str, Any]:
    epochs: list[EpochEnd] = []
    ended = Trainer(resolve(arch), data, config, lambda e: epochs.append(e) if isinstance(e, EpochEnd) else None).run()
    if ended.status != "finished" or not epochs:
        return {"arch": arch, "batch_size": config.batch_size, "status": ended.status, "notes": ended.message}
    later = epochs[1:] or epochs
    speed = statistics.median(e.samples_per_s for e in later)
    return {
        "arch": arch,
        "batch_size": config.batch_size,
        "status": ended.status,
        "samples_per_s": round(speed),
        "full_epoch_s": round(FULL_EPOCH / speed, 3),
        "first_epoch_s": round(epochs[0].seconds, 3),
        "epoch_s_median": round(statistics.median(e.seconds for e in later), 3),  # with the validation pass
        "val_acc": round(ended.final_val_acc or 0.0, 4),
        "notes": ended.message,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto")
    parser.add_argument("--dataset", default="mnist", help="falls back to mnist-5k when absent")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--amp", action="store_true")
    parser.add_argument("--compile", action="store_true")
    parser.add_argument("--cuda-graphs", action="store_true", help="each training step one replayed CUDA graph")
    parser.add_argument("--train-size", type=int, help="repeat the training split to this many images")
    parser.add_argument("--archs", default="simple_cnn,mlp")
    parser.add_argument("--batch-sizes", default="64,512")
    args = parser.parse_args()
    device = pick(args.device)
    try:
        data, fallback = load(args.dataset, device=device), None
    except DataError as exc:
        data, fallback = load("mnist-5k", device=device), f"{exc}; measured on mnist-5k instead"
    source_size = len(data.x_train)
    if args.train_size:
        data = tiled(data, args.train_size)
    results = []
    for arch in args.archs.split(","):
        for batch in (int(b) for b in args.batch_sizes.split(",")):
            config = TrainConfig(
                epochs=args.epochs,
                batch_size=batch,
                device=str(device),
                amp=args.amp,
                compile=args.compile,
                cuda_graphs=args.cuda_graphs,
                report_every=1.0,  # fewer reads of the device's sums: at most one a second
                weights_every=0.0,  # only the final snapshot
            )
            results.append(measure(arch, data, config))
    print(
        json.dumps(
            {
                "benchmark": "gpu_epoch",
                "device": device_name(device),
                "dataset": data.name,
                **({"dataset_note": fallback} if fallback else {}),
                "train_size": len(data.x_train),
                "tiled_from": source_size if len(data.x_train) != source_size else None,
                "epochs": args.epochs,
                "amp": args.amp,
                "compile": args.compile,
                "cuda_graphs": args.cuda_graphs,
                "runs": results,
            }
        )
    )


if __name__ == "__main__":
    main()
