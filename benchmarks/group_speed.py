"""Model-samples/s of a group of N members trained in one step against one solo run.

    python benchmarks/group_speed.py                                  # cpu: 1 2 4 8 16 members
    python benchmarks/group_speed.py --device cuda --members 1 8 64 256

simple_cnn and mlp on mnist-5k at batch 64 (by default). Each round trains one solo `Trainer`
run and then each group (`GroupTrainer`, members seeded 0..N-1), in this process, so a busy
machine slows both sides alike; the rounds repeat. A run's speed is the median of its later
epochs' training throughput (the first pays one-off costs), times its members: model-samples/s.
The figures are medians over the rounds, and each group's ratio to the solo run's. Prints one
JSON line. On a CPU shared with other work, `--threads 1` keeps two busy threads from waiting
on each other.
"""

from __future__ import annotations

import argparse
import json
import statistics
from typing import Any

from tui_cnn.architecture.presets import resolve
from tui_cnn.experiments.group import GroupTrainer
from tui_cnn.training.config import TrainConfig
from tui_cnn.training.data import Dataset, load
from tui_cnn.training.devices import device_name, pick, set_torch_threads
from tui_cnn.training.events import EpochEnd, Event
from tui_cnn.training.trainer import Trainer


def _speed(epochs: list[EpochEnd]) -> float:
    later = epochs[1:] or epochs
    return statistics.median(e.samples_per_s for e in later)


def solo(arch: str, data: Dataset, config: TrainConfig) -> float:
    epochs: list[EpochEnd] = []
    ended = Trainer(resolve(arch), data, config, lambda e: epochs.append(e) if isinstance(e, EpochEnd) else None).run()
    if ended.status != "finished":
        raise SystemExit(f"solo {arch}: {ended.status}: {ended.message}")
    return _speed(epochs)


def group(arch: str, data: Dataset, config: TrainConfig, members: int) -> float:
    """The group's model-samples/s: member 0's throughput (every member's is the same) times N."""
    epochs: list[EpochEnd] = []

    def on_event(member: int, event: Event) -> None:
        if member == 0 and isinstance(event, EpochEnd):
            epochs.append(event)

    configs = [TrainConfig(**{**config.to_dict(), "seed": seed}) for seed in range(members)]
    ended = GroupTrainer(resolve(arch), data, configs, on_event).run()
    bad = [e for e in ended if e.status != "finished"]
    if bad:
        raise SystemExit(f"group of {members} {arch}: {bad[0].status}: {bad[0].message}")
    return _speed(epochs) * members


def measure(arch: str, data: Dataset, config: TrainConfig, sizes: list[int], repeat: int) -> dict[str, Any]:
    solos: list[float] = []
    groups: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(repeat):
        solos.append(solo(arch, data, config))
        for n in sizes:
            groups[n].append(group(arch, data, config, n))
    base = statistics.median(solos)
    return {
        "arch": arch,
        "solo_samples_per_s": round(base),
        "groups": [
            {
                "members": n,
                "model_samples_per_s": round(statistics.median(speeds)),
                "ratio": round(statistics.median(speeds) / base, 2),
            }
            for n, speeds in groups.items()
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dataset", default="mnist-5k")
    parser.add_argument("--archs", default="simple_cnn,mlp")
    parser.add_argument("--members", type=int, nargs="+", default=[1, 2, 4, 8, 16])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, help="torch's CPU threads (default: torch's own)")
    args = parser.parse_args()
    set_torch_threads(args.threads)
    device = pick(args.device)
    data = load(args.dataset, device=device)
    config = TrainConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        device=str(device),
        report_every=1.0,  # fewer reads of the device's sums: at most one a second
        weights_every=0.0,  # only the final snapshot
    )
    results = [measure(arch, data, config, args.members, args.repeat) for arch in args.archs.split(",")]
    print(
        json.dumps(
            {
                "device": device_name(device),
                "dataset": data.name,
                "batch_size": args.batch_size,
                "epochs": args.epochs,
                "repeat": args.repeat,
                "results": results,
            }
        )
    )


if __name__ == "__main__":
    main()
