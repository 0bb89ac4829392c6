"""Making and checking secrets. None is stored or logged in clear.

Tokens, session ids and enrollment codes carry about 50 random bits or more and expire or can be
revoked, so a fast SHA-256 is enough to store them; passwords are guessable, so they get
argon2id, a deliberately slow hash.
"""

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

DEVICE_TOKEN_PREFIX = "dst_"
MACHINE_TOKEN_PREFIX = "dsm_"
# A token a tablet proposes when it rotates: as long and as random as the server's own.
PROPOSED_DEVICE_TOKEN = r"^dst_[A-Za-z0-9_-]{43,128}$"
# Enrollment codes are typed by hand when a camera fails: no 0/O, 1/I/L.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 10

_passwords = PasswordHasher()
# Verified against when the username is unknown, so that both cases take as long.
_NOBODY = _passwords.hash(secrets.token_urlsafe(16))


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def new_enrollment_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return "".join(code.split()).replace("-", "").upper()


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password(password: str) -> str:
    return _passwords.hash(password)


def password_matches(password_hash: str | None, password: str) -> bool:
    try:
        return _passwords.verify(password_hash or _NOBODY, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def csrf_token(session_secret: str) -> str:
    """Bound to the session: a page of another site can neither read nor derive it."""
    return hmac.new(session_secret.encode(), b"doorstep csrf", hashlib.sha256).hexdigest()
