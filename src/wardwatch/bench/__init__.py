"""Benchmarks; each prints one JSON object and compares against its issue's targets."""
