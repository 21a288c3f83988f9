"""Tests for zbtui.store.signatures: zb realization messages, Nix fingerprints."""

from __future__ import annotations

import base64
import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import helpers
import pytest

from zbtui.store.signatures import (
    SigStatus,
    check_nix_signature,
    check_zb_signature,
    nix_path_fingerprint,
    nix_realisation_fingerprint,
    parse_nix_signature,
    sign_zb_realization,
    verify_ed25519,
    zb_realization_message,
)
from zbtui.store.trust import NixKeys, TrustedKey, ZbTrust, load_nix_keys

REALDATA = Path(helpers.REALDATA)

# zb test vector (spec §3, zbstore/realization_test.go TestRealizationSignature).
ZB_PRIVATE_KEY = bytes.fromhex(
    "f8d30335fbe30a6753f662ebf7369d6105f017f98f2ec4e8330dfac97ef0e870"
    "950922bd2765ac3063c2013f54d98f79f4d16001f762496191bd66d762519470"
)
ZB_SEED = ZB_PRIVATE_KEY[:32]
ZB_PUBLIC_KEY = base64.b64decode("lQkivSdlrDBjwgE/VNmPefTRYAH3Yklhkb1m12JRlHA=")
ZB_OUTPUT_PATH = "/opt/zb/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-foo"
ZB_MESSAGE = (
    b'{"derivationHash":{"algorithm":"sha256",'
    b'"digest":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},'
    b'"outputName":"out","outputPath":"/opt/zb/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-foo",'
    b'"referenceClasses":[]}'
)
ZB_SIGNATURE = bytes.fromhex(
    "a390c9fe3f60f5c910b6ab0c6a4bb7cbba487c895ea4c2a728cf267fe51bb61d"
    "4edce86421068d5d5c7d889d528bd3e2ea3aea5edba22b1ddc775d5bba233206"
)


def _vector_message() -> bytes:
    return zb_realization_message("sha256", bytes(32), "out", ZB_OUTPUT_PATH, [])


def _trust(*keys: bytes, fmt: str = "ed25519") -> ZbTrust:
    return ZbTrust(keys=tuple(TrustedKey(fmt, k, "test") for k in keys))


# --------------------------------------------------------------------------
# zb
# --------------------------------------------------------------------------


class TestZbVector:
    def test_message_is_byte_exact(self) -> None:
        assert _vector_message() == ZB_MESSAGE

    def test_signature_b64_matches_spec(self) -> None:
        assert base64.b64encode(ZB_SIGNATURE).decode() == (
            "o5DJ/j9g9ckQtqsMaku3y7pIfIlepMKnKM8mf+Ubth1O3OhkIQaNXVx9"
            "iJ1Si9Pi6jrqXtuiKx3cd11buiMyBg=="
        )

    def test_signature_verifies(self) -> None:
        assert verify_ed25519(ZB_PUBLIC_KEY, ZB_MESSAGE, ZB_SIGNATURE)

    def test_resigning_reproduces_signature(self) -> None:
        # Ed25519 is deterministic; both seed and Go's 64-byte private key work.
        assert sign_zb_realization(ZB_SEED, ZB_MESSAGE) == ZB_SIGNATURE
        assert sign_zb_realization(ZB_PRIVATE_KEY, ZB_MESSAGE) == ZB_SIGNATURE

    def test_sign_rejects_bad_seed(self) -> None:
        with pytest.raises(ValueError):
            sign_zb_realization(b"short", ZB_MESSAGE)

    def test_zero_and_negated_signatures_fail(self) -> None:
        negated = bytes(b ^ 0xFF for b in ZB_SIGNATURE)
        assert not verify_ed25519(ZB_PUBLIC_KEY, ZB_MESSAGE, bytes(64))
        assert not verify_ed25519(ZB_PUBLIC_KEY, ZB_MESSAGE, negated)
        trust = _trust(ZB_PUBLIC_KEY)
        for bad in (bytes(64), negated):
            assert check_zb_signature("ed25519", ZB_PUBLIC_KEY, bad, ZB_MESSAGE, trust) is (
                SigStatus.INVALID
            )

    def test_verify_never_raises(self) -> None:
        assert not verify_ed25519(b"", ZB_MESSAGE, ZB_SIGNATURE)
        assert not verify_ed25519(ZB_PUBLIC_KEY, ZB_MESSAGE, ZB_SIGNATURE[:63])
        # 32 bytes that are not a valid curve point.
        assert not verify_ed25519(b"\xff" * 32, ZB_MESSAGE, ZB_SIGNATURE)


