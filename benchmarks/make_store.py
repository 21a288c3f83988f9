"""Generate a large, realistic zb backend database for benchmarking zbtui.

Usage::

    python benchmarks/make_store.py /tmp/zbtui-bench/1m              # 1,000,000 objects
    python benchmarks/make_store.py /tmp/zbtui-bench/10k --objects 10000

Writes ``<dir>/db.sqlite`` (a valid zb database: the exact version-5 schema from
`zbtui.demo.schema.create_zb_database`, ``user_version`` 5, WAL, incremental
auto-vacuum, analysed as zb's ``PRAGMA optimize`` leaves it) and
``<dir>/facts.json`` with the ground truth `run.py` needs: the hub objects,
the root of a ~12k-path closure, both ends of a 500-link reference chain, the
trusted key, counts and the generation time.

Shape of the data (deterministic for a given ``--seed`` and ``--objects``):

* Objects come in *packages*: an optional source tarball, a ``.drv``, then one
  to four outputs (``out``, ``lib``, ``dev``, ``man``). Derivations reference
  their input derivations, their source and the ``bash`` builder; outputs
  reference the runtime outputs of some inputs, ``glibc`` and sometimes
  ``gcc-lib`` and themselves. References always point at older objects, so
  the graph is a DAG like a real store.
* Packages are grouped in *generations* of about 25k objects (one nixpkgs
  revision each): dependencies are drawn inside a generation, so closures
  stay realistically bounded instead of swallowing the whole store.
* A few hubs are referenced by 100k+ objects on a 1M store (``bash`` by
  every derivation: 280k; ``glibc`` by ~45% of the outputs: 220k;
  ``gcc-lib`` by ~20%: 56k).
* A dedicated block gives one "system" output whose closure is ~12,000 paths,
  and a chain of 500 packages, each output referencing the previous one, gives
  why-depends a 499-link shortest path with no shortcut.
* 30% of objects (300k of 1M) are realized outputs with reference classes and
  an Ed25519 signature by the trusted key (10% also by a cache key). Every
  signature is a real signature over its own RFC 8785 message, except
  ``facts["invalid_signatures"]`` rows whose last byte is deliberately flipped.
  A few realizations name an output path that is not present (a rebuild that
  produced another path).
* 10% as many builds as objects (100k of 1M), UUIDv7 ids spread over 90 days,
  one to five results each, mostly successful, with outputs.

Speed: one transaction with ``journal_mode=off`` and ``synchronous=off``,
``executemany`` over generators, secondary indexes dropped during the load and
recreated afterwards (sorting once is far cheaper than a million random index
inserts). About two minutes for 1M objects on a 2-core machine.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import random
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import nacl.bindings

from zbtui.demo.schema import ZB_SCHEMA_VERSION, create_zb_database
from zbtui.store.signatures import zb_realization_message

STORE_DIR = "/opt/zb/store"
"""zb's default store directory: what real databases name."""

GENERATION_OBJECTS = 25_000
"""Objects per generation (a nixpkgs revision); bounds ordinary closures."""

CLOSURE_TARGET = 12_000
"""Size of the benchmark's big closure: nix-tree-rs' published 12,253-path case."""

CHAIN_LENGTH = 500
"""Packages in the why-depends chain: a shortest path of 499 links."""

REALIZED_FRACTION = 0.30
"""Realizations per object: 300k on a 1M store."""

BUILD_FRACTION = 0.10
"""Builds per object: 100k on a 1M store."""

TRUSTED_SEED = hashlib.sha256(b"zbtui benchmark: build server key").digest()
CACHE_SEED = hashlib.sha256(b"zbtui benchmark: binary cache key").digest()

NOW_MS = 1_767_225_600_000
"""2026-01-01T00:00:00Z: every time in the store is before this."""

_DAY_MS = 86_400_000

# Maps every byte to a nix-base32 character by its low five bits, so that
# random bytes become random nix-base32 text in one C call.
_BYTE_TO_NIX32 = bytes((b"0123456789abcdfghijklmnpqrsvwxyz"[b & 31] for b in range(256)))

