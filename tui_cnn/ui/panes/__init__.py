"""The main screen's four panes: architecture, budget, training, kernels."""
