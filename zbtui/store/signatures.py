"""Signature messages and Ed25519 verification for zb realizations and Nix paths.

zb signs a realization as the RFC 8785 canonical JSON of
``{derivationHash, outputName, outputPath, referenceClasses}`` (spec §3).
Nix signs a store path as the text fingerprint
``1;<path>;sha256:<nix32>;<narSize>;<sorted refs>`` and a realisation as the
compact, key-sorted JSON of the realisation without its ``signatures``.

Nothing here touches the database: callers pass the column values in.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import os.path
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import rfc8785
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

if TYPE_CHECKING:
    from zbtui.store.trust import NixKeys, ZbTrust

__all__ = [
    "ED25519",
    "ED25519_PUBLIC_KEY_BYTES",
    "ED25519_SEED_BYTES",
    "ED25519_SIGNATURE_BYTES",
    "SigStatus",
    "check_nix_signature",
    "canonical_json",
    "check_zb_signature",
    "nix_path_fingerprint",
    "nix_realisation_fingerprint",
    "parse_nix_signature",
    "sign_zb_realization",
    "verify_ed25519",
    "zb_realization_document",
    "zb_realization_message",
]

ED25519 = "ed25519"
ED25519_PUBLIC_KEY_BYTES = 32
ED25519_SIGNATURE_BYTES = 64
ED25519_SEED_BYTES = 32

_NIX32_ALPHABET = "0123456789abcdfghijklmnpqrsvwxyz"
_SHA256_BYTES = 32


class SigStatus(enum.StrEnum):
    """What checking one signature found.

    The values are stable strings: they end up in models and in the UI.
    """

    TRUSTED = "trusted"
    VALID_UNTRUSTED = "valid-untrusted"
    INVALID = "invalid"
    UNSUPPORTED = "unsupported"
    MALFORMED = "malformed"
    UNKNOWN_KEY = "unknown-key"


# --------------------------------------------------------------------------
# Ed25519
# --------------------------------------------------------------------------


def verify_ed25519(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """Verify a detached pure-Ed25519 signature.

    Args:
        public_key: The 32-byte public key.
        message: The exact signed bytes.
        signature: The 64-byte signature.

    Returns:
        True only if the signature verifies; False for wrong lengths, a key
        that is not a valid curve point, or any other failure. Never raises,
        because a browser must survive whatever a database holds.
    """
    if len(public_key) != ED25519_PUBLIC_KEY_BYTES or len(signature) != ED25519_SIGNATURE_BYTES:
        return False
    try:
        VerifyKey(bytes(public_key)).verify(bytes(message), bytes(signature))
    except BadSignatureError:
        return False
    except Exception:  # noqa: BLE001 - junk keys make libsodium raise assorted errors
        return False
    return True


def sign_zb_realization(seed: bytes, message: bytes) -> bytes:
    """Sign a message with Ed25519, as ``zb serve`` signs realizations.

    Used by the demo store builder and the tests to produce real signatures.

    Args:
        seed: The 32-byte private seed (zb key files hold exactly this), or a
            64-byte Go ``ed25519.PrivateKey`` (seed ‖ public key).
        message: The bytes to sign, normally from `zb_realization_message`.

    Returns:
        The 64-byte detached signature.

    Raises:
        ValueError: The seed has the wrong length.
    """
    if len(seed) == 2 * ED25519_SEED_BYTES:
        # Go's PrivateKey carries the public half after the seed.
        seed = seed[:ED25519_SEED_BYTES]
    if len(seed) != ED25519_SEED_BYTES:
        raise ValueError(f"Ed25519 seed must be {ED25519_SEED_BYTES} bytes, got {len(seed)}")
    return SigningKey(bytes(seed)).sign(bytes(message)).signature


# --------------------------------------------------------------------------
# zb realizations
# --------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.standard_b64encode(data).decode("ascii")


def _hash_json(algorithm: str, bits: bytes) -> dict[str, str]:
    # MarshalHashJSONTo: an object with the raw digest in padded std base64,
    # not the SRI string.
    return {"algorithm": algorithm, "digest": _b64(bits)}


def _reference_class_json(
    ref: tuple[str, str | None, bytes | None, str | None],
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Build one ``referenceClasses`` entry and its sort key."""
    path, algorithm, bits, output_name = ref
    if algorithm is None:
        # A zero RealizationOutputReference marshals as null (a source, not a
        # derivation output); the LEFT JOIN leaves the algorithm NULL for it.
        key: tuple[Any, ...] = (path.encode("utf-8"), 0, b"", b"", b"")
        return key, {"path": path, "realization": None}
    if bits is None:
        raise ValueError(f"reference class for {path!r} has algorithm {algorithm!r} but no digest")
    digest = _b64(bits)
    name = output_name if output_name is not None else ""
    # Go compares strings byte-wise, and compares the digest as its base64
    # text rather than as raw bytes (compareRealizationOutputReferences).
    key = (
        path.encode("utf-8"),
        1,
        algorithm.encode("utf-8"),
        digest.encode("ascii"),
        name.encode("utf-8"),
    )
    return key, {
        "path": path,
        "realization": {"derivationHash": _hash_json(algorithm, bits), "outputName": name},
    }