class TestCheckZbSignature:
    def test_trusted(self) -> None:
        status = check_zb_signature(
            "ed25519", ZB_PUBLIC_KEY, ZB_SIGNATURE, _vector_message(), _trust(ZB_PUBLIC_KEY)
        )
        assert status is SigStatus.TRUSTED

    def test_unknown_key_is_valid_untrusted(self) -> None:
        other = bytes(range(32))
        status = check_zb_signature(
            "ed25519", ZB_PUBLIC_KEY, ZB_SIGNATURE, _vector_message(), _trust(other)
        )
        assert status is SigStatus.VALID_UNTRUSTED
        empty = check_zb_signature("ed25519", ZB_PUBLIC_KEY, ZB_SIGNATURE, ZB_MESSAGE, ZbTrust())
        assert empty is SigStatus.VALID_UNTRUSTED

    def test_trust_needs_matching_format(self) -> None:
        status = check_zb_signature(
            "ed25519", ZB_PUBLIC_KEY, ZB_SIGNATURE, ZB_MESSAGE, _trust(ZB_PUBLIC_KEY, fmt="other")
        )
        assert status is SigStatus.VALID_UNTRUSTED

    def test_tampered_output_name_is_invalid(self) -> None:
        tampered = zb_realization_message("sha256", bytes(32), "dev", ZB_OUTPUT_PATH, [])
        assert tampered != ZB_MESSAGE
        status = check_zb_signature(
            "ed25519", ZB_PUBLIC_KEY, ZB_SIGNATURE, tampered, _trust(ZB_PUBLIC_KEY)
        )
        assert status is SigStatus.INVALID

    def test_unsupported_format(self) -> None:
        status = check_zb_signature(
            "nonsense", ZB_PUBLIC_KEY, ZB_SIGNATURE, ZB_MESSAGE, _trust(ZB_PUBLIC_KEY)
        )
        assert status is SigStatus.UNSUPPORTED
        # Lengths only mean something for ed25519.
        odd = check_zb_signature("nonsense", b"k", b"s", ZB_MESSAGE, ZbTrust())
        assert odd is SigStatus.UNSUPPORTED

    @pytest.mark.parametrize(
        ("fmt", "key", "sig"),
        [
            ("ed25519", None, ZB_SIGNATURE),
            ("ed25519", ZB_PUBLIC_KEY, None),
            (None, ZB_PUBLIC_KEY, ZB_SIGNATURE),
            ("ed25519", ZB_PUBLIC_KEY[:31], ZB_SIGNATURE),
            ("ed25519", ZB_PUBLIC_KEY + b"\x00" * 31, ZB_SIGNATURE),  # 63 bytes
            ("ed25519", ZB_PUBLIC_KEY, ZB_SIGNATURE[:63]),
            ("nonsense", None, ZB_SIGNATURE),
        ],
    )
    def test_malformed(self, fmt: str | None, key: bytes | None, sig: bytes | None) -> None:
        assert check_zb_signature(fmt, key, sig, ZB_MESSAGE, _trust(ZB_PUBLIC_KEY)) is (
            SigStatus.MALFORMED
        )


