"""The architecture: the spec language and its files, the presets, the budget, and the built model."""
