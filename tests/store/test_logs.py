"""Tests for zbtui.store.logs: locating build logs and reading them by offset."""

from __future__ import annotations

import bz2
import os
import shutil
import time
from pathlib import Path

import helpers
import pytest

from zbtui.store.logs import (
    MAX_READ,
    LogError,
    LogInfo,
    find_nix_log,
    nix_log_candidates,
    open_log,
    stat_log,
    zb_log_path,
)

REALDATA = Path(helpers.REALDATA)
REAL_BZ2 = REALDATA / "log-sample-bhbz68hdns1fr35a467vwpxjixxixg5g-broken-0.1.drv.bz2"
REAL_EXPECTED = REALDATA / "expected-log-broken.txt"
BROKEN_DRV = "/nix/store/bhbz68hdns1fr35a467vwpxjixxixg5g-broken-0.1.drv"
BUILD_ID = "0198a1b2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


# -- locating ---------------------------------------------------------------------


def test_zb_log_path_layout() -> None:
    got = zb_log_path(
        "/opt/zb/var/log/zb", BUILD_ID, "/opt/zb/store/cs4n5mbm46xwzb9yxm983gzqh0k5b2hp-hello.drv"
    )
    assert got == (
        "/opt/zb/var/log/zb/0198/0198a1b2-3c4d-7e5f-8a9b-0c1d2e3f4a5b/"
        "cs4n5mbm46xwzb9yxm983gzqh0k5b2hp-hello.txt"
    )


def test_zb_log_path_windows_drv_and_uuid_forms() -> None:
    drv = "C:\\zb\\store\\cs4n5mbm46xwzb9yxm983gzqh0k5b2hp-hello.drv"
    expected = f"/logs/0198/{BUILD_ID}/cs4n5mbm46xwzb9yxm983gzqh0k5b2hp-hello.txt"
    assert zb_log_path("/logs", BUILD_ID, drv) == expected
    # Upper case, and the 16 raw bytes zb keeps in its database, both normalise.
    assert zb_log_path("/logs", BUILD_ID.upper(), drv) == expected
    raw = bytes.fromhex(BUILD_ID.replace("-", ""))
    assert zb_log_path("/logs", raw, drv) == expected
    with pytest.raises(ValueError, match="not a build id"):
        zb_log_path("/logs", "not-a-uuid", drv)
    with pytest.raises(ValueError):
        zb_log_path("/logs", BUILD_ID, "/opt/zb/store/")


def test_nix_log_candidates() -> None:
    assert nix_log_candidates("/nix/var/log/nix", BROKEN_DRV) == [
        "/nix/var/log/nix/drvs/bh/bz68hdns1fr35a467vwpxjixxixg5g-broken-0.1.drv.bz2",
        "/nix/var/log/nix/drvs/bh/bz68hdns1fr35a467vwpxjixxixg5g-broken-0.1.drv",
    ]


def test_find_nix_log(tmp_path: Path) -> None:
    bz2_path, plain_path = nix_log_candidates(str(tmp_path), BROKEN_DRV)
    missing = find_nix_log(str(tmp_path), BROKEN_DRV)
    assert missing.missing and not missing.exists
    assert missing.error == (
        f"no log file at {plain_path}(.bz2) (directory {tmp_path}/drvs does not exist)"
    )

    os.makedirs(os.path.dirname(plain_path))
    write(Path(plain_path), b"plain log\n")
    found = find_nix_log(str(tmp_path), BROKEN_DRV)
    assert found == LogInfo(path=plain_path, exists=True, size=10, compressed=False, error=None)

    shutil.copyfile(REAL_BZ2, bz2_path)
    found = find_nix_log(str(tmp_path), BROKEN_DRV)
    assert found == LogInfo(path=bz2_path, exists=True, size=None, compressed=True, error=None)
    assert not found.missing


# -- stat_log -----------------------------------------------------------------------