def zb_realization_message(
    drv_hash_algorithm: str,
    drv_hash_bits: bytes,
    output_name: str,
    output_path: str,
    reference_classes: Iterable[tuple[str, str | None, bytes | None, str | None]],
) -> bytes:
    """Build the exact bytes zb signs for a realization (spec §3).

    Args:
        drv_hash_algorithm: ``drv_hashes.algorithm``, e.g. ``sha256``.
        drv_hash_bits: ``drv_hashes.bits``, the raw digest.
        output_name: The realization's output name.
        output_path: The realization's output store path.
        reference_classes: ``(path, ref algorithm, ref bits, ref output name)``
            tuples; the last three are None for a reference that is not a
            derivation output. Duplicates are kept, as zb keeps them: the
            caller deduplicates (SQL ``DISTINCT``) because a signer never saw
            the duplicated NULL rows.

    Returns:
        RFC 8785 canonical JSON bytes (see `canonical_json`: ~35 µs instead of
        ~180 µs through ``rfc8785`` for a typical message).

    Raises:
        ValueError: A reference class names an algorithm but has no digest,
            or a text holds a lone surrogate (not UTF-8, cannot be signed).
    """
    refs = list(reference_classes)
    document = zb_realization_document(drv_hash_algorithm, drv_hash_bits, output_name, output_path, refs)
    # Every key is an ASCII literal; the caller's values are the only leaves
    # that could be something other than a string (a damaged row), and then
    # rfc8785 decides, as before.
    plain = type(drv_hash_algorithm) is str and type(output_name) is str and type(output_path) is str
    if plain:
        for path, algorithm, _bits, name in refs:
            if type(path) is not str or (
                algorithm is not None and (type(algorithm) is not str or (name is not None and type(name) is not str))
            ):
                plain = False
                break
    return canonical_json(document, plain=plain)


def zb_realization_document(
    drv_hash_algorithm: str,
    drv_hash_bits: bytes,
    output_name: str,
    output_path: str,
    reference_classes: Iterable[tuple[str, str | None, bytes | None, str | None]],
) -> dict[str, Any]:
    """The JSON document whose canonical form zb signs (spec §3).

    Takes the arguments of `zb_realization_message`, which serializes it;
    ``referenceClasses`` is sorted as zb sorts it.

    Raises:
        ValueError: A reference class names an algorithm but has no digest.
    """
    entries = [_reference_class_json(ref) for ref in reference_classes]
    entries.sort(key=lambda entry: entry[0])
    return {
        "derivationHash": _hash_json(drv_hash_algorithm, drv_hash_bits),
        "outputName": output_name,
        "outputPath": output_path,
        "referenceClasses": [entry[1] for entry in entries],
    }


