"""The admin HTTP API, one module per area: org units, accounts, devices, machine tokens and
the audit log. `server/admin_api.py` gathers their routes."""
