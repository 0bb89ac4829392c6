"""Benchmarks that run against a real server process (`python -m bench.sync_burst`)."""
