"""Password hashes for the app's simple login: scrypt (standard library), compared in constant time.

A hash is one string, ``scrypt$<n>$<r>$<p>$<salt hex>$<key hex>``, kept in ``.streamlit/secrets.toml`` as
``[hamacho] password_hash = "..."``. Make one with ``python -m hamacho_core.passwords`` (asks for the password
twice and prints the line to paste). ``hashlib.scrypt`` is memory-hard and ships with Python: no extra package,
and no hand-written crypto; ``hmac.compare_digest`` keeps the comparison time independent of the input.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import secrets
import sys

__all__ = ["hash_password", "verify_password"]

_N, _R, _P = 2**14, 8, 1  # scrypt cost: about 16 MiB and 50 ms per check
_KEY_BYTES = 32


def hash_password(password: str, salt: bytes | None = None) -> str:
    """The storable hash of ``password`` (a fresh random salt unless one is given)."""
    salt = secrets.token_bytes(16) if salt is None else salt
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=_KEY_BYTES)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${key.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the ``stored`` hash; False for a wrong password or a malformed hash."""
    try:
        scheme, n, r, p, salt_hex, key_hex = stored.strip().split("$")
        if scheme != "scrypt":
            return False
        expected = bytes.fromhex(key_hex)
        if len(expected) != _KEY_BYTES:  # a shortened hash would match on its prefix alone
            return False
        key = hashlib.scrypt(password.encode("utf-8"), salt=bytes.fromhex(salt_hex), n=int(n), r=int(r), p=int(p),
                             dklen=len(expected), maxmem=2**27)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(key, expected)


def main() -> int:
    """Ask for a password and print the secrets.toml lines that enable the login."""
    first = getpass.getpass("Password for the Hamacho app: ")
    if len(first) < 8 or first != getpass.getpass("Again: "):
        print("The passwords differ or are shorter than 8 characters; nothing written.", file=sys.stderr)
        return 1
    print("# add to .streamlit/secrets.toml (keep that file out of version control):")
    print("[hamacho]")
    print(f'password_hash = "{hash_password(first)}"')
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
