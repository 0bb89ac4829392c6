"""Shortcuts for tests and benchmarks that need many tablets at once."""

import uuid

from server.access.audit import SYSTEM
from server.access.authenticate import Access
from server.access.org import Level, Unit
from server.access.roles import Role


async def enrolled_device(access: Access, grid: str, name: str, role: Role) -> str:
    """A device token for a new account of `role` serving `grid` (made if missing)."""
    await access.org.put_missing(Unit(grid, grid, Level.GRID), SYSTEM)
    username = f"{name}-{uuid.uuid4().hex[:8]}"
    account = await access.accounts.create(username, name, role, [grid], None, SYSTEM)
    return (await access.devices.add(account, f"{name}的平板", SYSTEM)).token