# Compact, keys sorted by code point, UTF-8 unescaped. For a document made of
# dicts with ASCII string keys, lists, strings, None and booleans, this is
# byte for byte RFC 8785: sorting ASCII keys by code point is sorting them by
# UTF-16 code units, and Python's string escaping is ES6 JSON.stringify's
# (the two-character escapes for \b \f \n \r \t " and \\, \u00xx in lower
# case for the other C0 controls, every other code point as itself, DEL,
# U+2028/U+2029 and non-BMP characters included: checked for every code
# point). A lone surrogate cannot be encoded as UTF-8: rfc8785 then raises
# its own error, as it would have.
_FAST_JSON = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(document: Any, *, plain: bool) -> bytes:
    """RFC 8785 (JCS) canonical JSON bytes of a document.

    Args:
        document: The value to serialize.
        plain: The caller guarantees that the document holds only dicts with
            ASCII ``str`` keys, lists, ``str``, None and booleans (exact
            types, no subclasses). Then the C JSON encoder writes it, about
            ten times faster than ``rfc8785``; anything else (numbers above
            all) goes through ``rfc8785``.

    Raises:
        rfc8785.CanonicalizationError: The document cannot be canonicalized
            (a lone surrogate, a float that JSON cannot hold, a non-string key).
    """
    if plain:
        try:
            return _FAST_JSON.encode(document).encode("utf-8")
        except UnicodeEncodeError:
            pass  # a lone surrogate: let rfc8785 reject it with its error
    return rfc8785.dumps(document)


def check_zb_signature(
    fmt: str | None,
    public_key: bytes | None,
    signature: bytes | None,
    message: bytes,
    trust: ZbTrust,
) -> SigStatus:
    """Classify one zb signature row over a realization message.

    zb itself never verifies stored signatures (its reuse filter only looks
    for a row with a trusted key), so "trusted" here means: verifies AND the
    ``(format, key)`` pair is in the user's ``trustedPublicKeys``.

    Args:
        fmt: ``signature_public_keys.format``.
        public_key: ``signature_public_keys.public_key`` (raw bytes).
        signature: ``signatures.signature`` (raw bytes).
        message: From `zb_realization_message`.
        trust: The user's trust configuration.

    Returns:
        The status; malformed for missing values or ed25519 length errors,
        unsupported for any other format.
    """
    if fmt is None or public_key is None or signature is None:
        return SigStatus.MALFORMED
    if fmt != ED25519:
        # Clients must ignore formats they do not know (zb-docs realizations.md).
        return SigStatus.UNSUPPORTED
    if len(public_key) != ED25519_PUBLIC_KEY_BYTES or len(signature) != ED25519_SIGNATURE_BYTES:
        return SigStatus.MALFORMED
    if not verify_ed25519(public_key, message, signature):
        return SigStatus.INVALID
    if trust.is_trusted(fmt, public_key):
        return SigStatus.TRUSTED
    return SigStatus.VALID_UNTRUSTED


# --------------------------------------------------------------------------
# Nix
# --------------------------------------------------------------------------


def _nix32_encode(data: bytes) -> str:
    """Encode bytes in Nix's base32 (go-nix ``nixbase32``).

    Characters are emitted for k = len-1 … 0; character k takes the 5 bits
    starting at bit k*5 of the little-endian byte string.
    """
    length = (len(data) * 8 + 4) // 5
    value = int.from_bytes(data, "little")
    return "".join(_NIX32_ALPHABET[(value >> (k * 5)) & 0x1F] for k in range(length - 1, -1, -1))


def _is_nix32(text: str) -> bool:
    return all(c in _NIX32_ALPHABET for c in text)