_BASE_NAMES = (
    "acl attr autoconf automake bison boost brotli bzip2 c-ares cairo cmake coreutils curl cyrus-sasl "
    "dbus diffutils e2fsprogs elfutils expat file findutils flex fontconfig freetype gawk gdbm gettext "
    "git glib gmp gnugrep gnum4 gnupg gnused gnutar gnutls gperf gtk3 gzip harfbuzz icu isl jq json-c "
    "kmod krb5 lcms2 less libarchive libcap libedit libevent libffi libgcrypt libgpg-error libidn2 "
    "libjpeg libpng libpsl libseccomp libssh2 libtasn1 libtiff libtool libunistring libuv libwebp "
    "libxcrypt libxkbcommon libxml2 libxslt libyaml linux-pam lz4 lzo mpc mpfr ncurses nettle nghttp2 "
    "nspr nss openldap openssh p11-kit pango patch pcre2 perl pixman pkg-config popt readline rsync "
    "sqlite systemd texinfo tzdata unzip util-linux vim wayland which xz zlib zstd llvm clang rustc "
    "cargo go nodejs ruby lua tcl tk ghc openjdk gfortran meson ninja scons bazel"
).split()

_LANG_PACKAGES = {
    "python3.12-": "requests urllib3 certifi idna charset-normalizer numpy scipy pandas attrs six "
    "setuptools wheel pip packaging pyparsing jinja2 markupsafe click rich textual pygments pytest "
    "hypothesis cryptography cffi pycparser pyyaml toml tomli docutils sphinx babel pytz "
    "dateutil filelock platformdirs virtualenv aiohttp yarl multidict frozenlist",
    "perl5.38-": "Moose Try-Tiny JSON-PP LWP URI HTTP-Message Test-Simple DBI DBD-SQLite XML-Parser "
    "Module-Build Params-Util Sub-Exporter Class-Load Data-OptList File-Slurp IO-Socket-SSL",
    "haskell-": "aeson text bytestring containers mtl transformers lens vector unordered-containers "
    "hashable attoparsec parsec optparse-applicative async stm random QuickCheck hspec",
    "rust-": "serde serde_json tokio rand regex clap anyhow thiserror log syn quote proc-macro2 "
    "itertools once_cell libc bitflags memchr hashbrown",
    "node-": "lodash react express chalk commander debug semver uuid yargs typescript webpack "
    "babel-core eslint prettier",
}

_OUTPUT_SETS = (("out",), ("out",), ("out", "dev"), ("out", "lib", "dev"), ("out", "man"), ("out", "dev", "man", "lib"))


def random_nix32(rng: random.Random, n_bytes: int) -> str:
    """nix-base32 text of ``n_bytes`` random bytes (a digest or a hash).

    Encoding random bytes gives uniformly random characters, except that the
    leading character carries only the bits left over (one bit for 32 bytes:
    ``0`` or ``1``), as `zbtui.store.formats.nix32_decode` requires. Drawing
    the characters directly costs one ``translate`` instead of a Python loop
    per character: a million digests and CAs are needed per store.
    """
    length = (n_bytes * 8 + 4) // 5
    text = rng.randbytes(length).translate(_BYTE_TO_NIX32).decode("ascii")
    spare_bits = n_bytes * 8 - (length - 1) * 5
    if spare_bits < 5:
        text = "0123456789abcdfghijklmnpqrsvwxyz"[rng.getrandbits(spare_bits)] + text[1:]
    return text


def uuid7_bytes(ms: int, rng: random.Random) -> bytes:
    """16 raw bytes of a UUIDv7 with timestamp ``ms`` (zb's build ids)."""
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | rng.getrandbits(12) << 64 | 0b10 << 62 | rng.getrandbits(62)
    return value.to_bytes(16, "big")


@dataclass
class Package:
    """One derivation and the objects it owns, by object index."""

    name: str
    drv: int
    outputs: dict[str, int]
    source: int | None
    deps: list[int] = field(default_factory=list)
    """Indices (into the package list) of its input packages."""


