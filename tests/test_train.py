"""The trainer: it learns, is deterministic, and ends every run exactly once, whatever happens."""

from __future__ import annotations

import math
import re
import threading
import time

import pytest
import torch
from torch import nn

from tui_cnn.architecture.presets import preset
from tui_cnn.architecture.spec import Spec, or_raise, parse_line
from tui_cnn.training import devices
from tui_cnn.training import trainer as trainer_module
from tui_cnn.training.data import Dataset
from tui_cnn.training.events import Ended, EpochEnd, Event, Started, Step, Weights
from tui_cnn.training.trainer import TrainConfig, Trainer

from .subsets import first_digits

CPU = {"device": "cpu", "seed": 0}


def on(data: Dataset | str) -> dict[str, object]:
    """A run's device and seed: where the data lies (the test device), the CPU for a dataset by name."""
    return {"device": str(data.device) if isinstance(data, Dataset) else "cpu", "seed": 0}


def run(spec: Spec, data: Dataset | str, on_event=None, **config: object) -> tuple[Ended, list[Event]]:
    events: list[Event] = []

    def record(event: Event) -> None:
        events.append(event)
        if on_event:
            on_event(event)

    ended = Trainer(spec, data, TrainConfig(**{**on(data), **config}), record).run()
    return ended, events


def kinds(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


@pytest.fixture(scope="module")
def small(mnist5k_on_device: Dataset) -> Dataset:
    """The first 1,000 train digits on the test device: enough to see learning, fast enough for many runs."""
    return first_digits(mnist5k_on_device, 1000)


def test_simple_cnn_learns_far_above_chance(mnist5k_on_device: Dataset) -> None:
    ended, events = run(preset("simple_cnn"), mnist5k_on_device, epochs=2)
    assert ended.status == "finished", ended.message
    assert ended.final_val_acc is not None and ended.final_val_acc > 0.7
    assert ended.epochs_done == 2 and ended.best_val_acc >= ended.final_val_acc
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epochs] == [1, 2]
    assert epochs[1].train_loss < epochs[0].train_loss
    assert ended.train_loss == epochs[-1].train_loss and ended.final_val_acc == epochs[-1].val_acc
    assert ended.samples_per_s > 0 and ended.seconds > 0


def test_event_order_and_contents(small: Dataset) -> None:
    ended, events = run(preset("simple_cnn"), small, epochs=2, report_every=0, weights_every=0)
    assert isinstance(events[0], Started) and events[-1] is ended
    assert kinds(events).count("Ended") == 1 and kinds(events).count("Started") == 1
    started = events[0]
    assert (started.params, started.dataset, started.device, started.train_size, started.val_size) == (
        5274,
        "mnist-5k",
        small.device.type,
        1000,
        1000,
    )
    assert started.steps_per_epoch == 1000 // 64 and started.config["batch_size"] == 64
    steps = [e for e in events if isinstance(e, Step)]
    # report_every=0: a Step after every batch, numbered globally and within the epoch.
    assert [s.step for s in steps] == list(range(1, 2 * 15 + 1))
    assert [s.epoch_step for s in steps[:15]] == list(range(1, 16))
    assert all(0 <= s.acc <= 1 and math.isfinite(s.loss) and s.eta >= 0 for s in steps)
    # An EpochEnd follows the last Step of its epoch, then its Checkpoint; then one final Weights, then Ended.
    assert kinds(events)[-4:] == ["EpochEnd", "Checkpoint", "Weights", "Ended"]
    assert kinds(events).count("Checkpoint") == 2 and events[-3].epoch == 2
    weights = events[-2]
    assert sorted(weights.tensors) == [0, 2, 4, 6, 8]  # the conv layers' indices in the spec
    assert weights.tensors[0].shape == (4, 1, 3, 3) and weights.tensors[0].device.type == "cpu"
    assert set(ended.state_dict) == {f"{i}.{p}" for i in (0, 2, 4, 6, 8) for p in ("weight", "bias")}
    assert torch.equal(ended.state_dict["8.weight"], weights.tensors[8])


def test_weights_are_throttled_snapshots(small: Dataset) -> None:
    _, events = run(preset("mlp"), small, epochs=1, weights_every=1e-9)
    snapshots = [e for e in events if isinstance(e, Weights)]
    assert len(snapshots) >= 2 and sorted(snapshots[0].tensors) == [1, 3]
    assert not torch.equal(snapshots[0].tensors[1], snapshots[-1].tensors[1])  # copies, not live views


