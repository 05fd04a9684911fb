"""Analysis of a spec: evaluation (shapes, params), cost (MACs, memory), receptive fields."""