class TestReferenceClassOrder:
    P1 = "/opt/zb/store/11111111111111111111111111111111-a"
    P2 = "/opt/zb/store/22222222222222222222222222222222-b"

    @staticmethod
    def _classes(message: bytes) -> list[dict[str, Any]]:
        return json.loads(message)["referenceClasses"]  # type: ignore[no-any-return]

    def _sorted(
        self, refs: list[tuple[str, str | None, bytes | None, str | None]]
    ) -> list[dict[str, Any]]:
        message = zb_realization_message("sha256", bytes(32), "out", ZB_OUTPUT_PATH, refs)
        return self._classes(message)

    def test_shape_of_entries(self) -> None:
        message = zb_realization_message(
            "sha256", bytes(32), "out", ZB_OUTPUT_PATH, [(self.P1, "sha256", b"\x01" * 32, "dev")]
        )
        assert self._classes(message) == [
            {
                "path": self.P1,
                "realization": {
                    "derivationHash": {
                        "algorithm": "sha256",
                        "digest": base64.b64encode(b"\x01" * 32).decode(),
                    },
                    "outputName": "dev",
                },
            }
        ]

    def test_null_realization_sorts_first_for_same_path(self) -> None:
        refs = [
            (self.P1, "sha256", bytes(32), "out"),
            (self.P1, None, None, None),
        ]
        classes = self._sorted(refs)
        assert [c["realization"] is None for c in classes] == [True, False]

    def test_path_sorts_before_realization(self) -> None:
        refs = [
            (self.P2, None, None, None),
            (self.P1, "sha256", bytes(32), "out"),
        ]
        classes = self._sorted(refs)
        assert [c["path"] for c in classes] == [self.P1, self.P2]

    def test_digest_compared_as_base64_text(self) -> None:
        low_raw = bytes(32)  # base64 "AAAA…"
        high_raw = b"\xfc" + bytes(31)  # base64 "/AAA…": '/' < 'A' in ASCII
        assert low_raw < high_raw
        assert base64.b64encode(high_raw) < base64.b64encode(low_raw)
        refs = [
            (self.P1, "sha256", low_raw, "out"),
            (self.P1, "sha256", high_raw, "out"),
        ]
        classes = self._sorted(refs)
        digests = [c["realization"]["derivationHash"]["digest"] for c in classes]
        assert digests == [base64.b64encode(high_raw).decode(), base64.b64encode(low_raw).decode()]

    def test_algorithm_then_output_name(self) -> None:
        refs = [
            (self.P1, "sha512", bytes(64), "a"),
            (self.P1, "sha256", bytes(32), "z"),
            (self.P1, "sha256", bytes(32), "b"),
        ]
        classes = self._sorted(refs)
        order = [
            (c["realization"]["derivationHash"]["algorithm"], c["realization"]["outputName"])
            for c in classes
        ]
        assert order == [("sha256", "b"), ("sha256", "z"), ("sha512", "a")]

    def test_duplicates_kept_and_message_canonical(self) -> None:
        refs = [(self.P1, None, None, None), (self.P1, None, None, None)]
        message = zb_realization_message("sha256", bytes(32), "out", ZB_OUTPUT_PATH, refs)
        assert len(self._classes(message)) == 2
        assert b" " not in message
        assert message.index(b'"derivationHash"') < message.index(b'"referenceClasses"')

    def test_signed_message_with_references_round_trips(self) -> None:
        refs = [(self.P2, None, None, None), (self.P1, "sha256", bytes(32), "out")]
        message = zb_realization_message("sha256", bytes(32), "out", ZB_OUTPUT_PATH, refs)
        signature = sign_zb_realization(ZB_SEED, message)
        reordered = zb_realization_message(
            "sha256", bytes(32), "out", ZB_OUTPUT_PATH, list(reversed(refs))
        )
        assert reordered == message
        assert check_zb_signature(
            "ed25519", ZB_PUBLIC_KEY, signature, reordered, _trust(ZB_PUBLIC_KEY)
        ) is SigStatus.TRUSTED


# --------------------------------------------------------------------------
# Nix
# --------------------------------------------------------------------------


def _realdata_keys(*, trusted: bool = True) -> NixKeys:
    pubs = sorted(str(p) for p in REALDATA.glob("*.pub"))
    if trusted:
        return load_nix_keys(trusted_keys=pubs, conf_files=[])
    return load_nix_keys(known_keys=pubs, conf_files=[])


def _path_info() -> list[dict[str, object]]:
    return json.loads((REALDATA / "path-info.json").read_text())


def _connect_db() -> sqlite3.Connection:
    # immutable=1: the shared copy is read-only and must not grow -wal/-shm files.
    uri = f"file:{REALDATA / 'db.sqlite'}?mode=ro&immutable=1"
    return sqlite3.connect(uri, uri=True)


