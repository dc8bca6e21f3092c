"""cnn-tui: a terminal lab for small convolutional networks."""

__version__ = "0.1.0"
