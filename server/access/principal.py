"""The authenticated caller of a request, and what it may do where."""

from dataclasses import dataclass
from typing import Literal

from server.access.roles import Permission, Role
from server.errors import ClientError
from sync import Scope

PrincipalKind = Literal["device", "session", "machine"]


class Forbidden(ClientError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(403, reason, detail)


@dataclass(frozen=True, slots=True)
class Principal:
    """A device (its account's role and scope), a browser session, or a machine token."""

    kind: PrincipalKind
    permissions: frozenset[Permission]
    # Every grid at or below the units the account (or token) is attached to.
    grids: frozenset[str]
    account_id: str | None = None
    username: str | None = None
    role: Role | None = None
    device_id: str | None = None
    token_id: str | None = None
    ip: str | None = None
    app_version: str | None = None  # a device's, from X-App-Version

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    def require(self, permission: Permission) -> None:
        if permission not in self.permissions:
            raise Forbidden("forbidden", f"your role may not do this (needs {permission})")

    def sync_scope(self) -> Scope:
        """The core's view of a device that may sync."""
        if self.kind != "device" or self.device_id is None:
            raise Forbidden("device_required", "syncing documents needs a device token")
        self.require(Permission.SYNC)
        return Scope(device=self.device_id, grids=self.grids)
