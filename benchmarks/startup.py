"""Start-up and quitting: `cnn-tui --help` (whole process), the app's first frame, and
the time from pressing q in the app to its process being gone. One JSON line.

python benchmarks/startup.py --repeat 5

The app runs as a user runs it: `cnn-tui` in a 120x40 pseudo-terminal. Its first frame
is the moment the budget pane's total (5,274, simple_cnn's) reaches the terminal.
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

PAINTED = b"5,274"
SETTLE_S = 3.0  # before pressing q: what the app loads in the background (torch) is loaded


def help_seconds() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "tui_cnn", "--help"], check=True, capture_output=True)
    return time.perf_counter() - start


def app_seconds() -> tuple[float, float]:
    """(spawn to first frame, q to process gone) for one `cnn-tui` in a pseudo-terminal."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    with tempfile.TemporaryDirectory() as home:
        start = time.perf_counter()
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
        while PAINTED not in screen:
            screen += os.read(master, 1 << 16)
        first_frame = time.perf_counter() - start
        time.sleep(SETTLE_S)
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
        quit_time = time.perf_counter() - start
    os.close(master)
    return first_frame, quit_time


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    helps = [help_seconds() for _ in range(args.repeat)]
    frames, quits = zip(*(app_seconds() for _ in range(args.repeat)), strict=True)
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
