"""BlockScope: see inside the building blocks of efficient convolutional networks."""

__version__ = "0.1.0"
