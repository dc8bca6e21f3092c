"""What outlives a run: the runs store, comparisons over it, and the log of failed runs."""
