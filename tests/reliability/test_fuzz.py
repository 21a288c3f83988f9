"""Fuzzing beyond tests/store (which checks each parser is total on random text).

Here: structured inputs that reach the deep paths (valid store paths, SRI and
content addresses with every length and algorithm, then mutated), the log
sanitizer end to end through Rich to terminal bytes, and the functions that
turn database values into file paths and terminal output.
"""

from __future__ import annotations

import base64
import json
import os
import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import terminal_problems
from rich.text import Text

from zbtui.__main__ import dump_json
from zbtui.store.formats import (
    HASH_SIZES,
    NIX32_ALPHABET,
    nix32_decode,
    nix32_encode,
    parse_content_address,
    parse_hash,
    parse_store_path,
    split_store_path,
)
from zbtui.store.logs import zb_log_path
from zbtui.store.sanitize import LogSanitizer, printable, sanitize_log
from zbtui.store.signatures import zb_realization_message

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NAME_CHARS = string.ascii_letters + string.digits + "+-._=?"
digests = st.text(alphabet=NIX32_ALPHABET, min_size=32, max_size=32)
names = st.text(alphabet=NAME_CHARS, min_size=1, max_size=211)
store_dirs = st.sampled_from(["/opt/zb/store", "/nix/store", "C:\\zb\\store", "/a b/ünï"])
algorithms = st.sampled_from(sorted(HASH_SIZES))
hostile_text = st.lists(
    st.one_of(
        st.characters(),
        st.sampled_from(["\x1b", "\x07", "\x9b", "\x9d", "\u202e", "\u2028", "/", "\\", "..", "\x00", "\ud800", "\x1b]52;c;", "\x1b[2J"]),
    ),
    max_size=40,
).map("".join)


# -- store paths ------------------------------------------------------------------------


@FUZZ
@given(directory=store_dirs, digest=digests, name=names)
def test_valid_store_paths_parse_to_their_parts(directory, digest, name):
    sep = "\\" if directory.startswith("C:") else "/"
    path = f"{directory}{sep}{digest}-{name}"
    parsed = parse_store_path(path)
    assert (parsed.directory, parsed.digest, parsed.name) == (directory, digest, name)
    assert parsed.is_drv == name.endswith(".drv")
    assert split_store_path(path) == (directory, digest, name)


@FUZZ
@given(directory=store_dirs, digest=digests, name=names, position=st.integers(0, 300), junk=hostile_text)
def test_mutated_store_paths_raise_value_error_only(directory, digest, name, position, junk):
    path = f"{directory}/{digest}-{name}"
    path = path[:position] + junk + path[position:]
    split_store_path(path)  # never raises
    try:
        parse_store_path(path)
    except ValueError:
        pass


# -- nix-base32, SRI, content addresses -----------------------------------------------


@FUZZ
@given(text=st.text(alphabet=NIX32_ALPHABET, max_size=110))
def test_nix32_decode_is_canonical_or_refuses(text):
    try:
        raw = nix32_decode(text)
    except ValueError:
        return
    # Decoding accepted it: encoding gives the same text back (no padding slack),
    # unless the length is one no byte string encodes to.
    if (len(raw) * 8 + 4) // 5 == len(text):
        assert nix32_encode(raw) == text


@FUZZ
@given(algorithm=algorithms, data=st.data())
def test_sri_round_trips_and_wrong_lengths_are_refused(algorithm, data):
    size = HASH_SIZES[algorithm]
    digest = data.draw(st.binary(min_size=size, max_size=size))
    sri = f"{algorithm}-{base64.b64encode(digest).decode()}"
    value = parse_hash(sri)
    assert value.digest == digest and value.sri == sri
    assert parse_hash(value.nix32) == value and parse_hash(value.hex) == value
    other = data.draw(st.binary(max_size=80).filter(lambda b: len(b) != size))
    try:
        parse_hash(f"{algorithm}-{base64.b64encode(other).decode()}")
    except ValueError:
        pass
    else:
        raise AssertionError("a digest of the wrong length was accepted")


@FUZZ
@given(algorithm=algorithms, data=st.data(), prefix=st.sampled_from(["text", "fixed", "fixed:r"]))
def test_content_addresses_round_trip_then_mutate(algorithm, data, prefix):
    size = HASH_SIZES[algorithm]
    digest = data.draw(st.binary(min_size=size, max_size=size))
    text = f"{prefix}:{algorithm}:{nix32_encode(digest)}"
    assert parse_content_address(text).hash.digest == digest
    cut = data.draw(st.integers(0, len(text)))
    junk = data.draw(hostile_text)
    try:
        parse_content_address(text[:cut] + junk + text[cut + 1 :])
    except ValueError:
        pass


