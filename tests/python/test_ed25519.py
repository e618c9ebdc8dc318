"""The firmware's Ed25519 verification (firmware/core/src/crypto) against `cryptography`
(OpenSSL): signatures made by Ed25519PrivateKey over random keys and messages verify, and
one flipped bit anywhere in the message, the signature or the key is rejected, as
`cryptography` rejects it. Runs the C code through the SIL library (ctypes)."""

from __future__ import annotations

import ctypes
import hashlib
import random
from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from theraloop import sil

OK = 0
ERR_S_NONCANONICAL = 6
ERR_MISMATCH = 7
L = 2**252 + 27742317777372353535851937790883648493
CASES = 2000


@pytest.fixture(scope="module")
def verify() -> Callable[..., int]:
    lib = sil.library()
    fn = lib.tl_ed25519_verify
    fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
    fn.restype = ctypes.c_int
    return fn


@pytest.fixture(scope="module")
def sha512() -> Callable[..., None]:
    fn = sil.library().tl_sha512
    fn.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p]
    fn.restype = None
    return fn


def raw_public(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def openssl_accepts(pub: bytes, sig: bytes, msg: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
    except (InvalidSignature, ValueError):
        return False
    return True


def flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def test_sha512_matches_hashlib(sha512: Callable[..., None]) -> None:
    rng = random.Random(512)
    for n in [*range(0, 300), 1000, 4096, 65537]:
        data = rng.randbytes(n)
        out = ctypes.create_string_buffer(64)
        sha512(data, len(data), out)
        assert out.raw == hashlib.sha512(data).digest(), n


def test_random_signatures_and_single_bit_flips(verify: Callable[..., int]) -> None:
    rng = random.Random(25519)
    for i in range(CASES):
        key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
        pub = raw_public(key)
        msg = rng.randbytes(rng.choice([0, 1, 31, 32, 64, 111, 112, 128, rng.randrange(2000)]))
        sig = key.sign(msg)
        assert verify(sig, msg, len(msg), pub) == OK, i

        where = i % 3  # message, signature, key in turn
        if where == 0 and msg:
            bad_msg, bad_sig, bad_pub = flip(msg, rng.randrange(8 * len(msg))), sig, pub
        elif where == 1 or not msg:
            bad_msg, bad_sig, bad_pub = msg, flip(sig, rng.randrange(512)), pub
        else:
            bad_msg, bad_sig, bad_pub = msg, sig, flip(pub, rng.randrange(256))
        assert not openssl_accepts(bad_pub, bad_sig, bad_msg)
        assert verify(bad_sig, bad_msg, len(bad_msg), bad_pub) != OK, i


def test_wrong_message_is_a_mismatch(verify: Callable[..., int]) -> None:
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    sig = key.sign(b"firmware v1.2.3")
    pub = raw_public(key)
    assert verify(sig, b"firmware v1.2.4", 15, pub) == ERR_MISMATCH


def test_noncanonical_s_rejected_like_openssl(verify: Callable[..., int]) -> None:
    rng = random.Random(8032)
    for _ in range(50):
        key = Ed25519PrivateKey.from_private_bytes(rng.randbytes(32))
        msg = rng.randbytes(40)
        sig = key.sign(msg)
        s = int.from_bytes(sig[32:], "little")
        bad = sig[:32] + (s + L).to_bytes(32, "little")
        assert not openssl_accepts(raw_public(key), bad, msg)
        assert verify(bad, msg, len(msg), raw_public(key)) == ERR_S_NONCANONICAL
