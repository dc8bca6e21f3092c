"""The long monkey: `python scripts/monkey.py --seed N --keys 3000`; a failure names the seed to replay.

Random keys from every binding of every screen, pane and modal, and resizes between 60x20 and
160x50, while a run trains; then the app must still answer, every run must have a complete
record, and no exception may have reached the log. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.ui.monkey import run_monkey  # noqa: E402 - after the repository is on the path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keys", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = asyncio.run(run_monkey(Path(tmp), args.seed, args.keys))
    print(
        json.dumps(
            {
                "seed": report.seed,
                "keys": report.keys,
                "resizes": report.resizes,
                "seconds": round(report.seconds, 1),
                "ok": True,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
