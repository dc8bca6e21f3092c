"""The GPU figures the Training pane shows: read through NVML when it is there, nothing when it is not."""

from __future__ import annotations

import sys
import types

import pytest

from tui_cnn.training import devices
from tui_cnn.training.devices import DeviceStats, usage_line


@pytest.mark.parametrize(
    ("stats", "line"),
    [
        (DeviceStats("H100", "cuda", 3 << 30, 80 << 30, 55.0), "mem 3.0/80.0 GiB  util 55%"),
        (DeviceStats("H100", "cuda", 3 << 30, 80 << 30, None), "mem 3.0/80.0 GiB"),
        (DeviceStats("H100", "cuda", None, None, 99.6), "util 100%"),
        (DeviceStats("CPU (2 threads)", "cpu", 600 << 20, None, None), ""),
    ],
)
def test_the_usage_line_says_what_is_known(stats: DeviceStats, line: str) -> None:
    assert usage_line(stats) == line


class Figures:
    def __init__(self, **values: float) -> None:
        self.__dict__.update(values)


def fake_nvml(fail: bool = False) -> types.ModuleType:
    """nvidia-ml-py's calls that devices.py makes, answering as one card would (or failing as a broken driver)."""
    nvml = types.ModuleType("pynvml")

    def handle_by_pci(pci: bytes) -> str:
        raise RuntimeError("NVML_ERROR_NOT_FOUND")  # torch has no CUDA here: the index is asked next

    def answer(value: Figures):
        def call(handle: str) -> Figures:
            if fail or handle != "card 0":
                raise RuntimeError("NVML_ERROR_GPU_IS_LOST")
            return value

        return call

    nvml.nvmlInit = lambda: None
    nvml.nvmlDeviceGetHandleByPciBusId = handle_by_pci
    nvml.nvmlDeviceGetHandleByIndex = lambda index: f"card {index}"
    nvml.nvmlDeviceGetUtilizationRates = answer(Figures(gpu=55, memory=20))
    nvml.nvmlDeviceGetMemoryInfo = answer(Figures(total=80 << 30, used=4 << 30, free=76 << 30))
    return nvml


@pytest.fixture
def nvml(monkeypatch: pytest.MonkeyPatch):
    """Install a stand-in for pynvml (or None: not installed), with the handle cache empty before and after."""

    def install(module: types.ModuleType | None) -> None:
        monkeypatch.setitem(sys.modules, "pynvml", module)
        devices._nvml_handle.cache_clear()

    yield install
    devices._nvml_handle.cache_clear()


def test_utilisation_and_total_memory_come_from_nvml(nvml) -> None:
    nvml(fake_nvml())
    assert devices._util(0) == 55.0 and devices._nvml_total(0) == 80 << 30


def test_without_nvidia_ml_py_there_is_no_utilisation(nvml) -> None:
    nvml(None)  # `import pynvml` raises ImportError
    assert devices._util(0) is None and devices._nvml_total(0) is None


def test_an_nvml_error_reads_as_unknown(nvml) -> None:
    nvml(fake_nvml(fail=True))
    assert devices._util(0) is None and devices._nvml_total(0) is None