class Graph:
    """Objects (names, kinds, sizes) and their references, built in id order.

    Object ``i`` has path id ``i + 1``: paths are inserted in registration
    order, as zb does, while digests are random, so name order and id order
    are unrelated (as in a real store).
    """

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.names: list[str] = []
        self.refs: list[list[int]] = []
        self.sizes: list[int] = []
        self.is_text: list[bool] = []
        self.packages: list[Package] = []
        self.package_of: list[int] = []

    def add_object(self, name: str, refs: list[int], size: int, text: bool) -> int:
        index = len(self.names)
        self.names.append(name)
        self.refs.append(refs)
        self.sizes.append(size)
        self.is_text.append(text)
        self.package_of.append(len(self.packages))
        return index

    def add_package(
        self,
        name: str,
        deps: Sequence[int],
        *,
        outputs: Sequence[str] = ("out",),
        runtime: Sequence[int] = (),
        extra_out_refs: Sequence[int] = (),
        builder: int | None = None,
        glibc: int | None = None,
        gcc_lib: int | None = None,
    ) -> Package:
        """Add source, .drv and outputs of one package.

        Args:
            deps: Input packages (their .drv files are referenced by ours).
            runtime: Input packages whose main output our outputs reference.
            extra_out_refs: Object indices every output references as well.
            builder: The bash output every .drv references, when it exists.
            glibc, gcc_lib: Hub outputs referenced with realistic probability.
        """
        rng = self.rng
        source = None
        if rng.random() < 0.4:
            suffix = rng.choice((".tar.gz", ".tar.xz", ".tar.bz2", ".zip", ".patch"))
            source = self.add_object(name + suffix, [], rng.randint(20_000, 40_000_000), False)
        drv_refs = sorted({self.packages[d].drv for d in deps} | ({source} if source is not None else set()) | ({builder} if builder is not None else set()))
        drv = self.add_object(name + ".drv", drv_refs, rng.randint(1_000, 12_000), True)
        out_ids: dict[str, int] = {}
        for output in outputs:
            refs: set[int] = set()
            if output == "out":
                refs.update(self.main_output(r) for r in runtime if rng.random() < 0.8)
                refs.update(extra_out_refs)
                if glibc is not None and rng.random() < 0.45:
                    refs.add(glibc)
                if gcc_lib is not None and rng.random() < 0.2:
                    refs.add(gcc_lib)
            elif output == "lib":
                refs.update(self.main_output(r) for r in runtime if rng.random() < 0.5)
                if glibc is not None:
                    refs.add(glibc)
            elif output == "dev":
                # Propagated inputs: a -dev output names its own out and its inputs' headers.
                refs.add(out_ids["out"])
                refs.update(self.main_output(r) for r in runtime if rng.random() < 0.5)
            obj_name = name if output == "out" else f"{name}-{output}"
            size = int(rng.lognormvariate(13, 2)) + 512
            index = self.add_object(obj_name, [], size, False)
            if rng.random() < 0.12:
                refs.add(index)  # self-references are stored (spec §1.4)
            self.refs[index] = sorted(refs)
            out_ids[output] = index
        package = Package(name, drv, out_ids, source, list(deps))
        self.packages.append(package)
        return package

    def main_output(self, package: int) -> int:
        outs = self.packages[package].outputs
        return outs.get("lib", outs["out"])

    def closure(self, start: int, seen: set[int] | None = None) -> set[int]:
        """Every object reachable from ``start``, added to ``seen`` (which is returned)."""
        seen = seen if seen is not None else set()
        if start in seen:
            return seen
        seen.add(start)
        stack = [start]
        while stack:
            for r in self.refs[stack.pop()]:
                if r not in seen:
                    seen.add(r)
                    stack.append(r)
        return seen


def _package_names(rng: random.Random) -> Iterator[str]:
    """An endless stream of plausible ``name-version`` strings."""
    pool: list[str] = list(_BASE_NAMES)
    for prefix, names in _LANG_PACKAGES.items():
        pool.extend(prefix + n for n in names.split())
    while True:
        base = rng.choice(pool)
        version = ".".join(str(rng.randint(0, 30 if i else 9)) for i in range(rng.choice((2, 3, 3))))
        yield f"{base}-{version}"


