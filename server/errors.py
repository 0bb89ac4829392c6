"""Errors of the HTTP layer, each with a machine-readable reason."""


class ClientError(Exception):
    """A request the server will not serve; nothing was changed."""

    def __init__(self, status: int, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.status = status
        self.reason = reason
        self.detail = detail


class NotAuthenticated(ClientError):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(401, reason, detail)