# -- the log sanitizer, end to end ------------------------------------------------------

ESCAPEY = [
    b"\x1b", b"[", b"]", b"P", b"_", b"^", b"X", b"\\", b"\x07", b"\x9b", b"\xc2\x9b", b"\xc2\x9d",
    b"\xc2\x90", b"\xc2\x9c", b"\r", b"\n", b"\t", b"\x00", b"\x7f", b"m", b"1;31", b"38;5;9", b"?1049h",
    b"52;c;", b"8;;http://x/", b"0;", b"\xe2\x80\xae", b"\xff", b"H", b"2J", b"6n",
]
log_bytes = st.lists(st.one_of(st.sampled_from(ESCAPEY), st.binary(max_size=5)), max_size=80).map(b"".join)


def terminal_bytes_of(safe: str, width: int = 80) -> str:
    """What the log view sends for this text: Text.from_ansi, rendered by Rich."""
    import io

    from rich.console import Console

    console = Console(width=width, file=io.StringIO(), force_terminal=True, color_system="truecolor", legacy_windows=False)
    with console.capture() as capture:
        console.print(Text.from_ansi(safe, no_wrap=True), end="")
    return capture.get()


@FUZZ
@given(data=st.one_of(log_bytes, st.binary(max_size=300)))
def test_sanitized_logs_render_to_inert_terminal_output(data):
    safe = sanitize_log(data)
    assert terminal_problems(safe, allow_cup=False, allow="\n\t") == []
    rendered = terminal_bytes_of(safe)
    assert terminal_problems(rendered, allow_cup=False) == []


@FUZZ
@given(data=log_bytes, cuts=st.lists(st.integers(0, 400), max_size=10))
def test_streaming_sanitizer_keeps_every_newline(data, cuts):
    sanitizer = LogSanitizer()
    out, last = [], 0
    for cut in sorted(c for c in cuts if c <= len(data)):
        out.append(sanitizer.feed(data[last:cut]))
        last = cut
    out.append(sanitizer.feed(data[last:]))
    out.append(sanitizer.flush())
    text = "".join(out)
    assert text.count("\n") == data.count(b"\n")
    assert text == sanitize_log(data)


@FUZZ
@given(text=hostile_text)
def test_printable_leaves_nothing_for_a_terminal(text):
    shown = printable(text)
    assert shown.isprintable() and len(shown) == len(text)
    assert terminal_problems(shown, allow_cup=False) == []


# -- database values turned into paths and output -----------------------------------------


@FUZZ
@given(build=st.uuids(), drv=hostile_text)
def test_log_paths_stay_inside_the_log_directory(build, drv):
    try:
        path = zb_log_path("/logs", str(build), drv)
    except ValueError:
        return
    assert os.path.dirname(os.path.dirname(os.path.dirname(path))) == "/logs"
    assert os.path.normpath(path).startswith(f"/logs/{str(build)[:4]}/{build}/")
    assert "/" not in os.path.basename(path)


@FUZZ
@given(
    value=st.recursive(
        st.one_of(st.none(), st.booleans(), st.integers(), hostile_text),
        lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(hostile_text, inner, max_size=4)),
        max_leaves=20,
    )
)
def test_query_json_is_valid_utf8_and_terminal_safe(value):
    text = dump_json(value)
    text.encode("utf-8")  # lone surrogates are escaped, never written raw
    assert json.loads(text) == value
    assert terminal_problems(text.replace("\n", ""), allow_cup=False) == []
    assert not any(c in text for c in "\u202e\u2028\u2029")


@FUZZ
@given(
    algorithm=hostile_text,
    bits=st.binary(max_size=70),
    name=hostile_text,
    path=hostile_text,
    classes=st.lists(
        st.tuples(hostile_text, st.one_of(st.none(), hostile_text), st.one_of(st.none(), st.binary(max_size=40)), st.one_of(st.none(), hostile_text)),
        max_size=4,
    ),
)
def test_realization_message_from_any_row(algorithm, bits, name, path, classes):
    try:
        message = zb_realization_message(algorithm, bits, name, path, classes)
    except ValueError:
        return
    assert isinstance(message, bytes)
