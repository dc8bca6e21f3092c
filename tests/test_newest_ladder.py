"""The newest ladder in the store: a sweep whose groups are the ladder's first rungs, never another sweep."""

from __future__ import annotations

from pathlib import Path

import pytest

from tui_cnn.architecture.presets import preset
from tui_cnn.experiments.ladder_run import ladder_results, ladder_sweep, newest_ladder
from tui_cnn.experiments.sweep import Sweep, member_configs
from tui_cnn.store.runs import RunStore
from tui_cnn.training.config import TrainConfig
from tui_cnn.training.data import Dataset
from tui_cnn.training.events import Ended, EpochEnd, Started

from .subsets import first_digits

pytestmark = pytest.mark.usefixtures("one_thread")  # runs compared sum in one order

CPU = TrainConfig(epochs=1, batch_size=64, device="cpu", weights_every=0.0)


def test_the_newest_ladder_is_found_past_newer_sweeps_and_a_stopped_one_keeps_its_rungs(
    tmp_path: Path, mnist5k: Dataset
) -> None:
    data = first_digits(mnist5k, 128, 100)
    store = RunStore(tmp_path)
    assert newest_ladder(store) is None
    ladder = ladder_sweep(data, CPU, [0, 1], store).run()
    # Newer, and not ladders: a sweep of simple_cnn and mlp (not the ladder's first rungs), and one of mlp alone.
    configs = member_configs(CPU, [0, 1], [CPU.lr])
    Sweep([("simple_cnn", preset("simple_cnn")), ("mlp", preset("mlp"))], data, configs, store).run()
    Sweep([("mlp", preset("mlp"))], data, configs, store).run()
    found = newest_ladder(store)
    assert found is not None and found.sweep_id == ladder.sweep_id and found.dataset == data.name
    assert found.rungs == ladder_results(ladder.groups)
    # A ladder stopped after its second rung is a ladder too, with the two rungs it finished.
    stopped: list[str] = []
    sweeps: list[Sweep] = []

    def stop_after_dense_cnn(result) -> None:
        stopped.append(result.arch)
        if result.arch == "dense_cnn":
            sweeps[0].stop()

    sweeps.append(ladder_sweep(data, CPU, [0], store, on_rung=stop_after_dense_cnn))
    partial = sweeps[0].run()
    found = newest_ladder(store)
    assert stopped == ["mlp", "dense_cnn"] and found is not None and found.sweep_id == partial.sweep_id
    assert [r.arch for r in found.rungs] == ["mlp", "dense_cnn"] and all(r.n == 1 for r in found.rungs)
    store.close()


def test_a_ladder_whose_rungs_started_out_of_order_is_found_in_ladder_order(tmp_path: Path) -> None:
    """Over several devices the second rung may start first: the store files it first, the ladder reads in order."""
    store = RunStore(tmp_path)
    params = {"mlp": 39_760, "dense_cnn": 1_040_866}
    for arch in ("dense_cnn", "mlp"):
        for seed, acc in ((0, 0.9), (1, 0.92)):
            config = {**CPU.to_dict(), "seed": seed}
            recorder = store.recorder(group_id=f"g-{arch}", sweep_id="s-devices")
            recorder(Started(arch, arch, params[arch], "mnist-5k", "cpu", "CPU", 1, 2, 128, 100, config))
            recorder(EpochEnd(1, 1.0, 0.8, 0.5, acc, 0.1, 1000.0))
            recorder(Ended("finished", "", 1, acc, acc, 1.0, 0.1, 1000.0))
    found = newest_ladder(store)
    assert found is not None and found.sweep_id == "s-devices"
    assert [(r.arch, r.params, r.n) for r in found.rungs] == [("mlp", 39_760, 2), ("dense_cnn", 1_040_866, 2)]
    store.close()
