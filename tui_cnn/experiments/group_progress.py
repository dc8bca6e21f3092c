"""A group's progress as one run's: its members' events folded into their mean, with their spread for a band.

A group's members report the same steps and epochs (they train in one step), so once every
live member has reported a step, the group has a step: the members' mean loss and accuracy,
and their spread (`store.groups.Spread`; the app's Training pane draws its min..max as a
band). Pure: events in, events out, no torch.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..store.groups import Spread, spread
from ..training.events import Ended, EpochEnd, Event, Started, Step, Weights


@dataclass(frozen=True)
class GroupStep:
    step: Step  # the members' mean loss and accuracy; their samples/s summed
    loss: Spread
    acc: Spread


@dataclass(frozen=True)
class GroupEpoch:
    epoch: EpochEnd  # the members' means
    val_loss: Spread
    val_acc: Spread


@dataclass(frozen=True)
class GroupEnded:
    ended: Ended  # the group's: "finished" when every member did; its accuracies the finished members' mean
    members: tuple[Ended, ...]


GroupEvent = Started | GroupStep | GroupEpoch | Weights | GroupEnded


def _mean(values: Sequence[float]) -> float:
    return statistics.fmean(values)


class GroupProgress:
    """Feed it `(member, event)`; it returns the group's events as they complete (often none).

    Started is the first member's; Weights only member 0's (the Kernels pane shows the first
    seed's weights). A member that ended (diverged, say) no longer holds the others back.
    """

    def __init__(self, seeds: Sequence[int]) -> None:
        self.seeds = list(seeds)
        self.members = len(self.seeds)
        self.ended: dict[int, Ended] = {}
        self._done = False
        self._steps: dict[int, dict[int, Step]] = {}
        self._epochs: dict[int, dict[int, EpochEnd]] = {}
        self._started = False

    def _live(self) -> int:
        return self.members - len(self.ended)

    def add(self, member: int, event: Event) -> list[GroupEvent]:
        if isinstance(event, Started):
            if self._started:
                return []
            self._started = True
            return [event]
        if isinstance(event, Weights):
            return [event] if member == 0 else []
        if isinstance(event, Step):
            self._steps.setdefault(event.step, {})[member] = event
        elif isinstance(event, EpochEnd):
            self._epochs.setdefault(event.epoch, {})[member] = event
        elif isinstance(event, Ended):
            self.ended[member] = event
        return self._complete()

    def _complete(self) -> list[GroupEvent]:
        out: list[GroupEvent] = []
        live = self._live()
        for number in sorted(self._steps):
            got = self._steps[number]
            if len(got) < live and live > 0:
                break
            del self._steps[number]
            steps = list(got.values())
            first = steps[0]
            mean = replace(
                first,
                loss=_mean([s.loss for s in steps]),
                acc=_mean([s.acc for s in steps]),
                samples_per_s=sum(s.samples_per_s for s in steps),
            )
            out.append(GroupStep(mean, spread([s.loss for s in steps]), spread([s.acc for s in steps])))
        for number in sorted(self._epochs):
            got = self._epochs[number]
            if len(got) < live and live > 0:
                break
            del self._epochs[number]
            epochs = list(got.values())
            mean = replace(
                epochs[0],
                train_loss=_mean([e.train_loss for e in epochs]),
                train_acc=_mean([e.train_acc for e in epochs]),
                val_loss=_mean([e.val_loss for e in epochs]),
                val_acc=_mean([e.val_acc for e in epochs]),
                samples_per_s=sum(e.samples_per_s for e in epochs),
            )
            out.append(GroupEpoch(mean, spread([e.val_loss for e in epochs]), spread([e.val_acc for e in epochs])))
        if live == 0 and not self._done:
            self._done = True
            out.append(self._group_ended())
        return out

    def _group_ended(self) -> GroupEnded:
        from .sweep import sweep_status  # deferred: sweep imports the trainers (torch); this module stays light

        members = tuple(self.ended[k] for k in range(self.members))
        statuses = [e.status for e in members]
        finished = [e for e in members if e.status == "finished"]
        counts = {s: statuses.count(s) for s in dict.fromkeys(statuses)}
        message = "; ".join(f"seed {s}: {e.message}" for s, e in zip(self.seeds, members, strict=True) if e.message)

        def mean_of(values: list[float | None]) -> float | None:
            known = [v for v in values if v is not None]
            return _mean(known) if known else None

        ended = Ended(
            sweep_status(statuses),  # type: ignore[arg-type]
            ", ".join(f"{n} {s}" for s, n in counts.items()) + (f" ({message})" if message else ""),
            max(e.epochs_done for e in members),
            mean_of([e.best_val_acc for e in finished]),
            mean_of([e.final_val_acc for e in finished]),
            mean_of([e.train_loss for e in finished]),
            max(e.seconds for e in members),
            sum(e.samples_per_s for e in members),
            members[0].state_dict,
        )
        return GroupEnded(ended, members)
