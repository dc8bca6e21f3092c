"""Fixtures shared by the core tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tui_cnn.training.data import Dataset, load


@pytest.fixture(scope="session")
def mnist5k() -> Dataset:
    """The offline 5,000-digit set on the CPU, parsed once for the whole session."""
    return load("mnist-5k")


@pytest.fixture(scope="session", autouse=True)
def data_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The session's own data cache (also for the processes tests start), not the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNN_TUI_DATA", str(tmp_path_factory.mktemp("data")))
        yield
