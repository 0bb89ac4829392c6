"""Overdue flags and daily report figures (issue 6)."""
