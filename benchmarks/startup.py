"""Start-up: `cnn-tui --help` (whole process) and the app's first frame. One JSON line.

python benchmarks/startup.py --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    helps = [help_seconds() for _ in range(args.repeat)]
    frames = [first_frame_seconds() for _ in range(args.repeat)]
    print(
        json.dumps(
            {
                "benchmark": "startup",
                "help_s_median": round(statistics.median(helps), 3),
                "first_frame_s_median": round(statistics.median(frames), 3),
                "repeat": args.repeat,
            }
        )
    )


if __name__ == "__main__":
    main()
