"""Pure parsers: store paths, nix-base32, SRI, hashes, content addresses, UUIDs."""

from __future__ import annotations

import base64
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from zbtui.store.formats import (
    NIX32_ALPHABET,
    HashValue,
    nix32_decode,
    nix32_encode,
    parse_content_address,
    parse_hash,
    parse_store_path,
    split_store_path,
    uuid7_time_ms,
    uuid_from_blob,
    uuid_to_blob,
)

# Vectors from the spec (§2), checked there against zb's own test data.
SRI = "sha256-wHCu2TZsWxzPbDUYfXvNDV0/VjN5QDF1OtawWnXtu3Y="
NIX32 = "sha256:0xmvxmsmmc6n79sk2h3r6db3yp8drmxps61mdk7iqnvc6vcsww60"


def test_spec_vectors():
    assert parse_hash(SRI).nix32 == NIX32
    assert parse_hash(NIX32).sri == SRI
    bits = base64.b64decode("vRcue4N+AqZy5BeXZpZkLqq7l4R/Yad89DD1Fe/Je2E=")
    assert nix32_encode(bits) == "0qbvr7pibx9hyiyafqbzhjbvpaifcjb6d5qpwirac0kyhdxjw5xx"
    # The Nix README's example: the hex ValidPaths.hash and its base32 in a fingerprint.
    value = parse_hash("sha256:79ec1c7112ba800fe1175bb65c42ae4b5758be0760adb1a2c24dfc0cb3acef27")
    assert value.sri == "sha256-eewccRK6gA/hF1u2XEKuS1dYvgdgrbGiwk38DLOs7yc="


def test_hash_encodings_by_length():
    digest = bytes(range(32))
    value = HashValue("sha256", digest)
    for text in (value.sri, value.nix32, value.hex, "sha256:" + value.b64):
        assert parse_hash(text) == value
    assert parse_hash(value.b64, algorithm="sha256") == value
    with pytest.raises(ValueError):
        parse_hash("sha256:zz")
    with pytest.raises(ValueError):
        parse_hash("blake3:" + "00" * 32)
    with pytest.raises(ValueError):
        parse_hash("sha256-" + base64.b64encode(b"short").decode())  # wrong length
    with pytest.raises(ValueError):
        parse_hash("hello")


def test_nix32_rejects_bad_text():
    with pytest.raises(ValueError):
        nix32_decode("e" * 32)  # 'e' is not in the alphabet
    with pytest.raises(ValueError):
        nix32_decode("z" * 52)  # non-zero padding bits for 32 bytes


def test_store_paths():
    p = parse_store_path("/opt/zb/store/s66mzxpvicwk07gjbjfw9izjfa797vsw-hello-2.12.1")
    assert (p.directory, p.digest, p.name, p.is_drv) == ("/opt/zb/store", "s66mzxpvicwk07gjbjfw9izjfa797vsw", "hello-2.12.1", False)
    w = parse_store_path(r"C:\zb\store\s66mzxpvicwk07gjbjfw9izjfa797vsw-hello.drv")
    assert w.directory == r"C:\zb\store" and w.is_drv
    for bad in ("hello", "/opt/zb/store/short-hello", "/opt/zb/store/" + "e" * 32 + "-x", "/s/" + "a" * 32 + "-", "/s/" + "a" * 32 + "-bad name"):
        with pytest.raises(ValueError):
            parse_store_path(bad)
    assert split_store_path("/weird/path") == ("/weird", "", "path")


def test_content_addresses():
    ca = parse_content_address("fixed:r:sha256:1qicirpsz48j7a2r5h9lj04kipdyvxanwglv9ymfq0qsv7isywdf")
    assert ca.method == "nar" and ca.is_source and "source" in ca.explain()
    flat = parse_content_address("fixed:sha256:1qicirpsz48j7a2r5h9lj04kipdyvxanwglv9ymfq0qsv7isywdf")
    assert flat.method == "flat" and not flat.is_source
    text = parse_content_address("text:sha256:1qicirpsz48j7a2r5h9lj04kipdyvxanwglv9ymfq0qsv7isywdf")
    assert text.method == "text"
    sha1 = parse_content_address("fixed:r:sha1:z1ix052s2jnd0rkwssb87gb2hrkz91jn")
    assert sha1.method == "nar" and not sha1.is_source and "recursive" in sha1.explain()
    for bad in ("", "fixed", "text:md9:abc", "fixed:q:sha256:x", "nar:sha256:" + "0" * 52):
        with pytest.raises(ValueError):
            parse_content_address(bad)


def test_uuids():
    u = uuid.UUID("0198a1b2-0000-7000-8000-000000000000")
    assert uuid_from_blob(u.bytes) == str(u)
    assert uuid_from_blob(b"\x00" * 15) is None and uuid_from_blob("text") is None and uuid_from_blob(None) is None
    assert uuid_to_blob(str(u)) == u.bytes
    assert uuid7_time_ms(str(u)) == 0x0198A1B20000
    assert uuid7_time_ms(str(uuid.uuid4())) is None
    assert uuid7_time_ms("garbage") is None


# -- fuzzing: parsers never raise anything but ValueError, round trips hold --------


@given(st.binary(max_size=80))
def test_nix32_round_trip(data):
    assert nix32_decode(nix32_encode(data)) == data
    assert set(nix32_encode(data)) <= set(NIX32_ALPHABET)


@given(st.text(max_size=120))
def test_parse_hash_total(text):
    try:
        value = parse_hash(text)
    except ValueError:
        return
    assert parse_hash(value.sri) == value and parse_hash(value.nix32) == value


@given(st.text(max_size=300))
def test_parse_store_path_total(text):
    try:
        p = parse_store_path(text)
    except ValueError:
        return
    assert text.endswith(p.base) and len(p.digest) == 32


@given(st.text(max_size=200))
def test_parse_content_address_total(text):
    try:
        parse_content_address(text)
    except ValueError:
        pass


@given(st.sampled_from(["md5", "sha1", "sha256", "sha512"]), st.data())
def test_content_address_round_trip(algorithm, data):
    size = {"md5": 16, "sha1": 20, "sha256": 32, "sha512": 64}[algorithm]
    digest = data.draw(st.binary(min_size=size, max_size=size))
    for prefix, method in (("text", "text"), ("fixed", "flat"), ("fixed:r", "nar")):
        ca = parse_content_address(f"{prefix}:{algorithm}:{nix32_encode(digest)}")
        assert ca.method == method and ca.hash.digest == digest


@given(st.binary(max_size=40))
def test_uuid_from_blob_total(blob):
    text = uuid_from_blob(blob)
    assert (text is not None) == (len(blob) == 16)
