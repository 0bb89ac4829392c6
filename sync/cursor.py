"""Pull cursors: an opaque token holding the last sequence seen per grid.

Per grid, so a device that gains a grid starts that grid from the beginning.
"""

import base64
import binascii

import msgspec

from sync.errors import Reason, Refused

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(dict[str, int])


def encode_cursor(seqs: dict[str, int]) -> str:
    return base64.urlsafe_b64encode(_encoder.encode(seqs)).rstrip(b"=").decode()


def decode_cursor(token: str | None) -> dict[str, int]:
    if not token:
        return {}
    try:
        seqs = _decoder.decode(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError, msgspec.DecodeError) as error:
        raise Refused(Reason.MALFORMED_CURSOR, "the cursor is not one this server gave") from error
    if any(seq < 0 for seq in seqs.values()):
        raise Refused(Reason.MALFORMED_CURSOR, "the cursor is not one this server gave")
    return seqs