def _nix_sha256_text(nar_hash: str) -> str:
    """Normalize a sha256 NAR hash to the ``sha256:<nix32>`` form Nix signs.

    Accepts ``sha256:<nix32>`` (returned as is), ``sha256:<64 hex>`` (Nix's
    ``ValidPaths.hash`` column), ``sha256:<base64>`` and SRI ``sha256-<b64>``
    (``nix path-info --json``, zb's ``objects.nar_hash``).

    Raises:
        ValueError: Not a recognizable sha256 hash.
    """
    text = nar_hash.strip()
    digest: bytes
    if text.startswith("sha256-"):
        body = text[len("sha256-") :]
        try:
            digest = base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"bad SRI hash {nar_hash!r}") from exc
    elif text.startswith("sha256:"):
        body = text[len("sha256:") :]
        nix32_len = (_SHA256_BYTES * 8 + 4) // 5
        if len(body) == nix32_len and _is_nix32(body):
            return "sha256:" + body
        if len(body) == 2 * _SHA256_BYTES:
            try:
                digest = bytes.fromhex(body)
            except ValueError as exc:
                raise ValueError(f"bad hex hash {nar_hash!r}") from exc
        else:
            try:
                digest = base64.b64decode(body, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise ValueError(f"unrecognized sha256 hash {nar_hash!r}") from exc
    else:
        raise ValueError(f"not a sha256 hash: {nar_hash!r}")
    if len(digest) != _SHA256_BYTES:
        raise ValueError(f"sha256 hash {nar_hash!r} has {len(digest)} bytes")
    return "sha256:" + _nix32_encode(digest)


def nix_path_fingerprint(
    path: str, nar_hash: str, nar_size: int, references: Iterable[str]
) -> bytes:
    """Build the fingerprint Nix signs for a store path (``ValidPathInfo::fingerprint``).

    Args:
        path: The full store path.
        nar_hash: ``sha256:<nix32>``; ``sha256:<hex>`` and SRI are converted.
        nar_size: The NAR size in bytes.
        references: Full reference paths, self-reference included; they are
            deduplicated and sorted byte-wise here, as Nix's ``StorePathSet``.

    Returns:
        ``1;<path>;<hash>;<size>;<comma-joined sorted references>`` as UTF-8.

    Raises:
        ValueError: The hash is not a recognizable sha256 hash.
    """
    refs = sorted(set(references), key=lambda p: p.encode("utf-8"))
    text = f"1;{path};{_nix_sha256_text(nar_hash)};{int(nar_size)};{','.join(refs)}"
    return text.encode("utf-8")


def _store_basename(path: str) -> str:
    # Nix's StorePath::to_string() is the base name; accept full paths too.
    return os.path.basename(path.rstrip("/")) if "/" in path else path


def nix_realisation_fingerprint(
    realisation_id: str, out_path: str, dependent_realisations: Mapping[str, str]
) -> bytes:
    """Build the fingerprint Nix signs for a realisation (``Realisation::fingerprint``).

    That is the realisation's JSON minus ``signatures``, dumped compactly with
    sorted keys. Store paths in it are BASE NAMES (``<digest>-<name>``), not
    full paths: verified against all realisation signatures of the Nix 2.8
    sample store.

    Args:
        realisation_id: ``sha256:<hex>!<output>`` (``Realisations.drvPath`` +
            ``!`` + ``outputName``).
        out_path: The output path, full or base name.
        dependent_realisations: Realisation id → output path (full or base name).

    Returns:
        The fingerprint bytes (UTF-8).
    """
    document = {
        "dependentRealisations": {
            key: _store_basename(value) for key, value in dependent_realisations.items()
        },
        "id": realisation_id,
        "outPath": _store_basename(out_path),
    }
    # nlohmann::json::dump(): no spaces, std::map key order, UTF-8 unescaped.
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def parse_nix_signature(text: str) -> tuple[str, bytes]:
    """Split a Nix signature ``name:base64`` into its key name and raw bytes.

    Args:
        text: One signature (one token of a space-separated ``sigs`` column).

    Returns:
        ``(key name, signature bytes)``. The length is not checked here.

    Raises:
        ValueError: No colon, empty name or body, or undecodable base64.
    """
    name, colon, body = text.strip().partition(":")
    if not colon or not name:
        raise ValueError(f"not a Nix signature (name:base64): {text!r}")
    if not body:
        raise ValueError(f"Nix signature {name!r} has no data")
    try:
        raw = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"Nix signature {name!r} is not valid base64") from exc
    return name, raw


def check_nix_signature(
    sig_text: str, fingerprint: bytes, keys: NixKeys
) -> tuple[str | None, SigStatus]:
    """Classify one Nix signature over a fingerprint.

    Args:
        sig_text: ``name:base64``.
        fingerprint: From `nix_path_fingerprint` or `nix_realisation_fingerprint`.
        keys: The trusted and known Nix public keys.

    Returns:
        ``(key name or None when unparseable, status)``: malformed, unknown-key
        (no configured key has that name, as in Nix's ``verifyDetached``),
        invalid, trusted or valid-untrusted.
    """
    try:
        name, raw = parse_nix_signature(sig_text)
    except ValueError:
        head = sig_text.strip().partition(":")
        return (head[0] or None) if head[1] else None, SigStatus.MALFORMED
    if len(raw) != ED25519_SIGNATURE_BYTES:
        return name, SigStatus.MALFORMED
    key = keys.get(name)
    if key is None:
        return name, SigStatus.UNKNOWN_KEY
    if not verify_ed25519(key.public_key, fingerprint, raw):
        return name, SigStatus.INVALID
    return name, SigStatus.TRUSTED if key.trusted else SigStatus.VALID_UNTRUSTED
