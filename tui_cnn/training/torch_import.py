"""Importing torch, which takes a second: once a process, with the cyclic garbage collector paused.

torch's import creates hundreds of thousands of objects, and the collector walks them
again and again as they appear: 0.13 s of a 1.0 s import here (measured with and
without `gc.disable()`). Nothing it creates is garbage, so the pause loses nothing.
"""

from __future__ import annotations

import gc
import sys
import threading

_lock = threading.Lock()  # the app's warm-up and training threads may both get here first


def import_torch() -> None:
    """Import torch now (a no-op once it is imported), without the collector's walks."""
    with _lock:
        if "torch" in sys.modules:
            return
        enabled = gc.isenabled()
        gc.disable()
        try:
            import torch  # noqa: F401 - imported for its cost, paid here
        finally:
            if enabled:
                gc.enable()
