"""A sweep over several devices: one group per device at once, results in architecture order, one stop for all.

There is no GPU here, so the device list is the CPU twice (`cpu,cpu`): two workers, two groups
at once. Barriers in the callbacks make the overlap certain rather than likely: a sweep that
trained its groups in turn would break them (after WAIT seconds) and fail, not hang.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from tui_cnn.architecture.presets import preset
from tui_cnn.cli import main
from tui_cnn.cli.tables import SweepProgress
from tui_cnn.experiments.ladder import RUNGS
from tui_cnn.experiments.ladder_run import ladder_sweep
from tui_cnn.experiments.sweep import Sweep, member_configs
from tui_cnn.store.runs import RunStore
from tui_cnn.training import devices
from tui_cnn.training.config import TrainConfig
from tui_cnn.training.data import Dataset
from tui_cnn.training.events import EpochEnd, Event, Started

pytestmark = pytest.mark.usefixtures("one_thread")  # runs compared sum in one order

WAIT = 60  # seconds a barrier or an event waits before the test gives up on the overlap
ARCHS = [("linear", preset("linear")), ("mlp", preset("mlp"))]
TINY = ["--epochs", "1", "--batch-size", "500"]
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")


def configs(device: str = "cpu", seeds: tuple[int, ...] = (0, 1)) -> list[TrainConfig]:
    base = TrainConfig(epochs=1, batch_size=64, optimizer="sgd", lr=0.05, device=device, weights_every=0.0)
    return member_configs(base, seeds, [base.lr])


def first_started(event: Event, member: int) -> bool:
    return isinstance(event, Started) and member == 0


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, list(args))


# -- parsing the list ---------------------------------------------------------------------------


def test_a_list_of_devices_is_parsed_in_order_and_may_repeat() -> None:
    cpu = torch.device("cpu")
    assert devices.pick_many("cpu") == [cpu]
    assert devices.pick_many("cpu,cpu") == [cpu, cpu]
    assert devices.pick_many(" CPU , cpu ") == [cpu, cpu]


@NO_CUDA
def test_all_without_cuda_is_the_one_device_auto_picks() -> None:
    assert devices.pick_many("all") == [devices.pick("auto")]
    assert devices.pick_many(" ALL ") == [devices.pick("auto")]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_all_is_every_visible_cuda_device() -> None:
    count = torch.cuda.device_count()
    assert devices.pick_many("all") == [torch.device("cuda", i) for i in range(count)]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "no device given"),
        (" , ", "no device given"),
        ("cpu,,cpu", "an empty entry in the device list 'cpu,,cpu'"),
        ("cpu,", "an empty entry"),
        ("cpu,gpu0", "unknown device 'gpu0'"),
        ("all,cpu", "all stands alone"),
    ],
)
def test_a_bad_device_list_is_one_clear_line(text: str, words: str) -> None:
    with pytest.raises(devices.DeviceError, match=words) as caught:
        devices.pick_many(text)
    assert "\n" not in str(caught.value)


@NO_CUDA
def test_a_device_that_is_not_here_is_named() -> None:
    with pytest.raises(devices.DeviceError, match="CUDA is not available on this machine"):
        devices.pick_many("cpu,cuda:1")


# -- the sweep ----------------------------------------------------------------------------------


def test_two_groups_train_at_once_and_come_back_in_architecture_order(tmp_path: Path, tiny: Dataset) -> None:
    both_started = threading.Barrier(2, timeout=WAIT)
    second_stored = threading.Event()
    stored: list[int] = []

    def on_event(arch: int, member: int, event: Event) -> None:
        if first_started(event, member):
            both_started.wait()  # neither group goes on until the other one has started
        if arch == 0 and member == 0 and isinstance(event, EpochEnd):
            assert second_stored.wait(WAIT)  # the first architecture finishes last

    def on_groups(arch: int, groups: list) -> None:
        stored.append(arch)
        if arch == 1:
            second_stored.set()

    store = RunStore(tmp_path)
    result = Sweep(ARCHS, tiny, configs("auto"), store, on_event, on_groups, devices=["cpu", "cpu"]).run()
    assert result.status == "finished", [r["status"] for r in result.runs]
    assert stored == [1, 0]
    assert [(r["arch"], r["seed"]) for r in result.runs] == [("linear", 0), ("linear", 1), ("mlp", 0), ("mlp", 1)]
    assert [(g.arch, g.members) for g in result.groups] == [("linear", 2), ("mlp", 2)]
    records = [store.get(r["run_id"]) for r in result.runs]
    assert [r.config["device"] for r in records] == ["cpu"] * 4  # the worker's device, not the configs' "auto"
    assert {r.sweep_id for r in records} == {result.sweep_id}


def test_the_json_is_a_single_device_sweeps(tmp_path: Path, tiny: Dataset) -> None:
    one = Sweep(ARCHS, tiny, configs(), RunStore(tmp_path / "one")).run().to_json()
    two = Sweep(ARCHS, tiny, configs(), RunStore(tmp_path / "two"), devices=["cpu", "cpu"]).run().to_json()
    assert set(one) == set(two)
    assert [set(r) for r in one["runs"]] == [set(r) for r in two["runs"]]
    assert [set(g) for g in one["groups"]] == [set(g) for g in two["groups"]]
    same = ("arch", "params", "dataset", "epochs", "device", "status", "seed", "lr")
    assert [[r[k] for k in same] for r in one["runs"]] == [[r[k] for k in same] for r in two["runs"]]
    assert [r["val_acc"] for r in one["runs"]] == pytest.approx([r["val_acc"] for r in two["runs"]], abs=1e-6)


def test_a_stop_from_another_thread_stops_every_running_group(tmp_path: Path, tiny: Dataset) -> None:
    training = threading.Barrier(3, timeout=WAIT)  # the two groups and this thread
    stopped = threading.Event()

    def on_event(arch: int, member: int, event: Event) -> None:
        if first_started(event, member):
            training.wait()
            stopped.wait(WAIT)

    store = RunStore(tmp_path)
    sweep = Sweep([*ARCHS, ("simple_cnn", preset("simple_cnn"))], tiny, configs(), store, on_event, devices=["cpu"] * 2)
    results: list = []
    worker = threading.Thread(target=lambda: results.append(sweep.run()))
    worker.start()
    training.wait()
    sweep.stop()
    stopped.set()
    worker.join(WAIT)
    assert not worker.is_alive() and results
    result = results[0]
    assert result.status == "interrupted"
    assert [(r["arch"], r["status"]) for r in result.runs] == [("linear", "interrupted")] * 2 + [
        ("mlp", "interrupted")
    ] * 2  # simple_cnn never started
    assert (
        sorted((r.arch, r.status) for r in store.runs())
        == [("linear", "interrupted")] * 2 + [("mlp", "interrupted")] * 2
    )


def test_a_fault_in_one_group_fails_its_members_and_the_other_group_finishes(tmp_path: Path, tiny: Dataset) -> None:
    def on_event(arch: int, member: int, event: Event) -> None:
        if arch == 0 and first_started(event, member):
            raise RuntimeError("a broken callback")

    result = Sweep(ARCHS, tiny, configs(), RunStore(tmp_path), on_event, devices=["cpu", "cpu"]).run()
    assert [(r["arch"], r["status"]) for r in result.runs] == [("linear", "failed")] * 2 + [("mlp", "finished")] * 2
    assert "a broken callback" in RunStore(tmp_path).get(result.runs[0]["run_id"]).message
    assert result.status == "failed"


def test_a_fault_outside_training_is_raised_once_every_worker_ended(tmp_path: Path, tiny: Dataset) -> None:
    def on_groups(arch: int, groups: list) -> None:
        if arch == 0:
            raise RuntimeError("the groups callback broke")

    threads = threading.active_count()
    store = RunStore(tmp_path)
    sweep = Sweep(ARCHS, tiny, configs(), store, on_groups=on_groups, devices=["cpu", "cpu"])
    with pytest.raises(RuntimeError, match="the groups callback broke"):
        sweep.run()
    assert threading.active_count() == threads
    assert store.runs() and all(r.status in ("finished", "interrupted") for r in store.runs())


def test_the_ladder_shares_its_rungs_out_over_the_devices(tmp_path: Path, tiny: Dataset) -> None:
    both_started = threading.Barrier(2, timeout=WAIT)

    def on_event(arch: int, member: int, event: Event) -> None:
        if arch < 2 and first_started(event, member):
            both_started.wait()  # mlp and dense_cnn, the first two rungs, at once

    base = TrainConfig(epochs=1, batch_size=64, device="auto", weights_every=0.0)
    store = RunStore(tmp_path)
    result = ladder_sweep(tiny, base, [0], store, on_event=on_event, devices=["cpu", "cpu"]).run()
    assert result.status == "finished"
    assert [g.arch for g in result.groups] == [rung.arch for rung in RUNGS]
    assert {store.get(r["run_id"]).config["device"] for r in result.runs} == {"cpu"}


# -- progress -----------------------------------------------------------------------------------


def started(arch: str, device: str) -> Started:
    config = {**TrainConfig(device=device).to_dict(), "group_size": 2}
    return Started(arch, "flatten | linear 10", 7_850, "mnist-5k", "cuda", "NVIDIA H200", 1, 10, 640, 100, config)


def test_each_running_groups_bar_names_its_architecture_and_device() -> None:
    with SweepProgress() as progress:
        progress(0, 0, started("mlp", "cuda:0"))
        progress(1, 0, started("simple_cnn", "cuda:1"))
        progress(1, 1, started("simple_cnn", "cuda:1"))
        labels = [task.description for task in progress.progress.tasks]
    assert labels == ["mlp x2 on cuda:0", "simple_cnn x2 on cuda:1"]


# -- the CLI ------------------------------------------------------------------------------------


def test_cli_sweep_on_cpu_cpu_labels_each_groups_lines_with_its_device(tmp_path: Path) -> None:
    result = invoke(
        "sweep", "linear", "mlp", "--seeds", "2", *TINY, "--device", "cpu,cpu", "--runs-dir", str(tmp_path), "--json"
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout.splitlines()[-1])
    assert [(r["arch"], r["seed"], r["status"]) for r in data["runs"]] == [
        ("linear", 0, "finished"), ("linear", 1, "finished"), ("mlp", 0, "finished"), ("mlp", 1, "finished"),
    ]  # fmt: skip
    assert [g["arch"] for g in data["groups"]] == ["linear", "mlp"]
    assert "linear on cpu epoch 1" in result.stderr and "mlp on cpu epoch 1" in result.stderr
    compared = invoke(
        "compare", "linear", "mlp", "--seeds", "2", *TINY, "--device", "cpu,cpu", "--runs-dir", str(tmp_path), "--json"
    )
    assert compared.exit_code == 0, compared.output
    assert [g["arch"] for g in json.loads(compared.stdout.splitlines()[-1])["groups"]] == ["linear", "mlp"]


@NO_CUDA
def test_cli_sweep_on_all_without_cuda_trains_where_auto_would(tmp_path: Path) -> None:
    result = invoke("sweep", "linear", "--seeds", "1", *TINY, "--device", "all", "--runs-dir", str(tmp_path), "--json")
    assert result.exit_code == 0, result.output
    (run,) = json.loads(result.stdout.splitlines()[-1])["runs"]
    assert RunStore(tmp_path).get(run["run_id"]).config["device"] == str(devices.pick("auto"))


@pytest.mark.parametrize("command", [["train", "linear"], ["compare", "linear"]])
@pytest.mark.parametrize("device", ["cpu,cpu", "all"])
def test_one_run_given_a_list_of_devices_exits_2_saying_lists_are_for_sweeps(
    command: list[str], device: str, tmp_path: Path
) -> None:
    result = invoke(*command, *TINY, "--device", device, "--runs-dir", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert "is for sweep, compare --seeds and ladder" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not RunStore(tmp_path).runs()


@pytest.mark.parametrize(
    ("device", "words"),
    [("cpu,,cpu", "an empty entry"), (",", "no device given"), ("cpu,gpu0", "unknown device 'gpu0'")],
)
@pytest.mark.parametrize("command", [["sweep", "linear"], ["ladder"], ["compare", "linear", "--seeds", "2"]])
def test_a_bad_device_list_exits_2_with_one_line(command: list[str], device: str, words: str, tmp_path: Path) -> None:
    result = invoke(*command, *TINY, "--device", device, "--runs-dir", str(tmp_path))
    assert result.exit_code == 2, result.output
    assert words in result.stderr and len(result.stderr.strip().splitlines()) == 1