def test_same_seed_same_result(small: Dataset) -> None:
    first, _ = run(preset("simple_cnn"), small, epochs=1, seed=3)
    second, _ = run(preset("simple_cnn"), small, epochs=1, seed=3)
    other, _ = run(preset("simple_cnn"), small, epochs=1, seed=4)
    assert first.train_loss == second.train_loss and first.final_val_acc == second.final_val_acc
    assert all(torch.equal(first.state_dict[k], second.state_dict[k]) for k in first.state_dict)
    assert other.train_loss != first.train_loss


def test_huge_learning_rate_diverges_naming_the_step(small: Dataset) -> None:
    # Reports only at the epoch's end: the message still names the first step that went bad.
    ended, events = run(preset("mlp"), small, epochs=3, lr=1e6, optimizer="sgd", report_every=1e9)
    assert ended.status == "diverged"
    pattern = (
        r"loss became (nan|inf|-inf|[\d.]+e\+\d+) at step (\d+)"
        r" \(epoch 1\); try a lower learning rate \(now 1e\+06\)"
    )
    found = re.fullmatch(pattern, ended.message)
    assert found, ended.message
    assert 1 < int(found.group(2)) < 15  # 15 steps an epoch: found inside it, not where it was noticed
    assert kinds(events) == ["Started", "Ended"] and events[-1] is ended
    assert ended.state_dict is not None and ended.epochs_done == 0


def test_stop_from_the_callback_interrupts(small: Dataset) -> None:
    trainer: Trainer

    def on_event(event: Event) -> None:
        if isinstance(event, Step) and event.step == 3:
            trainer.stop()

    events: list[Event] = []
    trainer = Trainer(
        preset("mlp"),
        small,
        TrainConfig(**on(small), epochs=5, report_every=0),
        lambda e: (events.append(e), on_event(e)),
    )
    ended = trainer.run()
    assert ended.status == "interrupted" and "step 3" in ended.message
    assert kinds(events).count("Ended") == 1 and events[-1] is ended
    assert max(e.step for e in events if isinstance(e, Step)) == 3
    assert ended.epochs_done == 0 and ended.state_dict is not None


def test_stop_from_another_thread(small: Dataset) -> None:
    stepped = threading.Event()
    trainer = Trainer(
        preset("mlp"),
        small,
        TrainConfig(**on(small), epochs=1000, report_every=0),
        lambda e: stepped.set() if isinstance(e, Step) else None,
    )
    result: list[Ended] = []
    thread = threading.Thread(target=lambda: result.append(trainer.run()))
    thread.start()
    assert stepped.wait(30)
    trainer.stop()
    thread.join(30)
    assert not thread.is_alive() and result[0].status == "interrupted"


def test_pause_holds_the_loop_and_the_clock(small: Dataset) -> None:
    events: list[Event] = []
    first_step = threading.Event()
    trainer: Trainer

    def on_event(event: Event) -> None:
        events.append(event)
        if isinstance(event, Step) and event.step == 1:
            trainer.pause()
            first_step.set()

    trainer = Trainer(preset("mlp"), small, TrainConfig(**on(small), epochs=1, report_every=0), on_event)
    result: list[Ended] = []
    thread = threading.Thread(target=lambda: result.append(trainer.run()))
    began = time.perf_counter()
    thread.start()
    assert first_step.wait(30)
    assert trainer.paused
    time.sleep(0.5)
    assert sum(isinstance(e, Step) for e in events) == 1  # nothing moved while paused
    trainer.resume()
    thread.join(30)
    wall = time.perf_counter() - began
    assert not trainer.paused and result[0].status == "finished"
    assert result[0].seconds < wall - 0.4  # the paused half second is not counted


def test_stop_while_paused(small: Dataset) -> None:
    paused = threading.Event()
    trainer: Trainer

    def on_event(event: Event) -> None:
        if isinstance(event, Step):
            trainer.pause()
            paused.set()

    trainer = Trainer(preset("mlp"), small, TrainConfig(**on(small), epochs=1, report_every=0), on_event)
    result: list[Ended] = []
    thread = threading.Thread(target=lambda: result.append(trainer.run()))
    thread.start()
    assert paused.wait(30)
    trainer.stop()
    thread.join(30)
    assert result[0].status == "interrupted"


class Boom(nn.Module):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.linear = nn.Linear(784, 10)
        self.error = error

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise self.error


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (RuntimeError("boom"), "RuntimeError: boom"),
        (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"), "out of memory"),
        (RuntimeError("[enforce fail] DefaultCPUAllocator: can't allocate: out of memory"), "out of memory"),
    ],
)
def test_exceptions_end_as_failed(
    small: Dataset, monkeypatch: pytest.MonkeyPatch, error: Exception, message: str
) -> None:
    monkeypatch.setattr(trainer_module, "build_model", lambda spec: nn.Sequential(Boom(error)))
    ended, events = run(preset("linear"), small, epochs=1)
    assert ended.status == "failed" and message in ended.message
    assert kinds(events) == ["Started", "Ended"]
    assert set(ended.state_dict) == {"0.linear.weight", "0.linear.bias"}


