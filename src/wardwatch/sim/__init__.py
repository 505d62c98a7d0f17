"""Simulated cameras and door terminals, used by the demo, the tests and the benchmarks."""
