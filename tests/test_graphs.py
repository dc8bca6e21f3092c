"""The CUDA-graph step: its static-batch logic and flag on any machine, capture and replay on CUDA."""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.nn.functional as F

from tui_cnn.architecture.init import initial_model
from tui_cnn.architecture.presets import preset
from tui_cnn.architecture.spec import or_raise, parse_line
from tui_cnn.cli.commands import main
from tui_cnn.training import graphs, optimizers
from tui_cnn.training import trainer as trainer_module
from tui_cnn.training.checkpoint import resume_config
from tui_cnn.training.config import TrainConfig
from tui_cnn.training.data import Dataset
from tui_cnn.training.events import EpochEnd, Event
from tui_cnn.training.graphs import StaticStep, epoch_batches
from tui_cnn.training.trainer import Trainer

from .subsets import first_digits

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


@pytest.fixture(scope="module")
def small(mnist5k: Dataset) -> Dataset:
    return first_digits(mnist5k, 1000, 500)


def test_epoch_batches_drop_only_the_partial_last_batch() -> None:
    assert epoch_batches(1000, 64, drop_last=True) == [64] * 15
    assert epoch_batches(1000, 64, drop_last=False) == [64] * 15 + [40]
    assert epoch_batches(1024, 512, drop_last=False) == [512, 512]
    assert epoch_batches(300, 512, drop_last=True) == [300]  # a batch bigger than the set is the set


def test_the_static_step_trains_as_the_eager_loop_does(small: Dataset) -> None:
    """The step a graph captures (static index, outputs written in place), run eagerly, is the eager step."""
    spec = preset("simple_cnn")
    cpu = torch.device("cpu")
    eager, static = initial_model(spec, 0), initial_model(spec, 0)
    eager_opt = optimizers.make("adam", eager.parameters(), cpu, 3e-3)
    static_opt = optimizers.make("adam", static.parameters(), cpu, 3e-3)
    step = StaticStep(static, static_opt, small.x_train, small.y_train, 64, contextlib.nullcontext())
    order = torch.randperm(len(small.x_train), generator=torch.Generator().manual_seed(1))
    for i in range(5):
        index = order[i * 64 : (i + 1) * 64]
        xb, yb = small.x_train[index], small.y_train[index]
        logits = eager(xb)
        loss = F.cross_entropy(logits, yb)
        eager_opt.zero_grad()
        loss.backward()
        eager_opt.step()
        got_loss, got_correct = step(index)
        assert torch.equal(got_loss, loss.detach()) and int(got_correct) == int((logits.argmax(1) == yb).sum())
    assert all(torch.equal(a, b) for a, b in zip(eager.parameters(), static.parameters(), strict=True))
    assert not torch.equal(static[0].weight, initial_model(spec, 0)[0].weight)  # it trained


