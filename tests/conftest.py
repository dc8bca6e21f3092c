"""Fixtures shared by the core tests."""

from __future__ import annotations

import pytest

from tui_cnn.data import Dataset, load


@pytest.fixture(scope="session")
def mnist5k() -> Dataset:
    """The offline 5,000-digit set on the CPU, parsed once for the whole session."""
    return load("mnist-5k")
