"""Nightly job tables: run records and the job lock (issue 6)."""
