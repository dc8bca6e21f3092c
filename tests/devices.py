"""Which device the training tests run on: `CNN_TUI_TEST_DEVICE` (cpu unless set).

    CNN_TUI_TEST_DEVICE=cuda pytest      # the trainer, data, lessons and app tests that compute, on the GPU

Tests that train, evaluate or probe take the `device` fixture (tests/conftest.py); the
rest stay on the CPU, where their figures were written down. A device this machine does
not have skips those tests with the reason; a name that is no device stops pytest at once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

VARIABLE = "CNN_TUI_TEST_DEVICE"
NAMES = re.compile(r"cpu|cuda(:\d+)?|mps")


def device_from(environ: Mapping[str, str]) -> str:
    """The device named by the variable (cpu when unset or empty); ValueError naming the variable if it is none."""
    value = environ.get(VARIABLE, "").strip().lower() or "cpu"
    if not NAMES.fullmatch(value):
        raise ValueError(f"{VARIABLE}={environ[VARIABLE]!r} is not a device: use cpu, cuda, cuda:N or mps")
    return value


def unavailable(name: str) -> str | None:
    """Why the tests cannot run on `name` here (a skip reason), or None when they can."""
    from tui_cnn.training.devices import DeviceError, pick

    try:
        pick(name)
    except DeviceError as exc:
        return f"{VARIABLE}={name}: {str(exc).split(';')[0]}"
    return None
