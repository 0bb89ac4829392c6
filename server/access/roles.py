"""Roles (docs/access.md) and what each may do. One role per account."""

from enum import StrEnum


class Role(StrEnum):
    GRID_MEMBER = "grid_member"
    GRID_LEADER = "grid_leader"
    MEDIATOR = "mediator"
    COORDINATOR = "coordinator"
    STREET_OFFICER = "street_officer"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS = {
    Role.GRID_MEMBER: "网格员",
    Role.GRID_LEADER: "网格长",
    Role.MEDIATOR: "调解员",
    Role.COORDINATOR: "社区工作人员",
    Role.STREET_OFFICER: "街道干部",
    Role.ADMIN: "系统管理员",
}


class Permission(StrEnum):
    SYNC = "sync"  # push and pull documents from a device
    READ_RECORDS = "read_records"  # the read API, personal data masked
    PERSONAL_DATA = "personal_data"  # ask for ID and phone numbers in full (audited)
    REVIEW = "review"  # approve, send back, escalate, resolve conflicts
    MANAGE_DEVICES = "manage_devices"  # enroll, rename, revoke, rotate devices in scope
    ADMIN = "admin"  # org tree, accounts, machine tokens, audit log; everywhere


_FIELD = {Permission.SYNC, Permission.READ_RECORDS}
# Admins manage people and devices but read no records: least privilege, and their
# reach is the whole tree, so reading would be the widest view of residents' data.
PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.GRID_MEMBER: frozenset(_FIELD),
    Role.GRID_LEADER: frozenset(_FIELD | {Permission.PERSONAL_DATA}),
    Role.MEDIATOR: frozenset(_FIELD | {Permission.PERSONAL_DATA}),
    Role.COORDINATOR: frozenset(
        _FIELD | {Permission.PERSONAL_DATA, Permission.REVIEW, Permission.MANAGE_DEVICES}
    ),
    Role.STREET_OFFICER: frozenset(
        {Permission.READ_RECORDS, Permission.PERSONAL_DATA, Permission.REVIEW}
    ),
    Role.ADMIN: frozenset({Permission.MANAGE_DEVICES, Permission.ADMIN}),
}
# What a machine token may do, whatever its scope.
MACHINE_PERMISSIONS = frozenset({Permission.READ_RECORDS})
