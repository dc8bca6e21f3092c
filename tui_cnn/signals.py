"""SIGHUP (a dropped SSH session) and SIGTERM in the app: stop the run, complete its record, then exit.

Without this both signals end the process at once and the run stays "running" until
the store is next opened. The handler does the least it can, because Python runs it
in the main thread between any two bytecodes, even while the event loop is stuck: a
terminal that has gone away makes writes fail, and once Textual's writer thread has
died on one, the loop blocks for good on the next. So the handler only asks the run
to stop (a thread-safe flag the trainer checks between steps), moves the standard
streams off a terminal that has hung up, and starts a watchdog thread. The watchdog
waits for the training thread to finish its record (it writes to SQLite, never to the
terminal), asks the app to exit, and ends the process itself if the app cannot.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

try:
    import termios
except ImportError:  # Windows: no SIGHUP and no hang-ups to detect
    termios = None  # type: ignore[assignment]

RUN_GRACE_S = 60.0  # for the run to stop between steps and write its record
EXIT_GRACE_S = 10.0  # then for the app to restore the terminal and return
HUNG_UP_EXIT_GRACE_S = 2.0  # with no terminal left to restore (Textual's writer may be dead on EIO)


class Stoppable(Protocol):
    def request_stop(self) -> None:
        """Ask the run to stop between steps; safe from a signal handler or any thread."""

    def wait_idle(self, timeout: float) -> bool:
        """Block until no run is going (its record complete); False on timeout."""


def exit_code(signum: int) -> int:
    """The shell's convention for a process ended by a signal: 128 + its number (SIGHUP 129, SIGTERM 143)."""
    return 128 + signum


def terminal_gone(fd: int) -> bool:
    """True when `fd` was a terminal that has hung up (its ioctls fail with EIO)."""
    if termios is None:
        return False
    try:
        termios.tcgetattr(fd)
    except termios.error as exc:
        return bool(exc.args) and exc.args[0] == errno.EIO  # ENOTTY means it never was a terminal
    return False


def detach_from_terminal() -> None:
    """Point stdin at a pipe nobody writes and stdout and stderr at /dev/null.

    The app's threads keep their file numbers: reads now wait quietly instead of spinning
    on end-of-file, and writes succeed instead of failing with EIO.
    """
    read_end, _write_end = os.pipe()  # the write end stays open for the life of the process
    os.dup2(read_end, 0)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)
    os.close(read_end)


class ExitOnSignals:
    """While entered, SIGHUP and SIGTERM stop the runs, wait for their records, then leave.

    runs: called in the handler, the runs to stop (the app's training panes).
    leave: asks the app to exit with a code; called from the watchdog thread, must not block.
    """

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGHUP", "SIGTERM") if hasattr(signal, name))

    def __init__(
        self,
        runs: Callable[[], Iterable[Stoppable]],
        leave: Callable[[int], None],
        *,
        run_grace: float = RUN_GRACE_S,
        exit_grace: float = EXIT_GRACE_S,
    ) -> None:
        self.runs = runs
        self.leave = leave
        self.run_grace = run_grace
        self.exit_grace = exit_grace
        self.signum: int | None = None
        self._ttys: list[int] = []
        self._saved: dict[int, object] = {}

    def __enter__(self) -> ExitOnSignals:
        self._ttys = [fd for fd in (0, 1, 2) if os.isatty(fd)]
        for sig in self.SIGNALS:
            self._saved[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._saved.clear()

    def _handle(self, signum: int, frame: object) -> None:
        if any(terminal_gone(fd) for fd in self._ttys):
            with contextlib.suppress(OSError):
                detach_from_terminal()
            self._ttys = []
            self.exit_grace = min(self.exit_grace, HUNG_UP_EXIT_GRACE_S)
        if self.signum is not None:
            return  # already on the way out
        self.signum = signum
        try:
            runs = list(self.runs())
            for run in runs:
                run.request_stop()
        except Exception:  # noqa: BLE001 - raised here it would surface in whatever the main thread was doing
            runs = []  # the app's own exit still stops the run, without waiting for it
        threading.Thread(target=self._watch, args=(runs, exit_code(signum)), name="exit-on-signal", daemon=True).start()

    def _watch(self, runs: list[Stoppable], code: int) -> None:
        deadline = time.monotonic() + self.run_grace
        for run in runs:
            run.wait_idle(max(0.0, deadline - time.monotonic()))
        with contextlib.suppress(Exception):
            self.leave(code)
        time.sleep(self.exit_grace)  # a daemon thread: a normal exit ends it while it sleeps
        os._exit(code)  # the app could not exit (a dead terminal blocked it); the records are complete
