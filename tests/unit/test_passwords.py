"""The app's simple login: scrypt hashes, checked in constant time; malformed hashes never match."""

from __future__ import annotations

from hamacho_core.passwords import hash_password, verify_password


def test_a_hash_matches_its_password_only() -> None:
    stored = hash_password("Kensa-2025!")
    assert stored.startswith("scrypt$") and "Kensa" not in stored
    assert verify_password("Kensa-2025!", stored)
    assert not verify_password("kensa-2025!", stored)
    assert not verify_password("", stored)
    assert hash_password("Kensa-2025!") != stored  # a fresh salt each time


def test_malformed_or_foreign_hashes_never_match() -> None:
    stored = hash_password("x")
    for broken in ("", "plain-text", stored.replace("scrypt", "md5"), stored[:-4], stored + "$1",
                   "scrypt$zz$8$1$00$00", "scrypt$16384$8$1$nothex$00"):
        assert not verify_password("x", broken), broken