def test_stat_log_plain_file(tmp_path: Path) -> None:
    path = write(tmp_path / "x.txt", b"12345")
    info = stat_log(path)
    assert info == LogInfo(path=path, exists=True, size=5, compressed=False, error=None)
    assert not info.missing


def test_stat_log_missing_file_and_directory(tmp_path: Path) -> None:
    path = str(tmp_path / "nope.txt")
    info = stat_log(path)
    assert (info.exists, info.missing, info.error) == (False, True, f"no log file at {path}")

    deep = str(tmp_path / "absent" / "0198" / "x.txt")
    assert stat_log(deep).error == (
        f"no log file at {deep} (directory {tmp_path}/absent does not exist)"
    )

    file_as_dir = write(tmp_path / "plain", b"")
    under = file_as_dir + "/x.txt"
    assert stat_log(under).error == f"no log file at {under} ({file_as_dir} is not a directory)"


def test_stat_log_directory_and_fifo(tmp_path: Path) -> None:
    info = stat_log(str(tmp_path))
    assert (info.exists, info.error) == (False, f"{tmp_path} is a directory, not a log file")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # Must not block: a FIFO is never opened.
    assert stat_log(str(fifo)).error == f"{fifo} is not a regular file"
    with pytest.raises(LogError, match="is not a regular file"):
        open_log(str(fifo))
    with pytest.raises(LogError, match="is a directory, not a log file"):
        open_log(str(tmp_path))
    with pytest.raises(LogError, match="no log file at"):
        open_log(str(tmp_path / "missing.txt"))


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read anything")
def test_stat_log_permission_denied(tmp_path: Path) -> None:
    path = write(tmp_path / "secret.txt", b"x")
    os.chmod(path, 0)
    try:
        info = stat_log(path)
        assert info.exists and info.missing
        assert info.error == f"log file {path} is not readable (permission denied)"
        with pytest.raises(LogError, match="not readable"):
            open_log(path)
    finally:
        os.chmod(path, 0o600)
    locked = tmp_path / "locked"
    locked.mkdir()
    inner = str(locked / "x.txt")
    os.chmod(locked, 0)
    try:
        info = stat_log(inner)
        assert info.error == f"log directory {locked} is not readable (permission denied)"
    finally:
        os.chmod(locked, 0o700)


def test_log_info_unavailable() -> None:
    info = LogInfo.unavailable("no log file: the result was reused, not built")
    assert info.path is None and info.missing
    assert info.error == "no log file: the result was reused, not built"


# -- reading bz2 ----------------------------------------------------------------------


def test_real_nix_bz2_log(tmp_path: Path) -> None:
    path = tmp_path / REAL_BZ2.name
    shutil.copyfile(REAL_BZ2, path)
    expected = REAL_EXPECTED.read_bytes()
    # What nix-store --read-log printed ends with exactly one newline, the one
    # stored in the log: nothing is added or stripped.
    assert len(expected) == 179
    assert expected.endswith(b"broken-0.1\n") and not expected.endswith(b"\n\n")
    with open_log(str(path)) as log:
        assert log.compressed and not log.truncated
        assert log.size() == 179
        assert log.read(0, 1000) == expected
        assert log.read(0, 22) == b"configuring broken-0.1"
        assert log.tail(12) == (167, b" broken-0.1\n") == (167, expected[-12:])
        assert list(log.line_starts()) == [0, 23, 105, 132]
        assert log.find(b"LIBQUUX", 0, ignore_case=True) == 118
        assert log.find(b"libquux", 179, backwards=True) == 139
    assert log.closed
    with pytest.raises(ValueError):
        log.read(0, 1)


