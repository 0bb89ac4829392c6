"""Overdue items and the daily report, as the API serves them."""
