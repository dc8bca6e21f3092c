"""Experiments over the core: one run end to end, and (built on it) groups, sweeps, the ladder, the probes."""
