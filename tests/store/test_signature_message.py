"""The fast canonical JSON of zb signature messages is RFC 8785, byte for byte.

`canonical_json(..., plain=True)` writes with Python's C JSON encoder instead
of the pure-Python ``rfc8785``; these tests hold it to ``rfc8785.dumps`` on
every code point, on random documents of the message's shape and on random
plain documents, and check that anything else still goes through ``rfc8785``.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from zbtui.store.signatures import canonical_json, zb_realization_document, zb_realization_message

SURROGATES = range(0xD800, 0xE000)


def _same_as_rfc8785(document: Any, produced: Any) -> None:
    """``produced`` (bytes or the exception raised) is what rfc8785 gives."""
    try:
        expected: Any = rfc8785.dumps(document)
    except rfc8785.CanonicalizationError as exc:
        expected = type(exc)
    if isinstance(produced, Exception):
        produced = type(produced)
    assert produced == expected


def _fast(document: Any) -> Any:
    try:
        return canonical_json(document, plain=True)
    except Exception as exc:  # noqa: BLE001 - compared with what rfc8785 raises
        return exc


# --------------------------------------------------------------------------
# Every code point
# --------------------------------------------------------------------------


def test_every_code_point_is_escaped_as_rfc8785_does() -> None:
    # In chunks of 2,048 code points (one string each), surrogates apart.
    for start in range(0, 0x110000, 0x800):
        text = "".join(chr(c) for c in range(start, start + 0x800) if c not in SURROGATES)
        if not text:
            continue
        document = {"k": text, "list": [text[:7], text[-7:]]}
        assert canonical_json(document, plain=True) == rfc8785.dumps(document), hex(start)


@pytest.mark.parametrize(
    ("char", "written"),
    [
        ("\b", b"\\b"),
        ("\f", b"\\f"),
        ("\n", b"\\n"),
        ("\r", b"\\r"),
        ("\t", b"\\t"),
        ('"', b'\\"'),
        ("\\", b"\\\\"),
        ("\x00", b"\\u0000"),
        ("\x1f", b"\\u001f"),  # lower-case hex
        ("\x0b", b"\\u000b"),
        ("\x7f", b"\x7f"),  # DEL is not escaped
        ("/", b"/"),
        ("\u2028", "\u2028".encode()),  # nor are the line separators
        ("\u2029", "\u2029".encode()),
        ("\ufeff", "\ufeff".encode()),
        ("é", "é".encode()),
        ("\U0001f600", "\U0001f600".encode()),  # non-BMP: UTF-8, not a surrogate pair
        ("\U0010ffff", "\U0010ffff".encode()),
    ],
)
def test_string_escapes(char: str, written: bytes) -> None:
    document = {"a": char}
    assert canonical_json(document, plain=True) == b'{"a":"' + written + b'"}'
    assert rfc8785.dumps(document) == b'{"a":"' + written + b'"}'


@pytest.mark.parametrize("text", ["\ud800", "\udfff", "a\udc00b", "\ud83d"])
def test_lone_surrogates_fail_as_rfc8785_fails(text: str) -> None:
    with pytest.raises(rfc8785.CanonicalizationError):
        canonical_json({"a": [text]}, plain=True)
    with pytest.raises(rfc8785.CanonicalizationError):
        zb_realization_message("sha256", bytes(32), text, "/opt/zb/store/x-y", [])


# --------------------------------------------------------------------------
# Random documents
# --------------------------------------------------------------------------

# Any code point, surrogates included (hypothesis leaves them out by default).
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
# Mostly the characters store paths and names are made of, sometimes anything.
TEXT = st.one_of(st.text("abcdfghijklmnpqrsvwxyz0123456789-._+/", max_size=60), ANY_TEXT)


@st.composite
def message_arguments(draw: st.DrawFn) -> tuple:
    def ref() -> tuple:
        if draw(st.booleans()):
            return (draw(TEXT), None, None, None)
        return (
            draw(TEXT),
            draw(st.sampled_from(["sha256", "sha512", "sha1", "md5"]) | TEXT),
            draw(st.binary(max_size=64)),
            draw(st.none() | TEXT),
        )

    refs = [ref() for _ in range(draw(st.integers(0, 6)))]
    if refs and draw(st.booleans()):
        refs.append(refs[0])  # duplicates are kept, as zb keeps them
    return (
        draw(st.sampled_from(["sha256", "sha512"]) | TEXT),
        draw(st.binary(max_size=64)),
        draw(TEXT),
        draw(TEXT),
        refs,
    )


@settings(max_examples=400, deadline=None)
@given(message_arguments())
def test_message_is_rfc8785_of_its_document(args: tuple) -> None:
    try:
        produced: Any = zb_realization_message(*args)
    except Exception as exc:  # noqa: BLE001
        produced = exc
    try:
        document = zb_realization_document(*args)
    except ValueError as exc:
        # Sorting the reference classes encodes their texts: a lone surrogate
        # fails there, for both.
        assert type(produced) is type(exc)
        return
    _same_as_rfc8785(document, produced)


@settings(max_examples=400, deadline=None)
@given(message_arguments())
def test_fast_path_equals_rfc8785_on_message_documents(args: tuple) -> None:
    try:
        document = zb_realization_document(*args)
    except UnicodeEncodeError:
        return  # a lone surrogate in a reference class: no document to write
    _same_as_rfc8785(document, _fast(document))


PLAIN = st.recursive(
    st.none() | st.booleans() | ANY_TEXT,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(st.characters(max_codepoint=0x7F), max_size=8), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(PLAIN)
def test_fast_path_equals_rfc8785_on_plain_documents(document: Any) -> None:
    _same_as_rfc8785(document, _fast(document))


# --------------------------------------------------------------------------
# What is not plain goes through rfc8785
# --------------------------------------------------------------------------


def test_numbers_and_odd_values_fall_back_to_rfc8785() -> None:
    # A float from a damaged row: JSON's 1.0 is RFC 8785's 1.
    message = zb_realization_message("sha256", bytes(32), 1.0, "/opt/zb/store/x-y", [])  # type: ignore[arg-type]
    assert b'"outputName":1,' in message
    refs = [("/opt/zb/store/a-b", "sha256", bytes(32), "out")]
    message = zb_realization_message("sha256", bytes(32), "out", 2.5e-7, refs)  # type: ignore[arg-type]
    assert b'"outputPath":2.5e-7,' in message
    assert message == rfc8785.dumps(zb_realization_document("sha256", bytes(32), "out", 2.5e-7, refs))  # type: ignore[arg-type]
    with pytest.raises(rfc8785.CanonicalizationError):
        zb_realization_message("sha256", bytes(32), b"out", "/opt/zb/store/x-y", [])  # type: ignore[arg-type]


def test_keys_outside_ascii_need_rfc8785() -> None:
    # RFC 8785 sorts keys by UTF-16 code units, Python by code point: they
    # differ above U+FFFF, which is why such keys are not "plain".
    document = {"\ue000": "a", "\U0001f600": "b"}
    assert rfc8785.dumps(document) == '{"\U0001f600":"b","\ue000":"a"}'.encode()
    assert canonical_json(document, plain=False) == rfc8785.dumps(document)
    assert canonical_json(document, plain=True) != rfc8785.dumps(document)


def test_spec_vector_through_the_fast_path() -> None:
    document = zb_realization_document("sha256", bytes(32), "out", "/opt/zb/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-foo", [])
    expected = (
        b'{"derivationHash":{"algorithm":"sha256",'
        b'"digest":"' + base64.b64encode(bytes(32)) + b'"},'
        b'"outputName":"out","outputPath":"/opt/zb/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-foo",'
        b'"referenceClasses":[]}'
    )
    assert canonical_json(document, plain=True) == expected
    assert zb_realization_message("sha256", bytes(32), "out", "/opt/zb/store/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-foo", []) == expected
