"""Loaded by schemathesis (SCHEMATHESIS_HOOKS) in tests/e2e/test_openapi_fuzz.py: MessagePack
bodies of `POST /api/sync`, sent and read as a tablet does."""

from typing import Any

import msgspec
import schemathesis


def _raw(value: Any) -> Any:
    """Generated data with schemathesis' `Binary` strings (`format: binary`) as bytes."""
    data = getattr(value, "data", None)
    if isinstance(data, bytes):
        return data
    if isinstance(value, dict):
        return {key: _raw(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_raw(item) for item in value]
    return value


def _text(value: Any) -> Any:
    """A decoded answer with its bytes as strings, to validate against `format: binary`."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict):
        return {key: _text(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_text(item) for item in value]
    return value


@schemathesis.serializer("application/msgpack")
def to_msgpack(ctx: Any, value: Any) -> bytes:
    return value if isinstance(value, bytes) else msgspec.msgpack.encode(_raw(value))


@schemathesis.deserializer("application/msgpack")
def from_msgpack(ctx: Any, response: Any) -> Any:
    return _text(msgspec.msgpack.decode(response.content))
