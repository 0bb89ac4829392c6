"""Pull cursors: an opaque token holding the last sequence seen per grid.

Per grid, so a device that gains a grid starts that grid from the beginning. A grid still
being joined (pulled whole, the device's own updates included) is stored as -(seq + 1):
cursors of older servers never hold a negative number, so both kinds decode.
"""

import base64
import binascii
from collections.abc import Set
from typing import Annotated

import msgspec

from sync.errors import Reason, Refused

_encoder = msgspec.msgpack.Encoder()
# What a database can hold (BIGINT), with room for the joining mark; a grid code's length.
_Seq = Annotated[int, msgspec.Meta(ge=-(2**62), le=2**62)]
_Grid = Annotated[str, msgspec.Meta(max_length=64)]
_decoder = msgspec.msgpack.Decoder(Annotated[dict[_Grid, _Seq], msgspec.Meta(max_length=10_000)])


def encode_cursor(seqs: dict[str, int], joining: Set[str] = frozenset()) -> str:
    stored = {grid: -(seq + 1) if grid in joining else seq for grid, seq in seqs.items()}
    return base64.urlsafe_b64encode(_encoder.encode(stored)).rstrip(b"=").decode()


def decode_cursor(token: str | None) -> tuple[dict[str, int], frozenset[str]]:
    """The sequence seen per grid, and the grids still being joined."""
    if not token:
        return {}, frozenset()
    try:
        stored = _decoder.decode(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, msgspec.DecodeError) as error:
        raise Refused(Reason.MALFORMED_CURSOR, "the cursor is not one this server gave") from error
    joining = frozenset(grid for grid, seq in stored.items() if seq < 0)
    return {grid: -seq - 1 if seq < 0 else seq for grid, seq in stored.items()}, joining
