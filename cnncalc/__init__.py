"""cnncalc: a calculator for convolutional network architectures (shapes, parameters, widths)."""

__version__ = "0.1.0"
