"""Console tables: saved views (issue 5)."""
