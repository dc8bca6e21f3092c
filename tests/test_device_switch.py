"""The CNN_TUI_TEST_DEVICE switch: which device the training tests use, and what a bad value does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from .devices import VARIABLE, device_from, unavailable

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("value", "device"), [(None, "cpu"), ("", "cpu"), ("cpu", "cpu"), (" CUDA ", "cuda"), ("cuda:1", "cuda:1")]
)
def test_the_variable_names_the_device_and_defaults_to_the_cpu(value: str | None, device: str) -> None:
    assert device_from({} if value is None else {VARIABLE: value}) == device


@pytest.mark.parametrize("value", ["gpu", "tpu", "cuda:x", "cpu,cuda"])
def test_a_value_that_is_no_device_is_a_clear_error(value: str) -> None:
    with pytest.raises(ValueError, match=f"^{VARIABLE}='{value}' is not a device: use cpu, cuda, cuda:N or mps$"):
        device_from({VARIABLE: value})


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_an_absent_device_is_a_skip_reason() -> None:
    assert unavailable("cpu") is None
    assert unavailable("cuda") == f"{VARIABLE}=cuda: CUDA is not available on this machine"


def pytest_run(value: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, VARIABLE: value, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_pytest_stops_at_once_on_a_bad_value() -> None:
    done = pytest_run("tpu", "tests/test_budget.py")
    assert done.returncode == pytest.ExitCode.USAGE_ERROR
    assert f"ERROR: {VARIABLE}='tpu' is not a device: use cpu, cuda, cuda:N or mps" in done.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_without_cuda_the_device_tests_skip_and_the_rest_run() -> None:
    done = pytest_run("cuda", "tests/test_data.py", "-k", "to_moves or unknown_dataset", "-rs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 passed, 1 skipped" in done.stdout
    assert f"{VARIABLE}=cuda: CUDA is not available on this machine" in done.stdout
