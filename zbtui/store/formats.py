"""Pure parsers and encoders for the value formats found in store databases.

Store paths, nix-base32, SRI, content addresses, hash text and UUID blobs.
Everything here is a pure function over strings and bytes: no I/O, no SQL.
The formats are described in ``shared/spec/zb-format.md`` §2.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from dataclasses import dataclass

__all__ = [
    "NIX32_ALPHABET",
    "HASH_SIZES",
    "ContentAddress",
    "HashValue",
    "StorePath",
    "nix32_decode",
    "nix32_encode",
    "parse_content_address",
    "parse_hash",
    "parse_store_path",
    "split_store_path",
    "uuid_from_blob",
    "uuid_to_blob",
    "uuid7_time_ms",
]

NIX32_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"
"""Nix's base-32 alphabet: no ``e``, ``o``, ``t`` or ``u``."""

_NIX32_INDEX = {c: i for i, c in enumerate(NIX32_ALPHABET)}

HASH_SIZES: dict[str, int] = {"md5": 16, "sha1": 20, "sha256": 32, "sha512": 64}
"""Digest sizes in bytes of the hash algorithms zb and Nix use."""

DIGEST_CHARS = 32
"""A store path digest is 32 nix-base32 characters (20 bytes)."""

_NAME_RE = re.compile(r"[A-Za-z0-9+\-._?=]+")
# zb's isNameChar allows [A-Za-z0-9+-._=]; Nix additionally allows '?'.
MAX_NAME_LENGTH = 211
"""Longest store object name (zb ``maxObjectNameLength``)."""


def nix32_encode(data: bytes) -> str:
    """Encode bytes in nix-base32.

    The encoded length is ``(n*8+4)//5``; characters are emitted for
    ``k = len-1 … 0``, each taking the 5 bits starting at bit ``k*5`` of the
    little-endian byte string.
    """
    length = (len(data) * 8 + 4) // 5
    value = int.from_bytes(data, "little")
    return "".join(NIX32_ALPHABET[(value >> (k * 5)) & 0x1F] for k in range(length - 1, -1, -1))


def nix32_decode(text: str) -> bytes:
    """Decode nix-base32 text.

    Raises:
        ValueError: on a character outside the alphabet or non-zero padding bits.
    """
    n = len(text) * 5 // 8
    value = 0
    for k, char in enumerate(reversed(text)):
        digit = _NIX32_INDEX.get(char)
        if digit is None:
            raise ValueError(f"invalid nix-base32 character {char!r}")
        value |= digit << (k * 5)
    if value >> (n * 8):
        raise ValueError("nix-base32 text has non-zero padding bits")
    return value.to_bytes(n, "little")


@dataclass(frozen=True, slots=True)
class HashValue:
    """A hash: the algorithm name and the raw digest bytes.

    Every encoding found in a database (SRI, nix-base32, hex, raw blob) is
    normalised to this, and re-encoded only for display.
    """

    algorithm: str
    digest: bytes

    @property
    def sri(self) -> str:
        """``<algo>-<base64>`` as zb stores ``nar_hash``."""
        return f"{self.algorithm}-{base64.b64encode(self.digest).decode()}"

    @property
    def nix32(self) -> str:
        """``<algo>:<nix-base32>`` as ``zb store object info`` and Nix signatures show it."""
        return f"{self.algorithm}:{nix32_encode(self.digest)}"

    @property
    def hex(self) -> str:
        """``<algo>:<hex>`` as Nix stores ``ValidPaths.hash``."""
        return f"{self.algorithm}:{self.digest.hex()}"

    @property
    def b64(self) -> str:
        """The digest alone in standard base64 with padding."""
        return base64.b64encode(self.digest).decode()


def parse_hash(text: str, algorithm: str | None = None) -> HashValue:
    """Parse hash text as zb's ``nix.ParseHash`` does.

    Accepts ``<algo>:<hex|nix32|base64>`` (the encoding is chosen by length),
    ``<algo>-<base64>`` (SRI), or a bare digest when ``algorithm`` is given.

    Raises:
        ValueError: when the text is not a hash of a known algorithm.
    """
    text = text.strip()
    if ":" in text and (algorithm is None or text.split(":", 1)[0] in HASH_SIZES):
        algorithm, body = text.split(":", 1)
    elif "-" in text and text.split("-", 1)[0] in HASH_SIZES:
        algorithm, body = text.split("-", 1)
        return HashValue(algorithm, _b64_exact(body, HASH_SIZES[algorithm]))
    elif algorithm is not None:
        body = text
    else:
        raise ValueError(f"not a hash: {text[:80]!r}")
    size = HASH_SIZES.get(algorithm)
    if size is None:
        raise ValueError(f"unknown hash algorithm {algorithm!r}")
    if len(body) == size * 2:
        try:
            return HashValue(algorithm, bytes.fromhex(body))
        except ValueError:
            raise ValueError(f"invalid hex digest for {algorithm}") from None
    if len(body) == (size * 8 + 4) // 5:
        return HashValue(algorithm, nix32_decode(body))
    return HashValue(algorithm, _b64_exact(body, size))


