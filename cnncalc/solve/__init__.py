"""Solving for free symbols: the bottleneck band search and its option parsers.

band.py reads the options; bottleneck.py sets the problem up and dispatches; roots.py solves one
symbol over the reals, integers.py over the integers, enumeration.py several symbols; results.py
holds what they return (numbers only: render/ writes the text).
"""
