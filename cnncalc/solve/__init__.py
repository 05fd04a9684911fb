"""Solving for free symbols: the bottleneck band search and its option parsers."""