def _b64_exact(body: str, size: int) -> bytes:
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("invalid base64 digest") from None
    if len(raw) != size:
        raise ValueError(f"digest is {len(raw)} bytes, expected {size}")
    return raw


@dataclass(frozen=True, slots=True)
class StorePath:
    """A parsed store path ``<dir>/<digest>-<name>``."""

    path: str
    directory: str
    digest: str
    name: str

    @property
    def base(self) -> str:
        """The base name ``<digest>-<name>``."""
        return f"{self.digest}-{self.name}"

    @property
    def is_drv(self) -> bool:
        """Whether this names a derivation (``.drv``)."""
        return self.name.endswith(".drv")


def split_store_path(path: str) -> tuple[str, str, str]:
    """Split any path into (directory, digest, name) without validating.

    Works for Unix and Windows separators; a base name without a ``-`` after a
    32-character digest gives an empty digest and the whole base as name. This
    never raises, so a damaged database still lists.
    """
    cut = max(path.rfind("/"), path.rfind("\\"))
    directory, base = (path[:cut], path[cut + 1 :]) if cut >= 0 else ("", path)
    if len(base) > DIGEST_CHARS and base[DIGEST_CHARS] == "-":
        return directory, base[:DIGEST_CHARS], base[DIGEST_CHARS + 1 :]
    return directory, "", base


def parse_store_path(path: str) -> StorePath:
    """Parse and validate a store path.

    Raises:
        ValueError: with the reason, when the path is not a valid store path.
    """
    directory, digest, name = split_store_path(path)
    if not directory:
        raise ValueError(f"not an absolute store path: {path!r}")
    if not digest or any(c not in _NIX32_INDEX for c in digest):
        raise ValueError(f"store path has no 32-character nix-base32 digest: {path!r}")
    if not name or len(name) > MAX_NAME_LENGTH or not _NAME_RE.fullmatch(name):
        raise ValueError(f"invalid store object name in {path!r}")
    return StorePath(path=path, directory=directory, digest=digest, name=name)


@dataclass(frozen=True, slots=True)
class ContentAddress:
    """A parsed content address (``objects.ca`` / ``ValidPaths.ca``).

    Attributes:
        raw: The text as stored.
        method: ``text`` (a text file such as a ``.drv``), ``flat`` (a single
            file hashed as-is) or ``nar`` (hashed as a NAR serialisation).
        hash: The hash the address asserts.
    """

    raw: str
    method: str
    hash: HashValue

    @property
    def is_source(self) -> bool:
        """zb's ``IsSourceContentAddress``: recursive (NAR) and sha256."""
        return self.method == "nar" and self.hash.algorithm == "sha256"

    def explain(self) -> str:
        """A one-line human explanation of what the address asserts."""
        algo = self.hash.algorithm
        if self.method == "text":
            return f"text file addressed by its {algo} (derivations, generated text)"
        if self.method == "flat":
            return f"fixed output: a single file with this {algo} of its contents"
        if self.is_source:
            return f"source: the {algo} of its NAR serialisation (may refer to itself)"
        return f"fixed output: the {algo} of its NAR serialisation (recursive)"


def parse_content_address(text: str) -> ContentAddress:
    """Parse ``text:<algo>:<h>``, ``fixed:<algo>:<h>`` or ``fixed:r:<algo>:<h>``.

    Raises:
        ValueError: for any other shape or an undecodable hash.
    """
    parts = text.split(":")
    if len(parts) == 3 and parts[0] == "text":
        method = "text"
    elif len(parts) == 3 and parts[0] == "fixed":
        method = "flat"
    elif len(parts) == 4 and parts[0] == "fixed" and parts[1] == "r":
        method = "nar"
    else:
        raise ValueError(f"not a content address: {text[:80]!r}")
    algorithm, body = parts[-2], parts[-1]
    if algorithm not in HASH_SIZES:
        raise ValueError(f"unknown hash algorithm {algorithm!r} in content address")
    return ContentAddress(raw=text, method=method, hash=parse_hash(body, algorithm=algorithm))


def uuid_from_blob(blob: object) -> str | None:
    """Canonical lowercase text of a 16-byte UUID blob, or None for anything else.

    Mirrors zb's ``uuidhex``: a blob of another length is not an id.
    """
    if isinstance(blob, bytes | bytearray | memoryview) and len(blob) == 16:
        return str(uuid.UUID(bytes=bytes(blob)))
    return None


def uuid_to_blob(text: str) -> bytes:
    """The 16 raw bytes of a canonical UUID string.

    Raises:
        ValueError: when the text is not a UUID.
    """
    return uuid.UUID(text.strip()).bytes


def uuid7_time_ms(text: str) -> int | None:
    """The creation time (ms since the epoch) carried by a UUIDv7, else None."""
    try:
        value = uuid.UUID(text)
    except ValueError:
        return None
    if value.version != 7:
        return None
    return value.int >> 80
