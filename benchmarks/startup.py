"""Start-up and quitting: `cnn-tui --help` (whole process), the app's first frame, and
the time from pressing q in the app to its process being gone. One JSON line.

python benchmarks/startup.py --repeat 5
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time

FIRST_FRAME = """
import asyncio, time
from tui_cnn.app import CnnTuiApp

async def main():
    async with CnnTuiApp().run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        print(time.time(), flush=True)

asyncio.run(main())
"""


def help_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tui_cnn", "--help"], check=True, capture_output=True)
    return time.perf_counter() - start


def first_frame_seconds() -> float:
    """Whole process: interpreter start, imports, app mount, first screen painted.

    The child prints the wall clock at its first frame; the parent started the clock
    before spawning it, so interpreter start-up counts and teardown does not.
    """
    start = time.time()
    out = subprocess.run([sys.executable, "-c", FIRST_FRAME], check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1]) - start


def quit_seconds() -> float:
    """`cnn-tui` in a 120x40 pseudo-terminal: once its screen is up and settled, press q
    and time until the process has ended (the terminal restored, the interpreter gone)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    with tempfile.TemporaryDirectory() as home:
        process = subprocess.Popen(
            [sys.executable, "-m", "tui_cnn"],
            env={**os.environ, "CNN_TUI_HOME": home},
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        screen = b""
        while b"5,274" not in screen:  # the budget pane's total: the first frame is painted
            screen += os.read(master, 1 << 16)
        time.sleep(3.0)  # settled: what the app loads in the background (torch) is loaded
        os.set_blocking(master, False)
        start = time.perf_counter()
        os.write(master, b"q")
        while process.poll() is None:
            try:
                os.read(master, 1 << 16)  # keep the terminal drained, as a real one would be
            except BlockingIOError:
                time.sleep(0.002)
            except OSError:  # no process holds the terminal any more
                process.wait()
        seconds = time.perf_counter() - start
    os.close(master)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    helps = [help_seconds() for _ in range(args.repeat)]
    frames = [first_frame_seconds() for _ in range(args.repeat)]
    quits = [quit_seconds() for _ in range(args.repeat)]
    print(
        json.dumps(
            {
                "benchmark": "startup",
                "help_s_median": round(statistics.median(helps), 3),
                "first_frame_s_median": round(statistics.median(frames), 3),
                "quit_s_median": round(statistics.median(quits), 3),
                "repeat": args.repeat,
            }
        )
    )


if __name__ == "__main__":
    main()
