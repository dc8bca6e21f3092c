"""Training one model: its settings, its data on the device, the loop, its events and optimizers."""
