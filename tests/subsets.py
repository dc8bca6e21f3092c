"""Small slices of a dataset, for tests that train many short runs."""

from __future__ import annotations

import dataclasses

from tui_cnn.training.data import Dataset


def first_digits(data: Dataset, train: int, val: int | None = None) -> Dataset:
    """The first `train` training digits and the first `val` validation ones (all of them if None)."""
    return dataclasses.replace(
        data, x_train=data.x_train[:train], y_train=data.y_train[:train], x_val=data.x_val[:val], y_val=data.y_val[:val]
    )
