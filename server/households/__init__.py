"""Importing a community's households register (CSV or XLSX) as household documents."""