class FakeCuda:
    """torch.cuda's streams and graphs as GraphStep uses them, on the CPU: a log of what ran when.

    A capture runs its body once with `capturing` set (a real one records without running),
    and a replay runs what was captured: so the log shows each phase of each step.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch, fail_capture: bool = False) -> None:
        self.log: list[str] = []
        self.registered: list[torch.Generator] = []
        self.capturing = False
        fake = self

        class Graph:
            def register_generator_state(self, generator: torch.Generator) -> None:
                fake.registered.append(generator)
                fake.log.append("register")

            def replay(self) -> None:
                fake.log.append("replay")
                fake.step.compute()

        @contextlib.contextmanager
        def graph(g: Graph, stream: object = None, capture_error_mode: str = "global"):
            assert capture_error_mode == "thread_local" and stream is fake.step.side
            if fail_capture:
                raise RuntimeError("operation not permitted when stream is capturing")
            fake.capturing = True
            yield
            fake.capturing = False

        stream = type("Stream", (), {"wait_stream": lambda self, other: None})
        monkeypatch.setattr(torch.cuda, "CUDAGraph", Graph)
        monkeypatch.setattr(torch.cuda, "graph", graph)
        monkeypatch.setattr(torch.cuda, "Stream", lambda device=None: stream())
        monkeypatch.setattr(torch.cuda, "stream", lambda s: contextlib.nullcontext())
        monkeypatch.setattr(torch.cuda, "current_stream", lambda device=None: stream())
        monkeypatch.setattr(torch.cuda, "device", lambda device: contextlib.nullcontext())

    def watch(self, step: graphs.GraphStep) -> graphs.GraphStep:
        self.step = step
        compute = step.compute

        def logged() -> None:
            if self.log[-1:] != ["replay"]:
                self.log.append("capture" if self.capturing else "eager")
            compute()

        step.compute = logged
        return step


def graph_step(data: Dataset, fake: FakeCuda, dropout: torch.Generator | None, notes: list[str]):
    model = initial_model(preset("linear"), 0)
    optimizer = optimizers.make("adam", model.parameters(), torch.device("cpu"), 3e-3)
    no_amp = contextlib.nullcontext()
    return fake.watch(graphs.GraphStep(model, optimizer, data.x_train, data.y_train, 64, no_amp, dropout, notes.append))


def test_the_graph_step_warms_up_captures_once_and_replays(small: Dataset, monkeypatch) -> None:
    fake, notes, dropout = FakeCuda(monkeypatch), [], torch.Generator()
    step = graph_step(small, fake, dropout, notes)
    for i in range(6):
        step(torch.arange(i * 64, (i + 1) * 64))
    warm = ["eager"] * graphs.WARMUP_STEPS
    assert fake.log == [*warm, "register", "capture", "replay", "replay", "replay"] and not notes
    assert fake.registered == [dropout]  # registered before the capture, so replays draw new masks


def test_a_failed_capture_leaves_every_later_step_eager_with_one_note(small: Dataset, monkeypatch) -> None:
    fake, notes = FakeCuda(monkeypatch, fail_capture=True), []
    step = graph_step(small, fake, None, notes)
    for i in range(6):
        loss, _ = step(torch.arange(i * 64, (i + 1) * 64))
    assert fake.log == ["eager"] * 6 and torch.isfinite(loss)
    assert notes == ["cuda graphs unavailable (operation not permitted when stream is capturing); eager steps"]


def test_cuda_graphs_are_ignored_on_the_cpu_with_a_note(small: Dataset) -> None:
    """As --amp and --compile: a run set up on a GPU box still trains elsewhere, eagerly, saying so."""
    config = TrainConfig(epochs=1, batch_size=64, device="cpu", seed=0, weights_every=0)
    plain = Trainer(preset("linear"), small, config).run()
    events: list[Event] = []
    asked = Trainer(preset("linear"), small, TrainConfig(**{**config.to_dict(), "cuda_graphs": True}), events.append)
    ended = asked.run()
    assert ended.status == "finished" and "cuda graphs ignored on cpu" in ended.message
    assert events[0].config["notes"] == ["cuda graphs ignored on cpu"] and events[0].config["cuda_graphs"]
    assert all(torch.equal(plain.state_dict[k], ended.state_dict[k]) for k in plain.state_dict)


def test_compile_and_cuda_graphs_together_are_refused(tmp_path) -> None:
    assert TrainConfig(compile=True, cuda_graphs=True).validate() == "use --compile or --cuda-graphs, not both"
    from click.testing import CliRunner

    args = ["train", "linear", "--compile", "--cuda-graphs", "--device", "cpu", "--runs-dir", str(tmp_path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and result.output.strip().splitlines()[-1] == (
        "Error: use --compile or --cuda-graphs, not both"
    )


def test_the_cli_flag_reaches_the_run(tmp_path) -> None:
    from click.testing import CliRunner

    from tui_cnn.store.runs import RunStore

    args = ["train", "linear", "--epochs", "1", "--batch-size", "500", "--device", "cpu", "--cuda-graphs"]
    result = CliRunner().invoke(main, [*args, "--runs-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "cuda graphs ignored on cpu" in result.output
    store = RunStore.open(str(tmp_path))
    try:
        (record,) = store.runs()
        assert record.config["cuda_graphs"] is True
    finally:
        store.close()


def test_a_resumed_run_may_switch_graphs_on() -> None:
    stored = TrainConfig(epochs=2, device="cpu").to_dict()
    assert resume_config(stored, {"epochs": 4, "cuda_graphs": True}, 2).cuda_graphs


@pytest.mark.parametrize(("name", "capturable"), [("adam", True), ("adamw", True), ("sgd", False)])
def test_torch_optim_fallbacks_are_built_capturable_for_graphs(monkeypatch, name: str, capturable: bool) -> None:
    """Should the private kernels fail on a torch release, torch.optim's Adam must keep its step on the device."""
    built: list[dict] = []
    monkeypatch.setattr(optimizers, "check", lambda name, device: ("fused", None))
    monkeypatch.setattr(optimizers, "_torch_optim", lambda name, params, **kw: built.append(kw))
    optimizers.make(name, [torch.nn.Parameter(torch.ones(2))], torch.device("cpu"), 0.1, capturable=True)
    optimizers.make(name, [torch.nn.Parameter(torch.ones(2))], torch.device("cpu"), 0.1)
    assert built[0].get("capturable", False) is capturable and "capturable" not in built[1]


