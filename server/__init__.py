"""Gradscape: a live gradient-descent visualizer."""

__version__ = "0.1.0"
