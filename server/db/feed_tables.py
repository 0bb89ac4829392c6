"""Change feed and webhook tables (issue 6)."""
