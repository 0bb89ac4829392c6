"""Nightly jobs: compact, verify, overdue, report, stale devices, backup (docs/nightly.md)."""
