"""A group's members' events folded into one run's: the mean once every live member reported, the min..max band."""

from __future__ import annotations

import statistics

import pytest

from tui_cnn.experiments.group_progress import GroupEnded, GroupEpoch, GroupProgress, GroupStep
from tui_cnn.training.events import Ended, EpochEnd, Started, Step, Weights

STARTED = Started("mlp", "flatten | linear 10", 7_850, "mnist-5k", "cpu", "CPU", 2, 10, 640, 100, {})


def step(n: int, loss: float, acc: float) -> Step:
    return Step(n, 1, n, loss, acc, 100.0, 0.1 * n, 1.0)


def ended(status: str, acc: float | None, message: str = "") -> Ended:
    return Ended(status, message, 1, acc, acc, 0.5 if acc else None, 2.0, 300.0)  # type: ignore[arg-type]


def test_a_step_comes_out_once_every_member_made_it_as_their_mean_and_band() -> None:
    group = GroupProgress([0, 1, 2])
    assert group.add(0, STARTED) == [STARTED] and group.add(1, STARTED) == []
    assert group.add(0, step(1, 1.0, 0.5)) == [] and group.add(1, step(1, 2.0, 0.6)) == []
    (out,) = group.add(2, step(1, 4.0, 0.7))
    assert isinstance(out, GroupStep)
    assert out.step.loss == pytest.approx(7 / 3) and out.step.acc == pytest.approx(0.6)
    assert (out.loss.min, out.loss.max, out.acc.min, out.acc.max) == (1.0, 4.0, 0.5, 0.7)
    assert out.step.samples_per_s == 300.0  # the members' samples together
    weights = Weights(1, 1, {}, None)
    assert group.add(1, weights) == [] and group.add(0, weights) == [weights]  # the first seed's weights only


def test_a_diverged_member_holds_no_one_back_and_the_group_ends_once_all_did() -> None:
    group = GroupProgress([3, 4])
    group.add(0, step(1, 1.0, 0.5))
    (out,) = group.add(1, ended("diverged", None, "loss was nan at step 1"))  # step 1 now complete without it
    assert isinstance(out, GroupStep) and out.step.loss == 1.0
    (epoch,) = group.add(0, EpochEnd(1, 0.9, 0.6, 0.8, 0.75, 1.0, 100.0))
    assert isinstance(epoch, GroupEpoch) and (epoch.val_acc.min, epoch.val_acc.max) == (0.75, 0.75)
    (end,) = group.add(0, ended("finished", 0.75))
    assert isinstance(end, GroupEnded)
    assert end.ended.status == "diverged" and end.ended.final_val_acc == 0.75
    assert "seed 4: loss was nan at step 1" in end.ended.message and "1 diverged" in end.ended.message
    assert group.add(0, ended("finished", 0.75)) == []  # reported once


def test_epochs_are_the_members_means() -> None:
    group = GroupProgress([0, 1])
    group.add(0, EpochEnd(1, 1.0, 0.5, 0.9, 0.70, 1.0, 100.0))
    (out,) = group.add(1, EpochEnd(1, 2.0, 0.7, 1.1, 0.80, 1.2, 100.0))
    assert out.epoch.val_acc == pytest.approx(statistics.fmean([0.70, 0.80]))
    assert out.epoch.train_loss == pytest.approx(1.5) and (out.val_loss.min, out.val_loss.max) == (0.9, 1.1)
