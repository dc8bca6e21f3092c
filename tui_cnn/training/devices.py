"""Which device to train on, its human name, and cheap live stats for the UI.

`stats` runs once a second on the UI's clock, so it only asks the driver what it
already knows (allocator counters, NVML) and never synchronises the device.
"""

from __future__ import annotations

import os
import resource
import sys
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import torch


class DeviceError(Exception):
    """The requested device is unknown or not available here."""


@dataclass(frozen=True)
class DeviceStats:
    name: str
    kind: str  # "cuda" | "mps" | "cpu"
    mem_used: int | None  # bytes: this process's allocator on a GPU, its resident set on the CPU
    mem_total: int | None  # bytes
    util: float | None  # percent busy (NVML), None where unknown


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps and mps.is_available())


def pick(name: str | torch.device = "auto") -> torch.device:
    """`auto` (cuda, then mps, then cpu) or an explicit device that must exist here."""
    if isinstance(name, torch.device):
        name = str(name)
    text = name.strip().lower()
    if text == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    try:
        device = torch.device(text)
    except RuntimeError:
        raise DeviceError(f"unknown device {name!r}; use auto, cuda, cuda:N, mps or cpu") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("CUDA is not available on this machine; use --device cpu or auto")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise DeviceError(f"there is no {device} here ({count} CUDA device{'s' if count != 1 else ''})")
    elif device.type == "mps":
        if not _mps_available():
            raise DeviceError("Apple MPS is not available on this machine; use --device cpu or auto")
    elif device.type != "cpu":
        raise DeviceError(f"unsupported device {name!r}; use auto, cuda, mps or cpu")
    return device


def pick_many(text: str) -> list[torch.device]:
    """A sweep's devices: one (as `pick`), a comma-separated list (`cuda:0,cuda:1`), or `all`.

    `all` is every visible CUDA device; on a machine without CUDA it is the one device `auto`
    picks, so a script that says `all` runs anywhere. A device may repeat: `cpu,cpu` overlaps
    two small groups on a many-core CPU (and is how the tests run groups at once without a GPU).
    """
    if text.strip().lower() == "all":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return [torch.device("cuda", i) for i in range(count)] or [pick("auto")]
    entries = [part.strip() for part in text.split(",")]
    if not any(entries):
        raise DeviceError("no device given; use auto, cpu, cuda:N, a list such as cuda:0,cuda:1, or all")
    if "" in entries:
        raise DeviceError(f"an empty entry in the device list {text!r}; separate the devices by single commas")
    if len(entries) > 1 and "all" in (e.lower() for e in entries):
        raise DeviceError(f"all stands alone, not in a list ({text!r})")
    return [pick(entry) for entry in entries]


def device_name(device: torch.device | str) -> str:
    """A name for people: "NVIDIA H100 80GB HBM3", "Apple MPS", "CPU (2 threads)"."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple MPS"
    threads = torch.get_num_threads()
    return f"CPU ({threads} thread{'s' if threads != 1 else ''})"


def set_torch_threads(n: int | None) -> None:
    """Size torch's intra-op pool (None leaves it), so the UI keeps a core on small machines."""
    if n is not None:
        torch.set_num_threads(max(1, int(n)))


TRAINING_NICE = 10  # the app's training thread: the UI thread outweighs it about 10 to 1 when both want the CPU


def lower_thread_priority(nice: int = TRAINING_NICE) -> bool:
    """Lower the calling thread's CPU priority by `nice` (Linux, where priority is per thread).

    The app's UI thread then runs as soon as it has work (a key, a paint) and the training
    thread takes every cycle the UI leaves: the same work done, without a key waiting for
    the scheduler to get round to the UI (benchmarks/app_overhead.py, on one core and `--slow`).
    Returns whether the priority was lowered (False elsewhere, or where it may not be).
    """
    if not sys.platform.startswith("linux"):
        return False  # macOS and the BSDs apply it to the whole process
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, os.getpriority(os.PRIO_PROCESS, tid) + nice)
    except OSError:
        return False
    return True


def _rss() -> int | None:
    """This process's resident memory in bytes (peak RSS where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if os.uname().sysname == "Darwin" else peak * 1024


@cache
def _nvml_handle(index: int) -> Any:
    """The NVML handle of torch's CUDA device `index`, or None without nvidia-ml-py."""
    try:
        import pynvml

        pynvml.nvmlInit()
    except Exception:  # noqa: BLE001 - no NVML (not installed, no driver, a container) just means no utilisation
        return None
    try:
        # By PCI address: torch's index and NVML's differ under CUDA_VISIBLE_DEVICES.
        props = torch.cuda.get_device_properties(index)
        pci = f"{props.pci_domain_id:08x}:{props.pci_bus_id:02x}:{props.pci_device_id:02x}.0"
        return pynvml.nvmlDeviceGetHandleByPciBusId(pci.encode())
    except Exception:  # noqa: BLE001 - an older torch or driver: NVML's order is usually torch's
        try:
            return pynvml.nvmlDeviceGetHandleByIndex(index)
        except Exception:  # noqa: BLE001
            return None


def _util(index: int) -> float | None:
    handle = _nvml_handle(index)
    if handle is None:
        return None
    try:
        import pynvml

        return float(pynvml.nvmlDeviceGetUtilizationRates(handle).gpu)
    except Exception:  # noqa: BLE001 - a transient NVML error shows as unknown
        return None


def _nvml_total(index: int) -> int | None:
    """The card's memory in bytes from NVML (no CUDA call, so none from the UI thread), or None."""
    handle = _nvml_handle(index)
    if handle is None:
        return None
    try:
        import pynvml

        return int(pynvml.nvmlDeviceGetMemoryInfo(handle).total)
    except Exception:  # noqa: BLE001 - unknown, and the caller asks CUDA instead
        return None


def stats(device: torch.device | str) -> DeviceStats:
    """Memory and utilisation now; fields the platform cannot tell cheaply are None.

    On CUDA the memory used is this process's allocator (what the run holds, not the other
    processes on the card); the total and the utilisation come from NVML when nvidia-ml-py is
    installed (the `gpu` extra), else the total from CUDA and no utilisation.
    """
    device = torch.device(device)
    if device.type == "cuda":
        index = device.index if device.index is not None else torch.cuda.current_device()
        total = _nvml_total(index) or torch.cuda.mem_get_info(index)[1]
        used = torch.cuda.memory_reserved(index)
        return DeviceStats(torch.cuda.get_device_name(index), "cuda", used, total, _util(index))
    if device.type == "mps":
        used = torch.mps.current_allocated_memory() if hasattr(torch, "mps") else None
        return DeviceStats("Apple MPS", "mps", used, None, None)
    return DeviceStats(device_name(device), "cpu", _rss(), None, None)


def usage_line(s: DeviceStats) -> str:
    """The Training pane's line for a GPU while it trains: "mem 3.0/80.0 GiB  util 55%", or what is known."""
    parts = []
    if s.mem_used is not None and s.mem_total:
        parts.append(f"mem {s.mem_used / 2**30:.1f}/{s.mem_total / 2**30:.1f} GiB")
    if s.util is not None:
        parts.append(f"util {s.util:.0f}%")
    return "  ".join(parts)
