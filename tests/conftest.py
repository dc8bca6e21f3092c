"""Fixtures shared by the core tests, and the device they train on (tests/devices.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import torch

from tui_cnn.training.data import Dataset, load

from .devices import device_from, unavailable
from .subsets import first_digits
from .threads import one_torch_thread


def pytest_configure(config: pytest.Config) -> None:
    """A device variable that names no device stops the session with one line, before any test."""
    try:
        device_from(os.environ)
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None


@pytest.fixture(scope="session")
def device() -> str:
    """The device the training tests run on (CNN_TUI_TEST_DEVICE, cpu by default); skips if absent here."""
    name = device_from(os.environ)
    reason = unavailable(name)
    if reason:
        pytest.skip(reason)
    return name


@pytest.fixture(scope="session")
def mnist5k() -> Dataset:
    """The offline 5,000-digit set on the CPU, parsed once for the whole session."""
    return load("mnist-5k")


@pytest.fixture(scope="session")
def mnist5k_on_device(mnist5k: Dataset, device: str) -> Dataset:
    """The same digits on the test device (the same tensors on the CPU)."""
    return mnist5k.to(device)


@pytest.fixture(scope="session")
def tiny(mnist5k: Dataset) -> Dataset:
    """256 train and 100 validation digits: 8 steps an epoch at batch 32, for tests that train many runs."""
    return first_digits(mnist5k, 256, 100)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread for the test, so that runs compared with each other sum in one order; restored after."""
    with one_torch_thread():
        yield


@pytest.fixture(scope="session", autouse=True)
def data_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The session's own data cache (also for the processes tests start), not the user's."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNN_TUI_DATA", str(tmp_path_factory.mktemp("data")))
        yield


@pytest.fixture(autouse=True)
def _threads_restored() -> Iterator[None]:
    """Each test starts with the session's torch thread count: the app's tests set it as the app does, for good."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)
