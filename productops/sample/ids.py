"""Vendor-style ids drawn from whole numbers, vectorised: Reddit's base 36, the AT
Protocol's base 32, Mastodon's snowflakes.

Each is a bijection of the number it is given, so ids built from `Company.serial` (and
the seed) stay distinct across chunks and seeds.
"""

from __future__ import annotations

import numpy as np

BASE36 = b"0123456789abcdefghijklmnopqrstuvwxyz"
BASE32 = b"abcdefghijklmnopqrstuvwxyz234567"  # RFC 4648, lower case: did:plc, CIDs
BASE32_SORT = b"234567abcdefghijklmnopqrstuvwxyz"  # the AT Protocol's TIDs sort as text


def digits(numbers: np.ndarray, alphabet: bytes, width: int) -> np.ndarray:
    """`numbers` (non-negative) written with `alphabet` in exactly `width` digits."""
    base = np.uint64(len(alphabet))
    values = np.asarray(numbers).astype(np.uint64)
    places = base ** np.arange(width - 1, -1, -1, dtype=np.uint64)
    index = (values[:, None] // places[None, :]) % base
    codes = np.frombuffer(alphabet, dtype=np.uint8)[index.astype(np.intp)]
    return np.ascontiguousarray(codes).view(f"S{width}").ravel().astype(str)


def base36(numbers: np.ndarray) -> np.ndarray:
    """Reddit's ids: base 36 without leading zeros."""
    return np.char.lstrip(digits(numbers, BASE36, 12), "0")


def scramble(numbers: np.ndarray, key: int) -> np.ndarray:
    """A bijection of 64-bit numbers that looks random (odd multiplier, xor-shift)."""
    x = np.asarray(numbers).astype(np.uint64) * np.uint64(key | 1)
    return x ^ (x >> np.uint64(29))


def snowflake(millis: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Mastodon's ids as text: milliseconds since the epoch above 16 bits of sequence."""
    ids = (np.asarray(millis).astype(np.int64) << 16) | (np.asarray(low).astype(np.int64) & 0xFFFF)
    return ids.astype(str)


def random_digits(rng: np.random.Generator, n: int, alphabet: bytes, width: int) -> np.ndarray:
    """n random strings of `width` digits of `alphabet` (a hash's look)."""
    index = rng.integers(0, len(alphabet), (n, width))
    codes = np.frombuffer(alphabet, dtype=np.uint8)[index]
    return np.ascontiguousarray(codes).view(f"S{width}").ravel().astype(str)
