"""Landing files as text: which encoding, decided once per file and kept in its manifest entry.

Vendor exports arrive as UTF-8 (with or without a byte-order mark), UTF-16 (Excel's
"Unicode text", with a BOM) or Windows-1252/Latin-1 (older Windows tools). The order:

1. a byte-order mark decides (UTF-8, UTF-16, UTF-32);
2. bytes that are valid UTF-8 are UTF-8 (the common case, and unambiguous);
3. otherwise `charset-normalizer` chooses among the legacy encodings exports really use.
   It is restricted to those on purpose: unrestricted, it reads short Latin-1 text as
   Central European cp1250 ("crčme" for "crème").

Anything else (random bytes, a binary file under a text name) is not text: the caller
rejects the file with that reason rather than staging noise.
"""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

# Legacy encodings exports use, in order of preference when several fit equally well.
LEGACY = ["cp1252", "latin_1", "utf_16_le", "utf_16_be"]
_BOMS = [
    (codecs.BOM_UTF32_LE, "utf_32"),
    (codecs.BOM_UTF32_BE, "utf_32"),
    (codecs.BOM_UTF8, "utf_8_sig"),
    (codecs.BOM_UTF16_LE, "utf_16"),
    (codecs.BOM_UTF16_BE, "utf_16"),
]


class NotText(ValueError):
    """The bytes are not text in an encoding productops reads; the message says why."""


def decode(raw: bytes) -> tuple[str, str]:
    """The text and the name of the encoding it was decoded from."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            try:
                return raw.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise NotText(f"starts with a {encoding} byte-order mark but {exc.reason}") from exc
    try:
        return raw.decode("utf-8"), "utf_8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(raw, cp_isolation=LEGACY).best()
    if best is None or best.chaos > 0.2 or ("\x00" in str(best) and "utf_16" not in best.encoding):
        raise NotText("is not text in UTF-8, UTF-16 or Windows-1252/Latin-1 (binary data?)")
    return str(best), best.encoding
