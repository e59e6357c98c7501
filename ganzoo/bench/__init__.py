"""Benchmarks run by `ganzoo bench ...`; figures go to benchmarks/RESULTS.md."""
