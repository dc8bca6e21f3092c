"""The optimizers: torch's private fused kernels when they check out, `torch.optim` when not, and state that resumes."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from tui_cnn.architecture.presets import preset
from tui_cnn.cli.commands import main
from tui_cnn.training import optimizers
from tui_cnn.training.data import Dataset
from tui_cnn.training.trainer import TrainConfig, Trainer

from .subsets import first_digits
from .threads import one_torch_thread

KERNELS = {"adam": "_fused_adam_", "adamw": "_fused_adamw_", "sgd": "_fused_sgd_"}
CASES = [(name, kernel) for name, kernel in KERNELS.items()] + [("adam", "_foreach_add_"), ("adamw", "_foreach_add_")]


@pytest.fixture(autouse=True)
def fresh_checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test checks the kernels anew (the real cache lasts the process)."""
    monkeypatch.setattr(optimizers, "_choices", {})
    with one_torch_thread():
        yield


@pytest.fixture(scope="module")
def small(mnist5k: Dataset) -> Dataset:
    return first_digits(mnist5k, 600, 200)


def _train(data: Dataset, name: str) -> tuple[dict[str, torch.Tensor], list[str], str]:
    notes: list[str] = []
    config = TrainConfig(device="cpu", seed=0, epochs=2, batch_size=100, optimizer=name, lr=0.01, weight_decay=1e-3)

    def on_event(event: object) -> None:
        notes.extend(getattr(event, "config", {}).get("notes", []))

    ended = Trainer(preset("lenet5"), data, config, on_event).run()
    assert ended.status == "finished", ended.message
    assert ended.state_dict is not None
    return ended.state_dict, notes, ended.message


def _reference(data: Dataset, name: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, torch.Tensor]:
    """The same run on torch.optim's own fused optimizer."""
    with monkeypatch.context() as patch:
        patch.setattr(optimizers, "check", lambda name, device: ("fused", None))
        state, notes, _ = _train(data, name)
    assert notes == []
    return state


def _raises(*args: object, **kwargs: object) -> None:
    raise TypeError("unexpected keyword argument 'grad_scale'")


def _does_nothing(*args: object, **kwargs: object) -> None:
    return None


BREAKAGES: dict[str, Callable[[pytest.MonkeyPatch, str], None]] = {
    "missing": lambda patch, kernel: patch.delattr(torch, kernel),
    "raises": lambda patch, kernel: patch.setattr(torch, kernel, _raises),
    "wrong": lambda patch, kernel: patch.setattr(torch, kernel, _does_nothing),
}


@pytest.mark.parametrize("how", list(BREAKAGES))
@pytest.mark.parametrize(("name", "kernel"), CASES)
def test_a_broken_private_kernel_falls_back_to_torch_optim_with_a_note(
    small: Dataset, monkeypatch: pytest.MonkeyPatch, name: str, kernel: str, how: str
) -> None:
    reference = _reference(small, name, monkeypatch)
    with monkeypatch.context() as patch:
        BREAKAGES[how](patch, kernel)
        state, notes, message = _train(small, name)
    assert len(notes) == 1 and notes[0].startswith(f"{name}: torch's private fused kernel is unusable"), notes
    assert notes[0].endswith(f"using torch.optim.{optimizers._CLASSES[name]}")  # torch.optim's fused is broken too
    assert notes[0] in message
    for key, tensor in reference.items():  # torch.optim's default loop rounds differently from its fused kernel
        torch.testing.assert_close(state[key], tensor, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", list(KERNELS))
def test_working_private_kernels_are_used_and_match_torch_optim_fused_bit_for_bit(
    small: Dataset, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    reference = _reference(small, name, monkeypatch)
    state, notes, _ = _train(small, name)
    assert notes == [] and optimizers.check(name, torch.device("cpu")) == ("private", None)
    assert all(torch.equal(state[key], tensor) for key, tensor in reference.items())


def test_the_check_runs_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = torch._fused_sgd_
    monkeypatch.setattr(torch, "_fused_sgd_", lambda *a, **k: calls.append(1) or real(*a, **k))
    for _ in range(3):
        optimizers.make("sgd", [nn.Parameter(torch.ones(2))], torch.device("cpu"), lr=0.1)
    assert len(calls) == 2  # the check's two steps, and no more


def test_cli_train_with_a_missing_kernel_finishes_and_notes_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(torch, "_fused_adam_")
    args = ["train", "linear", "--epochs", "1", "--batch-size", "500", "--device", "cpu", "--runs-dir", str(tmp_path)]
    result = CliRunner().invoke(main, [*args, "--json"])
    assert result.exit_code == 0, result.output
    assert "note: adam: torch's private fused kernel is unusable (AttributeError" in " ".join(result.stderr.split())
    assert json.loads(result.stdout.splitlines()[-1])["status"] == "finished"


# -- state that can be saved and resumed -----------------------------------------------------


def _steps(model: nn.Module, optimizer: optimizers.Optimizer, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    for x, y in batches:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()


@pytest.mark.parametrize("way", ["private", "fused", "default"])
@pytest.mark.parametrize("name", list(KERNELS))
def test_state_dict_round_trips_through_torch_save_and_resumes_exactly(
    monkeypatch: pytest.MonkeyPatch, name: str, way: str
) -> None:
    monkeypatch.setattr(optimizers, "check", lambda name, device: (way, None))
    generator = torch.Generator().manual_seed(0)
    batches = [(torch.randn(16, 1, 28, 28, generator=generator), torch.randint(0, 10, (16,), generator=generator))]
    batches *= 6
    models = []
    for _ in range(2):
        torch.manual_seed(1)
        models.append(nn.Sequential(nn.Conv2d(1, 4, 5, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(576, 10)))
    cpu = torch.device("cpu")
    straight = optimizers.make(name, models[0].parameters(), cpu, lr=0.01, weight_decay=1e-3)
    _steps(models[0], straight, batches)

    first = optimizers.make(name, models[1].parameters(), cpu, lr=0.01, weight_decay=1e-3)
    _steps(models[1], first, batches[:3])
    buffer = io.BytesIO()
    torch.save({"model": models[1].state_dict(), "optimizer": first.state_dict()}, buffer)
    buffer.seek(0)
    saved = torch.load(buffer, weights_only=True)
    torch.manual_seed(2)
    resumed_model = nn.Sequential(nn.Conv2d(1, 4, 5, stride=2), nn.ReLU(), nn.Flatten(), nn.Linear(576, 10))
    resumed_model.load_state_dict(saved["model"])
    resumed = optimizers.make(name, resumed_model.parameters(), cpu, lr=0.01, weight_decay=1e-3)
    resumed.load_state_dict(saved["optimizer"])
    _steps(resumed_model, resumed, batches[3:])
    assert all(torch.equal(a, b) for a, b in zip(models[0].parameters(), resumed_model.parameters(), strict=True))


def test_loading_another_optimizers_state_is_a_clear_error() -> None:
    cpu = torch.device("cpu")
    adam = optimizers.make("adam", [nn.Parameter(torch.ones(2))], cpu, lr=0.1)
    sgd = optimizers.make("sgd", [nn.Parameter(torch.ones(2))], cpu, lr=0.1)
    with pytest.raises(ValueError, match="for 'sgd', not 'adam'"):
        adam.load_state_dict(sgd.state_dict())
    wrong = optimizers.make("adam", [nn.Parameter(torch.ones(3))], cpu, lr=0.1)
    with pytest.raises(ValueError, match="does not fit"):
        adam.load_state_dict(wrong.state_dict())
