"""The PyTorch examples' MNIST pipeline, for comparison with `cnn-tui train`.

As in pytorch/examples mnist/main.py: a Dataset of PIL images, `ToTensor` and
`Normalize` applied per sample, `DataLoader(batch_size=64, shuffle=True)`, a test pass
each epoch with batch 1000. Same model (built from the same spec), data split,
optimizer and epochs as cnn-tui, so only the pipeline differs. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time

import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from tui_cnn.build import build_model
from tui_cnn.data import load
from tui_cnn.presets import resolve


class Digits(Dataset):
    """MNIST-style dataset: PIL images and a per-sample transform."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform: transforms.Compose) -> None:
        self.images = [Image.fromarray(img.numpy(), mode="L") for img in images]
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(self.images[i]), self.labels[i]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("arch", nargs="?", default="simple_cnn")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    torch.manual_seed(args.seed)
    data = load("mnist-5k")
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((data.mean,), (data.std,))])
    train = DataLoader(Digits(data.images("train"), data.y_train.cpu(), tf), batch_size=args.batch_size, shuffle=True)
    test = DataLoader(Digits(data.images("val"), data.y_val.cpu(), tf), batch_size=1000)
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