def test_bz2_large_multi_chunk_and_multi_stream(tmp_path: Path) -> None:
    # Two bzip2 streams (pbzip2 style), the first over 1 MiB, so decompression
    # crosses a 1 MiB output chunk and a stream boundary.
    first = b"".join(b"line %07d of the first stream\n" % i for i in range(40_000))
    second = b"".join(b"line %07d of stream two\n" % i for i in range(1_000))
    path = write(tmp_path / "big.drv.bz2", bz2.compress(first) + bz2.compress(second))
    with open_log(path) as log:
        assert log.size() == len(first) + len(second)
        assert not log.truncated
        assert log.read(len(first) - 5, 10) == (first + second)[len(first) - 5 : len(first) + 5]
        offset, data = log.tail(100)
        assert (offset, data) == (log.size() - 100, second[-100:])


def test_bz2_trailing_garbage_is_ignored(tmp_path: Path) -> None:
    path = write(tmp_path / "g.bz2", bz2.compress(b"hello\n") + b"\x00\x00garbage")
    with open_log(path) as log:
        assert log.read(0, 100) == b"hello\n"
        assert not log.truncated


def test_bz2_truncated_serves_what_is_there(tmp_path: Path) -> None:
    content = os.urandom(300_000).hex().encode()
    blob = bz2.compress(content)
    path = write(tmp_path / "t.bz2", blob[: len(blob) // 2])
    with open_log(path) as log:
        assert log.truncated
        data = log.read(0, MAX_READ)
        assert content.startswith(data)


def test_bz2_limit(tmp_path: Path) -> None:
    path = write(tmp_path / "bomb.bz2", bz2.compress(b"\0" * (5 << 20)))
    with open_log(path, max_uncompressed=1 << 20) as log:
        assert log.truncated
        assert log.size() == 1 << 20


def test_corrupt_bz2_raises_log_error(tmp_path: Path) -> None:
    not_bz2 = write(tmp_path / "a.drv.bz2", b"plain text, not compressed\n")
    with pytest.raises(LogError, match=r"a\.drv\.bz2: not a bzip2 file"):
        open_log(not_bz2)
    blob = bytearray(bz2.compress(b"some log text\n" * 1000))
    blob[20:40] = b"\xff" * 20
    corrupt = write(tmp_path / "b.drv.bz2", bytes(blob))
    with pytest.raises(LogError, match=r"b\.drv\.bz2: corrupt bzip2 data") as info:
        open_log(corrupt)
    assert "\n" not in str(info.value)


def test_empty_bz2_is_an_empty_log(tmp_path: Path) -> None:
    with open_log(write(tmp_path / "e.bz2", b"")) as log:
        assert log.size() == 0
        assert log.read(0, 10) == b""
        assert list(log.line_starts()) == []


# -- reading plain files ------------------------------------------------------------------


def test_plain_range_reads_and_tail(tmp_path: Path) -> None:
    data = bytes(range(256)) * 10
    with open_log(write(tmp_path / "p.txt", data)) as log:
        assert not log.compressed and log.size() == 2560
        assert log.read(100, 50) == data[100:150]
        assert log.read(2550, 50) == data[2550:]
        assert log.read(5000, 10) == b""
        assert log.read(0, 0) == b""
        assert log.tail(10) == (2550, data[-10:])
        assert log.tail(10_000) == (0, data)
        assert log.tail(0) == (2560, b"")
        with pytest.raises(ValueError):
            log.read(-1, 10)


def test_read_is_capped(tmp_path: Path) -> None:
    path = tmp_path / "big.txt"
    with open(path, "wb") as f:
        f.truncate(MAX_READ + 1000)
    with open_log(str(path)) as log:
        assert len(log.read(0, MAX_READ * 2)) == MAX_READ
        offset, data = log.tail(MAX_READ * 2)
        assert (offset, len(data)) == (1000, MAX_READ)


def test_line_starts_incremental_on_growing_file(tmp_path: Path) -> None:
    path = tmp_path / "grow.txt"
    path.write_bytes(b"a\nbb\n")
    with open_log(str(path)) as log:
        index = log.line_starts()
        assert list(index) == [0, 2]
        end = log.size()
        with open(path, "ab") as f:
            f.write(b"ccc")
        # size() re-stats: the file grew while open.
        assert log.size() == 8
        index.extend(log.line_starts(end))
        end = log.size()
        assert list(index) == [0, 2, 5]
        with open(path, "ab") as f:
            f.write(b"\nd\n\neee")
        index.extend(log.line_starts(end))
        assert list(index) == [0, 2, 5, 9, 11, 12]
        # The same as one full scan, whatever the chunk size.
        assert list(log.line_starts()) == list(index)
        assert list(log.line_starts(chunk=1)) == list(index)
        assert list(log.line_starts(chunk=3)) == list(index)
        # A window in the middle.
        assert list(log.line_starts(3, 11)) == [5, 9]
        assert list(log.line_starts(2, 3)) == [2]
        assert list(log.line_starts(3, 3)) == []


def test_line_starts_empty_file(tmp_path: Path) -> None:
    with open_log(write(tmp_path / "e.txt", b"")) as log:
        assert list(log.line_starts()) == []
    with open_log(write(tmp_path / "n.txt", b"\n")) as log:
        assert list(log.line_starts()) == [0]


def test_find_across_chunk_boundaries(tmp_path: Path) -> None:
    data = b"0123456789error: boom\n0123456789ERROR: again\n"
    with open_log(write(tmp_path / "f.txt", data)) as log:
        # With 4-byte chunks "error" (at 10) and "ERROR" (at 32) straddle them.
        for chunk in (1, 3, 4, 7, 1 << 20):
            assert log.find(b"error", 0, chunk=chunk) == 10
            assert log.find(b"error", 11, chunk=chunk) is None
            assert log.find(b"error", 11, ignore_case=True, chunk=chunk) == 32
            assert log.find(b"ERROR", 0, chunk=chunk) == 32
            assert log.find(b"error", len(data), backwards=True, chunk=chunk) == 10
            back = log.find(b"Error", len(data), backwards=True, ignore_case=True, chunk=chunk)
            assert back == 32
            # Backwards finds matches that begin before start, even if they
            # end after it; from the match itself it finds the previous one.
            assert log.find(b"ERROR", 33, backwards=True, chunk=chunk) == 32
            assert log.find(b"error", 32, backwards=True, ignore_case=True, chunk=chunk) == 10
            assert log.find(b"error", 10, backwards=True, chunk=chunk) is None
            assert log.find(b"\nboom", 0, chunk=chunk) is None
            assert log.find(b"again\n", 0, chunk=chunk) == len(data) - 6
        with pytest.raises(ValueError):
            log.find(b"", 0)


def test_one_megabyte_single_line(tmp_path: Path) -> None:
    data = b"x" * (1 << 20) + b"END"
    with open_log(write(tmp_path / "long.txt", data)) as log:
        assert list(log.line_starts(chunk=64 * 1024)) == [0]
        assert log.read(500_000, 10) == b"x" * 10
        assert log.tail(5) == (len(data) - 5, b"xxEND")
        assert log.find(b"xEND", 0, chunk=4096) == len(data) - 4
        assert log.find(b"END", len(data), backwards=True) == len(data) - 3


def test_sparse_ten_gib_file(tmp_path: Path) -> None:
    size = 10 << 30
    path = tmp_path / "sparse.txt"
    with open(path, "wb") as f:
        f.truncate(size)
        f.seek(size - 19)
        f.write(b"\nfinal line here!!\n")
    started = time.monotonic()
    with open_log(str(path)) as log:
        assert log.size() == size
        assert log.tail(19) == (size - 19, b"\nfinal line here!!\n")
        assert log.read(5 << 30, 16) == b"\0" * 16
        assert log.read(size - 3, 100) == b"!!\n"
        assert log.find(b"final", size, backwards=True) == size - 18
        assert log.find(b"here", size - 100) == size - 7
        assert list(log.line_starts(size - 64)) == [size - 18]
    assert time.monotonic() - started < 2.0