class TestNixPathSignatures:
    def test_readme_example_fingerprint(self) -> None:
        fp = nix_path_fingerprint(
            "/nix/store/ds6fqgyn5402cfj4i8qzil3f9qx461qq-greeting",
            "sha256:09nk9qsk77nacqx0igxaxsqcapy1mi8vygnbzyjhfs7bgdl58mdv",
            184,
            ["/nix/store/s007w998i569mhdq9ia0f85q33a8zzik-hello.txt"],
        )
        assert fp == (
            b"1;/nix/store/ds6fqgyn5402cfj4i8qzil3f9qx461qq-greeting;"
            b"sha256:09nk9qsk77nacqx0igxaxsqcapy1mi8vygnbzyjhfs7bgdl58mdv;184;"
            b"/nix/store/s007w998i569mhdq9ia0f85q33a8zzik-hello.txt"
        )

    @pytest.mark.parametrize(
        "nar_hash",
        [
            "sha256:79ec1c7112ba800fe1175bb65c42ae4b5758be0760adb1a2c24dfc0cb3acef27",
            "sha256-eewccRK6gA/hF1u2XEKuS1dYvgdgrbGiwk38DLOs7yc=",
            "sha256:09zgmjrhrz2dqaib3bb00yz5hmsbmr15rdjv2zhhz05s29qirv3r",
        ],
    )
    def test_hash_forms_convert_to_nix32(self, nar_hash: str) -> None:
        fp = nix_path_fingerprint("/nix/store/x", nar_hash, 1, [])
        nix32 = b"09zgmjrhrz2dqaib3bb00yz5hmsbmr15rdjv2zhhz05s29qirv3r"
        assert fp == b"1;/nix/store/x;sha256:" + nix32 + b";1;"

    def test_zb_spec_nix32_example(self) -> None:
        # spec §2: SRI wHCu… is 0xmvxm…ww60 in nix-base32.
        sri = "sha256-wHCu2TZsWxzPbDUYfXvNDV0/VjN5QDF1OtawWnXtu3Y="
        fp = nix_path_fingerprint("/p", sri, 1, [])
        assert b"sha256:0xmvxmsmmc6n79sk2h3r6db3yp8drmxps61mdk7iqnvc6vcsww60;" in fp

    def test_bad_hash_raises(self) -> None:
        with pytest.raises(ValueError):
            nix_path_fingerprint("/p", "md5:abc", 1, [])
        with pytest.raises(ValueError):
            nix_path_fingerprint("/p", "sha256:zz", 1, [])

    def test_references_sorted_and_deduplicated(self) -> None:
        fp = nix_path_fingerprint("/nix/store/c", "sha256-" + "A" * 43 + "=", 5, ["/b", "/a", "/b"])
        assert fp.endswith(b";5;/a,/b")

    def test_all_path_info_signatures_verify(self) -> None:
        keys = _realdata_keys()
        counts: Counter[SigStatus] = Counter()
        for entry in _path_info():
            fp = nix_path_fingerprint(
                str(entry["path"]),
                str(entry["narHash"]),
                int(entry["narSize"]),  # type: ignore[call-overload]
                entry["references"],  # type: ignore[arg-type]
            )
            for sig in entry.get("signatures", []):  # type: ignore[attr-defined]
                name, status = check_nix_signature(sig, fp, keys)
                assert name == sig.split(":", 1)[0]
                counts[status] += 1
        assert counts == {SigStatus.TRUSTED: 42}

    def test_db_rows_with_hex_hash_verify(self) -> None:
        keys = _realdata_keys()
        with _connect_db() as db:
            refs: dict[int, list[str]] = {}
            for referrer, path in db.execute(
                "SELECT r.referrer, p.path FROM Refs r JOIN ValidPaths p ON p.id = r.reference"
            ):
                refs.setdefault(referrer, []).append(path)
            rows = db.execute("SELECT id, path, hash, narSize, sigs FROM ValidPaths").fetchall()
        counts: Counter[SigStatus] = Counter()
        for row_id, path, nar_hash, nar_size, sigs in rows:
            fp = nix_path_fingerprint(path, nar_hash, nar_size, refs.get(row_id, []))
            for sig in (sigs or "").split():
                counts[check_nix_signature(sig, fp, keys)[1]] += 1
        assert counts == {SigStatus.TRUSTED: 42}

    def test_nar_size_plus_one_fails(self) -> None:
        keys = _realdata_keys()
        entry = next(e for e in _path_info() if e.get("signatures"))
        fp = nix_path_fingerprint(
            str(entry["path"]),
            str(entry["narHash"]),
            int(entry["narSize"]) + 1,  # type: ignore[call-overload]
            entry["references"],  # type: ignore[arg-type]
        )
        for sig in entry["signatures"]:  # type: ignore[attr-defined]
            assert check_nix_signature(sig, fp, keys)[1] is SigStatus.INVALID

    def test_known_not_trusted_and_unknown(self) -> None:
        entry = next(e for e in _path_info() if e.get("signatures"))
        fp = nix_path_fingerprint(
            str(entry["path"]),
            str(entry["narHash"]),
            int(entry["narSize"]),  # type: ignore[call-overload]
            entry["references"],  # type: ignore[arg-type]
        )
        sig = entry["signatures"][0]  # type: ignore[index]
        known = _realdata_keys(trusted=False)
        assert check_nix_signature(sig, fp, known)[1] is SigStatus.VALID_UNTRUSTED
        nobody = load_nix_keys(conf_files=[])
        name, status = check_nix_signature(sig, fp, nobody)
        assert status is SigStatus.UNKNOWN_KEY
        assert name == sig.split(":", 1)[0]