# -- on CUDA -------------------------------------------------------------------------------------


def cuda_run(data: Dataset, line: str = "", **config: object) -> tuple[Trainer, object, list[Event]]:
    events: list[Event] = []
    spec = or_raise(parse_line(line)) if line else preset("simple_cnn")
    settings = {"epochs": 2, "batch_size": 64, "device": "cuda", "seed": 0, "weights_every": 0, **config}
    trainer = Trainer(spec, data, TrainConfig(**settings), events.append)
    return trainer, trainer.run(), events


@needs_cuda
@pytest.mark.parametrize("amp", [False, True])
def test_graphs_replay_every_step_after_the_warm_up_and_learn_as_eager(small: Dataset, monkeypatch, amp: bool) -> None:
    replays = []
    replay = torch.cuda.CUDAGraph.replay
    monkeypatch.setattr(torch.cuda.CUDAGraph, "replay", lambda self: (replays.append(1), replay(self))[1])
    _, eager, _ = cuda_run(small, amp=amp)
    assert not replays
    _, ended, events = cuda_run(small, amp=amp, cuda_graphs=True)
    assert ended.status == "finished" and "cuda graphs" not in ended.message, ended.message
    steps = events[0].steps_per_epoch * 2
    assert len(replays) == steps - graphs.WARMUP_STEPS  # the captured step is replayed for its own batch too
    assert abs(ended.final_val_acc - eager.final_val_acc) < 0.03


@needs_cuda
def test_graphs_draw_a_fresh_dropout_mask_every_replay(small: Dataset) -> None:
    """The dropout generator is registered with the graph: it moves on as far as in the eager run."""
    line = "conv 8 s2 | relu | dropout 0.5 | flatten | linear 10"
    eager_trainer, eager, _ = cuda_run(small, line)
    graph_trainer, graphed, _ = cuda_run(small, line, cuda_graphs=True)
    assert graphed.status == "finished" and "cuda graphs" not in graphed.message, graphed.message
    offset = eager_trainer.model[2].generator.get_offset()
    assert offset > 0 and graph_trainer.model[2].generator.get_offset() == offset
    assert abs(graphed.final_val_acc - eager.final_val_acc) < 0.03


@needs_cuda
def test_a_step_that_cannot_be_captured_goes_on_eagerly_with_a_note(small: Dataset, monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise RuntimeError("operation not permitted when stream is capturing")

    monkeypatch.setattr(torch.cuda, "graph", refuse)
    _, ended, events = cuda_run(small, cuda_graphs=True)
    assert ended.status == "finished" and "cuda graphs unavailable (operation not permitted" in ended.message
    assert sum(isinstance(e, EpochEnd) for e in events) == 2 and ended.final_val_acc > 0.7


@needs_cuda
@pytest.mark.parametrize("cuda_graphs", [False, True])
def test_an_epoch_never_waits_for_the_device_outside_the_reports(
    small: Dataset, monkeypatch, cuda_graphs: bool
) -> None:
    """`set_sync_debug_mode("error")` through the whole second epoch; only the meter's read (the report) may sync."""
    read = trainer_module._Meter.read

    def read_allowed(meter):
        torch.cuda.set_sync_debug_mode("default")
        try:
            return read(meter)
        finally:
            torch.cuda.set_sync_debug_mode("error")

    def on_event(event: Event) -> None:
        if type(event).__name__ == "Checkpoint" and event.epoch == 1:  # after epoch 1's copies: strict from here
            torch.cuda.set_sync_debug_mode("error")
        elif type(event).__name__ == "Step" and event.epoch == 2:  # epoch 2's one report: its steps are done
            torch.cuda.set_sync_debug_mode("default")

    monkeypatch.setattr(trainer_module._Meter, "read", read_allowed)
    config = TrainConfig(epochs=2, batch_size=512, device="cuda", seed=0, report_every=1e9, weights_every=0)
    config = TrainConfig(**{**config.to_dict(), "cuda_graphs": cuda_graphs})
    try:
        ended = Trainer(preset("simple_cnn"), small, config, on_event).run()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert ended.status == "finished", ended.message
