"""Benchmarks: `make bench` (python -m bench). Figures are medians, reported as ratios."""