def test_keyboard_interrupt_is_interrupted(small: Dataset) -> None:
    def on_event(event: Event) -> None:
        if isinstance(event, Step):
            raise KeyboardInterrupt

    ended, events = run(preset("mlp"), small, on_event, epochs=1)
    assert ended.status == "interrupted" and kinds(events).count("Ended") == 1


@pytest.mark.parametrize(
    ("line", "config", "words"),
    [
        ("conv 4 s2 | relu | flatten", {}, "the output is 784"),
        ("flatten | conv 4", {}, "layer 1 (conv 4)"),
        ("flatten | linear 10", {"epochs": 0}, "epochs must be at least 1"),
        ("flatten | linear 10", {"device": "tpu"}, "unknown device 'tpu'"),
    ],
)
def test_runs_that_cannot_start_end_failed_without_started(small: Dataset, line: str, config: dict, words: str) -> None:
    ended, events = run(or_raise(parse_line(line)), small, **config)
    assert ended.status == "failed" and words in ended.message
    assert kinds(events) == ["Ended"] and ended.state_dict is None


def test_dataset_by_name_is_loaded_on_the_device(device: str) -> None:
    ended, events = run(preset("linear"), "mnist-5k", epochs=1, batch_size=500, device=device)
    assert ended.status == "finished" and events[0].dataset == "mnist-5k" and events[0].train_size == 4000
    assert events[0].device == torch.device(device).type


def test_dataset_by_name_missing_ends_failed(tmp_path) -> None:
    trainer = Trainer(preset("mlp"), "mnist", TrainConfig(**CPU), data_dir=tmp_path)
    ended = trainer.run()
    assert ended.status == "failed" and "cnn-tui data fetch mnist" in ended.message


def test_dataset_on_a_bad_device_fails(small: Dataset) -> None:
    meta = Dataset(
        small.name,
        small.classes,
        small.x_train.to("meta"),
        small.y_train.to("meta"),
        small.x_val.to("meta"),
        small.y_val.to("meta"),
        small.mean,
        small.std,
    )
    ended, events = run(preset("mlp"), meta, epochs=1, device="cpu")
    assert ended.status == "failed" and ended.message.split(":")[0].endswith("Error")


def test_amp_and_compile_are_noted_on_cpu(small: Dataset) -> None:
    ended, events = run(preset("linear"), small, epochs=1, amp=True, compile=True, device="cpu")
    assert ended.status == "finished"
    assert events[0].config["notes"] == ["compile ignored on cpu", "amp ignored on cpu"]
    assert "amp ignored on cpu" in ended.message


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 0}, "batch size"),
        ({"lr": 0.0}, "learning rate"),
        ({"lr": float("nan")}, "learning rate"),
        ({"lr": float("inf")}, "learning rate"),
        ({"optimizer": "lbfgs"}, "unknown optimizer 'lbfgs'"),
        ({"weight_decay": -1.0}, "weight decay"),
    ],
)
def test_config_validate(changes: dict, words: str) -> None:
    assert TrainConfig().validate() is None
    assert words in (TrainConfig(**changes).validate() or "")


def test_config_round_trips_and_ignores_unknown_keys() -> None:
    config = TrainConfig(epochs=3, lr=0.1, optimizer="sgd", amp=True)
    assert TrainConfig.from_dict(config.to_dict()) == config
    assert TrainConfig.from_dict({**config.to_dict(), "notes": ["x"], "future": 1}) == config


@pytest.mark.parametrize("optimizer", ["adam", "adamw", "sgd"])
def test_every_optimizer_learns(small: Dataset, optimizer: str) -> None:
    lr = 0.05 if optimizer == "sgd" else 3e-3
    ended, _ = run(preset("linear"), small, epochs=1, optimizer=optimizer, lr=lr, weight_decay=1e-4)
    assert ended.status == "finished" and ended.final_val_acc > 0.6


# -- devices -------------------------------------------------------------------------------


def test_pick_cpu_and_auto() -> None:
    assert devices.pick("cpu") == torch.device("cpu")
    assert devices.pick(torch.device("cpu")) == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "mps" if devices._mps_available() else "cpu"
    assert devices.pick("auto").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_pick_unavailable_cuda_is_a_clear_error() -> None:
    with pytest.raises(devices.DeviceError, match="CUDA is not available on this machine; use --device cpu or auto"):
        devices.pick("cuda")


def test_pick_unknown_device() -> None:
    with pytest.raises(devices.DeviceError, match="unknown device 'gpu0'"):
        devices.pick("gpu0")


