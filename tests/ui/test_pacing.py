"""The live redraws' pacer: on time while the UI is cheap, later while it costs more than its share."""

from __future__ import annotations

from tui_cnn.ui.pacing import Pacer


class Clocks:
    """Wall, UI-thread and process CPU clocks that a test moves by hand."""

    def __init__(self) -> None:
        self.wall = self.ui = self.process = 0.0

    def pacer(self, share: float = 0.04, longest_s: float = 2.0) -> Pacer:
        return Pacer(share, longest_s, lambda: self.wall, lambda: self.ui, lambda: self.process)

    def tick(self, wall: float, ui: float, process: float) -> None:
        self.wall += wall
        self.ui += ui
        self.process += process


def test_a_cheap_ui_redraws_at_every_tick() -> None:
    clocks = Clocks()
    pacer = clocks.pacer()
    assert pacer.due()  # the first redraw is never held
    for _ in range(10):
        clocks.tick(0.5, ui=0.01, process=1.0)  # 1% of the process's CPU: a fast box
        assert pacer.due()


def test_a_costly_ui_waits_for_later_ticks_until_its_share_falls() -> None:
    clocks = Clocks()
    pacer = clocks.pacer()
    assert pacer.due()
    clocks.tick(0.5, ui=0.02, process=0.25)  # 8% of half a core
    assert not pacer.due()
    clocks.tick(0.5, ui=0.001, process=0.25)  # no redraw meanwhile: 4.2% over the window
    assert not pacer.due()
    clocks.tick(0.5, ui=0.001, process=0.25)  # 2.9%
    assert pacer.due()
    clocks.tick(0.5, ui=0.001, process=0.25)  # the window started again at that redraw
    assert pacer.due()


def test_a_redraw_never_waits_longer_than_the_longest() -> None:
    clocks = Clocks()
    pacer = clocks.pacer(longest_s=2.0)
    assert pacer.due()
    results = []
    for _ in range(4):
        clocks.tick(0.5, ui=0.1, process=0.5)  # 20%: always over
        results.append(pacer.due())
    assert results == [False, False, False, True]


def test_no_process_time_holds_nothing() -> None:
    clocks = Clocks()
    pacer = clocks.pacer()
    assert pacer.due()
    clocks.tick(0.5, ui=0.0, process=0.0)
    assert pacer.due()