class TestNixRealisationSignatures:
    def test_fingerprint_uses_base_names(self) -> None:
        fp = nix_realisation_fingerprint(
            "sha256:ab!out",
            "/nix/store/xzr8lmdpfddb8f70v9i68rjhrc72ncbw-x",
            {"sha256:cd!out": "/nix/store/ymdqhwfl2nxdqjw2l0m58bp8y63j0dla-y"},
        )
        assert fp == (
            b'{"dependentRealisations":{"sha256:cd!out":"ymdqhwfl2nxdqjw2l0m58bp8y63j0dla-y"},'
            b'"id":"sha256:ab!out","outPath":"xzr8lmdpfddb8f70v9i68rjhrc72ncbw-x"}'
        )

    def test_expected_realisations_json_all_verify(self) -> None:
        realisations = json.loads((REALDATA / "expected-realisations.json").read_text())
        # The file holds `nix realisation info --json` for a few derivations
        # (7 realisations), not the whole Realisations table.
        assert isinstance(realisations, list)
        keys = _realdata_keys()
        counts: Counter[SigStatus] = Counter()
        for entry in realisations:
            fp = nix_realisation_fingerprint(
                entry["id"], entry["outPath"], entry["dependentRealisations"]
            )
            for sig in entry["signatures"]:
                counts[check_nix_signature(sig, fp, keys)[1]] += 1
            # A full outPath in the fingerprint would not verify: Nix signs base names.
            tampered = json.dumps(
                {
                    "dependentRealisations": entry["dependentRealisations"],
                    "id": entry["id"],
                    "outPath": "/nix/store/" + entry["outPath"],
                },
                sort_keys=True,
                separators=(",", ":"),
            ).encode()
            for sig in entry["signatures"]:
                assert check_nix_signature(sig, tampered, keys)[1] is SigStatus.INVALID
        assert counts == {SigStatus.TRUSTED: 7}

    def test_all_db_realisations_verify(self) -> None:
        keys = _realdata_keys()
        with _connect_db() as db:
            rows = db.execute(
                "SELECT r.id, r.drvPath, r.outputName, p.path, r.signatures"
                " FROM Realisations r JOIN ValidPaths p ON p.id = r.outputPath"
            ).fetchall()
            deps: dict[int, set[int]] = {}
            for referrer, ref in db.execute(
                "SELECT referrer, realisationReference FROM RealisationsRefs"
            ):
                deps.setdefault(referrer, set()).add(ref)
        by_id = {row[0]: row for row in rows}
        counts: Counter[SigStatus] = Counter()
        for row_id, drv_hash, output, out_path, sigs in rows:
            dependent = {
                f"{by_id[d][1]}!{by_id[d][2]}": by_id[d][3] for d in deps.get(row_id, set())
            }
            fp = nix_realisation_fingerprint(f"{drv_hash}!{output}", out_path, dependent)
            for sig in (sigs or "").split():
                counts[check_nix_signature(sig, fp, keys)[1]] += 1
        assert counts == {SigStatus.TRUSTED: 24}


class TestParseNixSignature:
    def test_parse(self) -> None:
        name, raw = parse_nix_signature("k-1:" + base64.b64encode(bytes(64)).decode())
        assert name == "k-1"
        assert raw == bytes(64)

    @pytest.mark.parametrize("text", ["", "nocolon", ":AAAA", "k:", "k:not base64!"])
    def test_bad_input_raises(self, text: str) -> None:
        with pytest.raises(ValueError):
            parse_nix_signature(text)

    def test_check_malformed(self) -> None:
        keys = _realdata_keys()
        assert check_nix_signature("garbage", b"x", keys) == (None, SigStatus.MALFORMED)
        short = "nixreal-build-1:" + base64.b64encode(bytes(63)).decode()
        assert check_nix_signature(short, b"x", keys) == ("nixreal-build-1", SigStatus.MALFORMED)
        assert check_nix_signature("nixreal-build-1:%%%", b"x", keys) == (
            "nixreal-build-1",
            SigStatus.MALFORMED,
        )
