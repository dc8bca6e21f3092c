"""A short monkey run in the suite: random keys and resizes while a run trains (the long one: scripts/monkey.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from . import monkey

SEEDS = (1,)
KEYS = 200  # about 25 s here


@pytest.mark.parametrize("seed", SEEDS)
async def test_random_keys_and_resizes_while_training_leave_the_app_answering(tmp_path: Path, seed: int) -> None:
    report = await monkey.run_monkey(tmp_path, seed, KEYS)
    assert len(report.pressed) == KEYS


def test_the_monkey_presses_every_panes_and_screens_keys() -> None:
    keys = monkey.key_pool()
    for key in ("t", "x", "space", "left_square_bracket", "question_mark", "colon", "escape", "enter", "ctrl+p"):
        assert key in keys, key
    assert not monkey.QUITTING & set(keys)
