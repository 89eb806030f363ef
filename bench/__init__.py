"""Benchmarks: one per module, run as `python -m bench.<name>`; the last line of output is JSON."""
