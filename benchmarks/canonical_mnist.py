"""The PyTorch examples' MNIST pipeline, for comparison with `cnn-tui train`.

As in pytorch/examples mnist/main.py: torchvision's `datasets.MNIST` (a PIL image made
per sample as it is read), `ToTensor` and `Normalize((0.1307,), (0.3081,))` per sample,
`DataLoader(batch_size=64, shuffle=True)`, a test pass each epoch with batch 1000. The
data are mnist-5k's 4,000 / 1,000 split written as MNIST's raw files under `--root`
(`headless_vs_canonical.py` writes them, outside the timing); the model is built from
the same spec and trained with the same optimizer, so only the pipeline differs.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from tui_cnn.architecture.build import build_model
from tui_cnn.architecture.presets import resolve


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("arch", nargs="?", default="simple_cnn")
    parser.add_argument("--root", required=True, help="folder holding MNIST/raw/*-ubyte files")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    torch.manual_seed(args.seed)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    train = DataLoader(datasets.MNIST(args.root, train=True, transform=tf), batch_size=args.batch_size, shuffle=True)
    test = DataLoader(datasets.MNIST(args.root, train=False, transform=tf), batch_size=1000)
    model = build_model(resolve(args.arch))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    for _ in range(args.epochs):
        model.train()
        for x, y in train:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            optimizer.step()
        model.eval()
        correct = 0
        with torch.no_grad():
            for x, y in test:
                correct += (model(x).argmax(1) == y).sum().item()
    acc = correct / len(test.dataset)
    print(json.dumps({"pipeline": "canonical", "val_acc": acc, "seconds": time.perf_counter() - start}))


if __name__ == "__main__":
    main()