def build_graph(n_objects: int, rng: random.Random) -> tuple[Graph, dict[str, Any]]:
    """Plan every object and reference; returns the graph and its facts."""
    g = Graph(rng)
    names = _package_names(rng)
    # Hubs, first: a bootstrap glibc, gcc-lib and bash that almost everything uses.
    linux = g.add_package("linux-headers-6.12.7", [])
    glibc_pkg = g.add_package("glibc-2.40-66", [0], outputs=("out", "dev", "bin"))
    glibc = glibc_pkg.outputs["out"]
    g.refs[glibc] = sorted(set(g.refs[glibc]) | {glibc})
    gcc = g.add_package("gcc-14.2.1", [1], outputs=("out", "lib"), extra_out_refs=[glibc])
    gcc_lib = gcc.outputs["lib"]
    g.refs[gcc_lib] = sorted({gcc_lib, glibc})
    ncurses = g.add_package("ncurses-6.5", [1, 2], outputs=("out", "dev"), extra_out_refs=[glibc])
    readline = g.add_package("readline-8.2p13", [3], runtime=[3], extra_out_refs=[glibc])
    bash_pkg = g.add_package("bash-5.2p37", [1, 2, 3, 4], runtime=[3, 4], extra_out_refs=[glibc])
    bash = bash_pkg.outputs["out"]
    del linux, ncurses, readline
    hub_ids = {"bash": bash, "glibc": glibc, "gcc-lib": gcc_lib}
    hub_packages = len(g.packages)

    def add(name: str, deps: list[int], runtime: list[int], extra: Sequence[int] = ()) -> Package:
        return g.add_package(
            name, deps, outputs=rng.choice(_OUTPUT_SETS), runtime=runtime, extra_out_refs=extra,
            builder=bash, glibc=glibc, gcc_lib=gcc_lib,
        )

    def local_deps(first: int, count: int, spread: float) -> list[int]:
        """Up to ``count`` earlier packages of this generation, mostly recent ones."""
        last = len(g.packages) - 1
        if last < first:
            return []
        picked = {max(first, last - int(rng.expovariate(1.0 / spread))) for _ in range(count)}
        return sorted(picked)

    # Generation 0 holds the why-depends chain, after a base to draw side references from.
    gen_first = len(g.packages)
    for _ in range(min(2000, n_objects // 20)):
        deps = local_deps(gen_first, rng.randint(1, 5), 300)
        add(next(names), deps, deps[: len(deps) // 2 + 1] if deps else [])
    base_last = len(g.packages) - 1
    chain: list[int] = []
    for k in range(CHAIN_LENGTH):
        side = sorted({rng.randint(gen_first, base_last) for _ in range(rng.randint(0, 3))})
        runtime = side[:1]
        extra = [g.packages[chain[-1]].outputs["out"]] if chain else []
        pkg = g.add_package(
            f"chain-link-{k:03d}-1.0", side + ([chain[-1]] if chain else []), runtime=runtime,
            extra_out_refs=extra, builder=bash, glibc=glibc, gcc_lib=gcc_lib,
        )
        chain.append(len(g.packages) - 1)
        del pkg

    # The big closure: a block of packages whose outputs reference each other
    # densely, plus a "system" output that references the tops until the
    # closure reaches the target.
    target = min(CLOSURE_TARGET, max(1000, int(n_objects * 0.15)))
    block_first = len(g.packages)
    block_outputs: list[int] = []
    base_closure = g.closure(glibc) | g.closure(gcc_lib)
    while len(block_outputs) + len(base_closure) < target * 1.02:
        lo = block_first
        deps = sorted({rng.randint(lo, len(g.packages) - 1) for _ in range(rng.randint(1, 4))}) if len(g.packages) > lo else []
        pkg = add(next(names), deps, deps)
        block_outputs.extend(pkg.outputs.values())
    tops: list[int] = []
    seen: set[int] = set()
    for index in reversed(block_outputs):
        if len(seen) >= target - 1:
            break
        if index not in seen:
            tops.append(index)
            g.closure(index, seen)
    system = g.add_object("system-path", sorted(tops), 180_000, False)
    g.packages.append(Package("system-path", drv=system, outputs={"out": system}, source=None))
    g.package_of[system] = len(g.packages) - 1

    # Ordinary generations until the store is full.
    while len(g.names) < n_objects:
        gen_first = len(g.packages)
        gen_objects_end = min(n_objects, len(g.names) + GENERATION_OBJECTS)
        while len(g.names) < gen_objects_end:
            deps = local_deps(gen_first, rng.randint(3, 11), 400)
            add(next(names), deps, deps)

    closure = g.closure(system)
    facts: dict[str, Any] = {
        "hub_indices": hub_ids,
        "hub_packages": hub_packages,
        "closure_root_index": system,
        "closure_size": len(closure),
        "chain_top_index": g.packages[chain[-1]].outputs["out"],
        "chain_bottom_index": g.packages[chain[0]].outputs["out"],
        "chain_links": CHAIN_LENGTH - 1,
    }
    return g, facts


def realization_message(
    algorithm: str, bits: bytes, output_name: str, output_path: str, classes: Sequence[tuple[str, bytes | None, str | None]]
) -> bytes:
    """The RFC 8785 bytes zb signs, for ``sha256`` drv hashes.

    Equal to `zbtui.store.signatures.zb_realization_message` for this data
    (ASCII keys, no numbers: ``json.dumps`` with sorted keys is canonical; the
    spec checked it) but in C: 300k messages take seconds, not a minute. A
    sample is cross-checked against the real function in `main`.
    """
    entries = []
    for path, ref_bits, ref_name in classes:
        if ref_bits is None:
            entries.append(((path.encode(), 0, b""), {"path": path, "realization": None}))
        else:
            digest = base64.b64encode(ref_bits).decode()
            entries.append(
                (
                    (path.encode(), 1, digest.encode() + b"\x00" + (ref_name or "").encode()),
                    {
                        "path": path,
                        "realization": {
                            "derivationHash": {"algorithm": "sha256", "digest": digest},
                            "outputName": ref_name,
                        },
                    },
                )
            )
    entries.sort(key=lambda e: e[0])
    doc = {
        "derivationHash": {"algorithm": algorithm, "digest": base64.b64encode(bits).decode()},
        "outputName": output_name,
        "outputPath": output_path,
        "referenceClasses": [e[1] for e in entries],
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _sign(secret: bytes, message: bytes) -> bytes:
    # crypto_sign returns signature ‖ message; the first 64 bytes are the detached signature.
    return nacl.bindings.crypto_sign(message, secret)[:64]


def generate(directory: str, n_objects: int, seed: int, log: Any = print) -> dict[str, Any]:
    """Write ``<directory>/db.sqlite`` and ``facts.json``; return the facts."""
    started = time.perf_counter()
    os.makedirs(directory, exist_ok=True)
    db_path = os.path.join(directory, "db.sqlite")
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(db_path + suffix):
            os.remove(db_path + suffix)
    rng = random.Random(seed)

    graph, facts = build_graph(n_objects, rng)
    n = len(graph.names)
    log(f"planned {n:,} objects, {sum(map(len, graph.refs)):,} references in {time.perf_counter() - started:.1f}s")

    paths = [f"{STORE_DIR}/{random_nix32(rng, 20)}-{name}" for name in graph.names]

    conn = create_zb_database(db_path)
    # Capture the explicit indexes' SQL so they can be rebuilt verbatim after the load.
    index_sql = [row[0] for row in conn.execute("select sql from sqlite_schema where type = 'index' and sql is not null")]
    index_names = [row[0] for row in conn.execute("select name from sqlite_schema where type = 'index' and sql is not null")]
    conn.execute("pragma foreign_keys = off")
    conn.execute("pragma journal_mode = delete")
    conn.execute("pragma journal_mode = off")
    conn.execute("pragma synchronous = off")
    conn.execute("pragma cache_size = -1000000")  # 1 GB: the unique path index stays in memory
    conn.execute("pragma temp_store = memory")
    conn.execute("begin")
    for name in index_names:
        conn.execute(f'drop index "{name}"')

    # -- objects and references -------------------------------------------
    def object_rows() -> Iterator[tuple]:
        for i in range(n):
            if graph.is_text[i]:
                ca = "text:sha256:" + random_nix32(rng, 32)
            else:
                ca = "fixed:r:sha256:" + random_nix32(rng, 32)
            yield (i + 1, graph.sizes[i], "sha256-" + base64.b64encode(rng.randbytes(32)).decode(), ca)

    conn.executemany('insert into "paths" ("id", "path") values (?, ?)', ((i + 1, p) for i, p in enumerate(paths)))
    conn.executemany('insert into "objects" ("id", "nar_size", "nar_hash", "ca") values (?, ?, ?, ?)', object_rows())
    conn.executemany(
        'insert into "references" ("referrer", "reference") values (?, ?)',
        ((i + 1, r + 1) for i in range(n) for r in graph.refs[i]),
    )
    log(f"objects written at {time.perf_counter() - started:.1f}s")

    # -- realizations, reference classes, signatures -----------------------
    n_real = int(n * REALIZED_FRACTION)
    candidates = [p for p in range(len(graph.packages)) if graph.packages[p].name != "system-path"]
    rng.shuffle(candidates)
    realized: list[int] = []  # packages, in realization order
    count = 0
    for p in candidates:
        if count >= n_real:
            break
        realized.append(p)
        count += len(graph.packages[p].outputs)
    realized.sort()
    drv_hash_of_pkg: dict[int, int] = {}
    drv_hash_bits: list[bytes] = []
    for p in realized:
        drv_hash_bits.append(rng.randbytes(32))
        drv_hash_of_pkg[p] = len(drv_hash_bits)
    # Build results carry drv hashes too: every package gets one lazily.
    def drv_hash_for(p: int) -> int:
        h = drv_hash_of_pkg.get(p)
        if h is None:
            drv_hash_bits.append(rng.randbytes(32))
            h = drv_hash_of_pkg[p] = len(drv_hash_bits)
        return h

    output_name_of: dict[int, str] = {}
    for p in realized:
        for name, index in graph.packages[p].outputs.items():
            output_name_of[index] = name

    trusted_sk = nacl.bindings.crypto_sign_seed_keypair(TRUSTED_SEED)
    cache_sk = nacl.bindings.crypto_sign_seed_keypair(CACHE_SEED)
    extra_paths: list[str] = []
    realization_rows: list[tuple[int, str, int]] = []
    class_rows: list[tuple] = []
    signature_rows: list[tuple] = []
    invalid = 0
    samples: list[tuple] = []
    for p in realized:
        pkg = graph.packages[p]
        h = drv_hash_of_pkg[p]
        for output_name, index in pkg.outputs.items():
            path_id = index + 1
            out_path = paths[index]
            classes: list[tuple[str, bytes | None, str | None]] = []
            for r in graph.refs[index]:
                rp = graph.package_of[r]
                if r in output_name_of and rp in drv_hash_of_pkg:
                    ref_h = drv_hash_of_pkg[rp]
                    classes.append((paths[r], drv_hash_bits[ref_h - 1], output_name_of[r]))
                    class_rows.append((path_id, h, output_name, r + 1, ref_h, output_name_of[r]))
                else:
                    classes.append((paths[r], None, None))
                    class_rows.append((path_id, h, output_name, r + 1, None, None))
            keys = [(1, trusted_sk[1])] + ([(2, cache_sk[1])] if rng.random() < 0.1 else [])
            targets = [(path_id, out_path, classes)]
            if rng.random() < 0.02:
                # A non-reproducible rebuild: same realization key, another (absent) path.
                extra_paths.append(f"{STORE_DIR}/{random_nix32(rng, 20)}-{graph.names[index]}")
                targets.append((n + len(extra_paths), extra_paths[-1], classes))
            for target_id, target_path, target_classes in targets:
                realization_rows.append((h, output_name, target_id))
                message = realization_message("sha256", drv_hash_bits[h - 1], output_name, target_path, target_classes)
                if len(samples) < 200:
                    samples.append((drv_hash_bits[h - 1], output_name, target_path, target_classes, message))
                for key_id, secret in keys:
                    sig = _sign(secret, message)
                    if rng.random() < 0.0005:
                        sig = sig[:-1] + bytes([sig[-1] ^ 1])  # deliberately invalid, counted in facts
                        invalid += 1
                    signature_rows.append((h, output_name, target_id, key_id, sig))
                if target_id != path_id and target_classes:
                    # The signed message names the classes, so the rebuilt one needs them too.
                    class_rows.extend((target_id,) + row[1:] for row in class_rows[-len(target_classes) :])
    # The fast message must be byte-identical to the one zbtui verifies against.
    for bits, output_name, out_path, classes, message in samples:
        expected = zb_realization_message(
            "sha256", bits, output_name, out_path, [(pth, "sha256" if b is not None else None, b, nm) for pth, b, nm in classes]
        )
        if expected != message:
            raise AssertionError(f"message mismatch for {out_path}:\n{message!r}\n{expected!r}")
    log(f"signed {len(signature_rows):,} signatures at {time.perf_counter() - started:.1f}s")

    # -- builds --------------------------------------------------------------
    n_builds = int(n * BUILD_FRACTION)
    real_packages = [p for p in range(len(graph.packages)) if graph.packages[p].name != "system-path"]
    build_rows: list[tuple] = []
    result_rows: list[tuple] = []
    output_rows: list[tuple] = []
    times = sorted(NOW_MS - rng.randint(60_000, 90 * _DAY_MS) for _ in range(n_builds))
    result_id = 0
    for b, start in enumerate(times, start=1):
        duration = int(rng.expovariate(1 / 120_000)) + 500
        unfinished = b > n_builds - 3 or rng.random() < 0.0005  # orphans: no server is running
        ended = None if unfinished else start + duration
        internal_error = "realization did not complete: context canceled" if not unfinished and rng.random() < 0.005 else None
        build_rows.append((b, uuid7_bytes(start, rng), start, ended, internal_error))
        # Recent builds mostly touch recent packages, like a developer's store.
        chosen = {
            max(0, len(real_packages) - 1 - int(rng.expovariate(1 / (len(real_packages) / 4))))
            for _ in range(rng.randint(1, 5))
        }
        t = start
        for choice in sorted(chosen):
            p = real_packages[choice]
            pkg = graph.packages[p]
            result_id += 1
            if unfinished:
                status, r_end = "active", None
            else:
                roll = rng.random()
                status = "fail" if roll < 0.04 else "error" if roll < 0.06 else "success"
                r_end = t + duration // len(chosen)
            builder_ran = rng.random() < 0.6
            result_rows.append(
                (
                    result_id, b, pkg.drv + 1, status, t,
                    t + 50 if builder_ran else None,
                    (r_end - 10 if r_end else None) if builder_ran else None,
                    r_end, drv_hash_for(p),
                )
            )
            for output_name, index in pkg.outputs.items():
                output_rows.append((result_id, output_name, index + 1 if status == "success" else None))
            t = r_end or t

    # -- write the rest -------------------------------------------------------
    conn.executemany('insert into "paths" ("id", "path") values (?, ?)', ((n + i + 1, p) for i, p in enumerate(extra_paths)))
    conn.executemany(
        'insert into "drv_hashes" ("id", "algorithm", "bits") values (?, ?, ?)',
        ((i + 1, "sha256", bits) for i, bits in enumerate(drv_hash_bits)),
    )
    realization_rows.sort()
    conn.executemany('insert into "realizations" ("drv_hash", "output_name", "output_path") values (?, ?, ?)', realization_rows)
    conn.executemany(
        'insert into "reference_classes" ("referrer", "referrer_drv_hash", "referrer_output_name", "reference", '
        '"reference_drv_hash", "reference_output_name") values (?, ?, ?, ?, ?, ?)',
        class_rows,
    )
    conn.executemany(
        'insert into "signature_public_keys" ("id", "format", "public_key") values (?, ?, ?)',
        [(1, "ed25519", trusted_sk[0]), (2, "ed25519", cache_sk[0])],
    )
    conn.executemany(
        'insert into "signatures" ("drv_hash", "output_name", "output_path", "public_key_id", "signature") values (?, ?, ?, ?, ?)',
        signature_rows,
    )
    conn.executemany(
        'insert into "builds" ("id", "uuid", "started_at", "ended_at", "internal_error") values (?, ?, ?, ?, ?)', build_rows
    )
    conn.executemany(
        'insert into "build_results" ("id", "build_id", "drv_path", "status", "started_at", "builder_started_at", '
        '"builder_ended_at", "ended_at", "drv_hash") values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        result_rows,
    )
    conn.executemany('insert into "build_outputs" ("result_id", "output_name", "output_path") values (?, ?, ?)', output_rows)
    log(f"rows written at {time.perf_counter() - started:.1f}s; rebuilding indexes")
    for sql in index_sql:
        conn.execute(sql)
    conn.execute("commit")
    # zb runs this on every connection it opens (spec §1.2), so a real
    # database carries sqlite_stat1; the query planner sees the same here.
    conn.execute("pragma analysis_limit = 2000")
    conn.execute("pragma optimize = 0x10002")
    conn.execute("pragma journal_mode = wal")
    conn.execute("pragma synchronous = normal")
    conn.execute("pragma foreign_keys = on")
    version = conn.execute("pragma user_version").fetchall()[0][0]
    auto_vacuum = conn.execute("pragma auto_vacuum").fetchall()[0][0]
    conn.close()  # the last connection checkpoints and removes -wal/-shm, as a stopped zb server leaves it
    assert version == ZB_SCHEMA_VERSION and auto_vacuum == 2, (version, auto_vacuum)

    hubs = {}
    for label, index in facts.pop("hub_indices").items():
        hubs[label] = {"path": paths[index], "referrers": sum(1 for i in range(n) if index in graph.refs[i] and i != index)}
    top_hub = max(hubs.values(), key=lambda h: h["referrers"])
    root = facts.pop("closure_root_index")
    top = facts.pop("chain_top_index")
    bottom = facts.pop("chain_bottom_index")
    name_cut = len(STORE_DIR) + 35
    facts.update(
        {
            "db": os.path.abspath(db_path),
            "objects": n,
            "paths": n + len(extra_paths),
            "references": sum(map(len, graph.refs)),
            "realizations": len(realization_rows),
            "reference_classes": len(class_rows),
            "signatures": len(signature_rows),
            "invalid_signatures": invalid,
            "builds": len(build_rows),
            "build_results": len(result_rows),
            "hubs": hubs,
            "most_referenced": top_hub["path"],
            "most_referenced_referrers": top_hub["referrers"],
            "closure_root": paths[root],
            "closure_nar_size": sum(graph.sizes[i] for i in graph.closure(root)),
            "chain_top": paths[top],
            "chain_bottom": paths[bottom],
            "name_cut": name_cut,
            "trusted_key": "ed25519:" + base64.b64encode(trusted_sk[0]).decode(),
            "seed": seed,
            "db_bytes": os.path.getsize(db_path),
            "generation_seconds": round(time.perf_counter() - started, 1),
        }
    )
    with open(os.path.join(directory, "facts.json"), "w", encoding="utf-8") as handle:
        json.dump(facts, handle, indent=2)
    log(f"done in {facts['generation_seconds']}s: {facts['db_bytes'] / 2**20:.0f} MiB at {db_path}")
    return facts


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", help="where to write db.sqlite and facts.json (created if missing)")
    parser.add_argument("--objects", type=int, default=1_000_000, help="number of store objects (default 1,000,000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed; the same seed gives the same database")
    args = parser.parse_args(argv)
    if args.objects < 3000:
        parser.error("--objects must be at least 3000 (the chain alone is 500 packages)")
    generate(args.directory, args.objects, args.seed, log=lambda msg: print(msg, file=sys.stderr, flush=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
