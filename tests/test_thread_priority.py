"""The app's training thread yields the CPU to the UI thread: a lower priority, for that thread alone."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from tui_cnn.training import devices


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="per-thread priorities are Linux's")
def test_lowering_the_priority_touches_only_the_calling_thread() -> None:
    def priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    before = priority()
    seen: dict[str, object] = {}

    def worker() -> None:
        seen["start"] = priority()
        seen["lowered"] = devices.lower_thread_priority(devices.TRAINING_NICE)
        seen["end"] = priority()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen["lowered"] is True
    assert seen["end"] == min(19, seen["start"] + devices.TRAINING_NICE)
    assert priority() == before  # the calling (UI) thread keeps its own


async def test_the_apps_training_thread_lowers_its_own_priority(tmp_path, monkeypatch) -> None:
    from tests.ui import apps

    lowered_in: list[str] = []
    lower = devices.lower_thread_priority

    def recorded(nice: int = devices.TRAINING_NICE) -> bool:
        lowered_in.append(threading.current_thread().name)
        return lower(nice)

    monkeypatch.setattr(devices, "lower_thread_priority", recorded)
    app = apps.make_app(tmp_path, "mlp", batch_size=500)
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.main.training
        await pilot.press("3", "t")
        await apps.first_step(pilot, pane)
        await pane.stop_and_wait()
    assert lowered_in and threading.main_thread().name not in lowered_in