def test_device_name_and_stats_on_cpu() -> None:
    assert devices.device_name("cpu") == f"CPU ({torch.get_num_threads()} threads)".replace("(1 threads)", "(1 thread)")
    stats = devices.stats(torch.device("cpu"))
    assert stats.kind == "cpu" and stats.name.startswith("CPU")
    assert stats.mem_used is not None and stats.mem_used > 50_000_000  # torch alone is bigger than that
    assert stats.util is None


def test_set_torch_threads() -> None:
    before = torch.get_num_threads()
    try:
        devices.set_torch_threads(1)
        assert torch.get_num_threads() == 1
        devices.set_torch_threads(None)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


# -- speed: fused optimizers without torch.optim, channels-last convolutions -------------------


@pytest.mark.parametrize(
    ("name", "reference", "extra"),
    [
        ("adam", torch.optim.Adam, {}),
        ("adamw", torch.optim.AdamW, {}),
        ("sgd", torch.optim.SGD, {"momentum": 0.9}),
    ],
)
def test_fused_optimizers_match_torch_optim_bit_for_bit(name: str, reference: type, extra: dict) -> None:
    from tui_cnn.architecture.build import build_model
    from tui_cnn.training.optimizers import make

    torch.manual_seed(0)
    x, y = torch.randn(32, 1, 28, 28), torch.randint(0, 10, (32,))
    models = []
    for _ in range(2):
        torch.manual_seed(1)
        models.append(build_model(preset("lenet5")))
    ours = make(name, models[0].parameters(), torch.device("cpu"), lr=0.01, weight_decay=1e-3)
    theirs = reference(models[1].parameters(), lr=0.01, weight_decay=1e-3, fused=True, **extra)
    for _ in range(5):
        for model, optimizer in ((models[0], ours), (models[1], theirs)):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
    pairs = list(zip(models[0].parameters(), models[1].parameters(), strict=True))
    assert all(torch.equal(a, b) for a, b in pairs)
    assert not torch.equal(pairs[0][0], build_model(preset("lenet5")).state_dict()["0.weight"])  # they moved


def test_fused_optimizer_skips_parameters_without_gradients() -> None:
    from tui_cnn.training.optimizers import make

    used, unused = nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(3))
    optimizer = make("adam", [used, unused], torch.device("cpu"), lr=0.1)
    (used * 2).sum().backward()
    optimizer.step()
    assert not torch.equal(used, torch.ones(3)) and torch.equal(unused, torch.ones(3))
    optimizer.zero_grad()
    assert used.grad is None


def test_training_does_not_import_dynamo() -> None:
    """torch.optim imports torch._dynamo (0.8 s and 150 MB here); the trainer's optimizers do not."""
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from tui_cnn.architecture.presets import preset\n"
        "from tui_cnn.training.trainer import Trainer, TrainConfig\n"
        "ended = Trainer(preset('linear'), 'mnist-5k', TrainConfig(epochs=1, device='cpu')).run()\n"
        "assert ended.status == 'finished', ended.message\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "False"


def test_cpu_convolutions_run_channels_last_unless_batch_norm(small: Dataset) -> None:
    lines = {
        "conv 4 s2 | relu | conv 8 s2 | relu | flatten | linear 10": True,
        "conv 4 s2 | bn | conv 8 s2 | relu | flatten | linear 10": False,
    }
    for line, expected in lines.items():
        trainer = Trainer(or_raise(parse_line(line)), small, TrainConfig(epochs=1, **CPU))
        ended = trainer.run()
        assert ended.status == "finished", ended.message
        weight = trainer.model[2].weight  # 8x4x3x3: with one input channel both layouts would look alike
        assert weight.is_contiguous(memory_format=torch.channels_last) == expected
        assert weight.is_contiguous() != expected
        assert ended.state_dict["2.weight"].is_contiguous()  # copies for the UI and the store are plain
    assert not trainer_module._channels_last(preset("mlp"), torch.device("cpu"))
    assert not trainer_module._channels_last(preset("simple_cnn"), torch.device("cuda"))


_IMPORT_TORCH = """
import gc, sys
from tui_cnn.training.torch_import import import_torch

collections = []
gc.callbacks.append(lambda phase, info: phase == "start" and collections.append(info["generation"]))
if sys.argv[1] == "disabled":
    gc.disable()
import_torch()
during = len(collections)
import_torch()  # a no-op the second time
print("torch" in sys.modules, during, gc.isenabled())
"""


@pytest.mark.parametrize(("before", "after"), [("enabled", "True"), ("disabled", "False")])
def test_torch_is_imported_without_the_collectors_walks(before: str, after: str) -> None:
    """The collector never runs during torch's import, and is left as it was found."""
    import subprocess
    import sys

    command = [sys.executable, "-c", _IMPORT_TORCH, before]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    assert out.split() == ["True", "0", after]
