"""Errors of the sync core, each with a machine-readable reason."""

from enum import StrEnum


class Reason(StrEnum):
    """Why the core refused an input; sent to clients as is."""

    EMPTY_UPDATE = "empty_update"
    MALFORMED_UPDATE = "malformed_update"
    UPDATE_TOO_LARGE = "update_too_large"
    MISSING_DEPENDENCIES = "missing_dependencies"
    MISSING_META = "missing_meta"
    SERVER_OWNED_ROOT = "server_owned_root"
    OUT_OF_SCOPE = "out_of_scope"
    UNKNOWN_DOCUMENT = "unknown_document"
    MALFORMED_DOCUMENT_ID = "malformed_document_id"
    MALFORMED_STATE_VECTOR = "malformed_state_vector"
    MALFORMED_CURSOR = "malformed_cursor"
    TOO_DEEP = "too_deep"
    VALUE_TOO_LARGE = "value_too_large"
    UNKNOWN_ROOT = "unknown_root"
    UNSUPPORTED_CONTENT = "unsupported_content"
    APPEND_ONLY = "append_only"
    UNREADABLE_DOCUMENT = "unreadable_document"


class Refused(Exception):
    """An input the core will not take; nothing was stored."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class StoreUnavailable(Exception):
    """The update store failed; the caller may retry the whole request."""
