"""Command line: ``zbtui [DB]`` browses, ``zbtui query …`` answers in JSON.

Errors are one line on stderr and a non-zero exit status, never a traceback:
1 for a store problem or something not found (and, worded as such, for an
internal error: a bug), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence

from . import __version__

EXIT_ERROR = 1
EXIT_USAGE = 2

# Characters that json.dump(ensure_ascii=False) leaves raw but that must not
# reach a terminal or a UTF-8 encoder: C1 controls (U+009B is CSI to some
# terminals), DEL, bidi overrides and line separators (spoofing), and lone
# surrogates (from "\ud800" escapes in a database's JSON text, which cannot
# be encoded as UTF-8). They only occur inside JSON strings, where a \uXXXX
# escape means the same character.
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def dump_json(data: object) -> str:
    """JSON for ``zbtui query``: readable UTF-8, but safe on a terminal."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _store_options(parser: argparse.ArgumentParser, *, leaf: bool) -> None:
    """Database options, accepted both before and after a query subcommand."""
    default = argparse.SUPPRESS if leaf else None
    many = argparse.SUPPRESS if leaf else []
    group = parser.add_argument_group("store options")
    group.add_argument("--db", metavar="PATH", default=default, help="the store database (zb or Nix; detected)")
    group.add_argument("--store-dir", metavar="DIR", default=default, help="where the store's files really are (on-disk checks); default $ZB_STORE_DIR or the directory the paths name")
    group.add_argument("--store-root", metavar="DIR", default=default, help="Nix chroot store root: /nix/store is DIR/nix/store")
    group.add_argument("--log-dir", metavar="DIR", default=default, help="build log directory (zb default /opt/zb/var/log/zb)")
    group.add_argument("--socket", metavar="PATH", default=default, help="zb server socket, asked read-only whether unfinished builds are running (default: server.sock beside the database)")
    group.add_argument("--config", metavar="FILE", action="append", default=many, help="zb configuration file to read trusted keys from (repeatable)")
    group.add_argument("--nix-conf", metavar="FILE", action="append", default=many, help="nix.conf to read trusted-public-keys from instead of Nix's own search (repeatable)")
    group.add_argument("--trusted-key", metavar="KEY", action="append", default=many, help="trust this key: FORMAT:BASE64 for zb (ed25519:…), NAME:BASE64 for Nix (repeatable)")
    group.add_argument("--known-key", metavar="KEY", action="append", default=many, help="Nix key NAME:BASE64 or .pub file known but not trusted (repeatable)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zbtui",
        description="A read-only terminal browser for zb and Nix store databases.",
        epilog="With no database, zbtui tries zb's (/opt/zb/var/zb/db.sqlite), then Nix's "
        "(/nix/var/nix/db/db.sqlite). Scriptable answers: zbtui query --help.",
    )
    parser.add_argument("--version", action="version", version=f"zbtui {__version__}")
    parser.add_argument("database", nargs="?", metavar="DB", help="the store database to browse")
    parser.add_argument("--demo", action="store_true", help="browse a generated demo store with a simulated live server")
    parser.add_argument("--theme", metavar="NAME", help="Textual theme (e.g. textual-dark, nord, gruvbox)")
    _store_options(parser, leaf=False)
    parser.set_defaults(command=None)
    return parser


def build_query_parser() -> argparse.ArgumentParser:
    """``zbtui query QUERY ...``: its own parser, so a DB positional cannot swallow ``query``."""
    query = argparse.ArgumentParser(
        prog="zbtui query",
        description="Answer one question about the store as JSON.",
    )
    _store_options(query, leaf=False)
    query.set_defaults(command="query")
    qsub = query.add_subparsers(dest="query", metavar="QUERY", required=True)

    def leaf(name: str, help_text: str) -> argparse.ArgumentParser:
        p = qsub.add_parser(name, help=help_text, description=help_text)
        _store_options(p, leaf=True)
        p.add_argument("--json", action="store_true", help="JSON output (the default for every query but log)")
        return p

    leaf("stats", "store summary: counts, sizes, builds by status, heartbeat")
    p = leaf("objects", "list objects")
    p.add_argument("--search", metavar="TEXT", help="substring of the name, or a digest prefix")
    p.add_argument("--sort", choices=("name", "size"), default="name")
    p.add_argument("--limit", type=_positive, default=100)
    p.add_argument("--drv", action="store_true", help="only derivations (.drv)")
    p = leaf("object", "one object: metadata, references, referrers, closure")
    p.add_argument("path", metavar="PATH", help="store path, base name or digest prefix")
    p = leaf("why", "one shortest chain showing why FROM depends on TO")
    p.add_argument("source", metavar="FROM")
    p.add_argument("target", metavar="TO")
    p = leaf("realizations", "realizations of an output path or a derivation hash, with signature checks")
    p.add_argument("path", nargs="?", metavar="PATH")
    p.add_argument("--drv-hash", metavar="HASH", help="derivation hash (SRI, algo:nix32, algo:hex)")
    p = leaf("builds", "builds, newest first")
    p.add_argument("--status", choices=("success", "fail", "error", "active", "orphaned"))
    p.add_argument("--limit", type=_positive, default=100)
    p = leaf("build", "one build with all its results")
    p.add_argument("build_id", metavar="ID")
    p = leaf("log", "the log of one build result, made safe for a terminal")
    p.add_argument("build_id", metavar="BUILD_ID")
    p.add_argument("drv_path", metavar="DRV_PATH")
    p.add_argument("--tail", type=_positive, metavar="BYTES", help="only the last BYTES bytes")
    leaf("server", "the zb server heartbeat: alive, stale or none")
    return query


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError("must be positive")
    return value


def _options(args: argparse.Namespace, db: str):
    from .store.open import StoreOptions

    return StoreOptions(
        db=db,
        store_dir=args.store_dir,
        store_root=args.store_root,
        log_dir=args.log_dir,
        config=tuple(args.config or ()),
        trusted_keys=tuple(args.trusted_key or ()),
        known_keys=tuple(args.known_key or ()),
        nix_conf=tuple(args.nix_conf) if args.nix_conf else None,
        socket=args.socket,
    )


def _find_database(explicit: str | None) -> str:
    from .store.errors import StoreError
    from .store.open import DEFAULT_DATABASES

    if explicit:
        return explicit
    for candidate in DEFAULT_DATABASES:
        if os.path.exists(candidate):
            return candidate
    raise StoreError(
        "no store database found (tried " + ", ".join(DEFAULT_DATABASES) + "); "
        "name one with --db PATH, or try zbtui --demo"
    )


def _run_query(args: argparse.Namespace) -> int:
    from . import query
    from .store.open import open_store
    from .store.sanitize import LogSanitizer

    store = open_store(_options(args, _find_database(args.db or args.database)))
    try:
        for warning in store.warnings:
            print(f"zbtui: warning: {warning}", file=sys.stderr)
        name = args.query
        if name == "log" and not args.json:
            ref = query.log_ref(store, args.build_id, args.drv_path)
            sanitizer = LogSanitizer()
            out = sys.stdout
            for _offset, _size, data in query.log_chunks(ref.path, args.tail):
                out.write(sanitizer.feed(data))
            out.write(sanitizer.flush())
            out.flush()
            return 0
        if name == "stats":
            result = query.stats(store)
        elif name == "objects":
            result = query.objects(store, args.search, args.sort, args.limit, args.drv)
        elif name == "object":
            result = query.object_(store, args.path)
        elif name == "why":
            result = query.why(store, args.source, args.target)
        elif name == "realizations":
            if args.path is None and args.drv_hash is None:
                raise SystemExit("zbtui: error: realizations needs PATH or --drv-hash HASH")
            result = query.realizations(store, args.path, args.drv_hash)
        elif name == "builds":
            result = query.builds(store, args.status, args.limit)
        elif name == "build":
            result = query.build(store, args.build_id)
        elif name == "log":
            result = query.log(store, args.build_id, args.drv_path, args.tail)
        else:
            result = query.server(store)
        sys.stdout.write(dump_json(result) + "\n")
        return 0
    finally:
        store.close()


def _run_browser(args: argparse.Namespace) -> int:
    from .store.errors import StoreError
    from .store.open import open_store

    if args.theme:
        from textual.theme import BUILTIN_THEMES

        if args.theme not in BUILTIN_THEMES:
            raise StoreError(f"unknown theme {args.theme!r} (one of: {', '.join(sorted(BUILTIN_THEMES))})")
    if args.demo:
        from .demo.run import run_demo

        return run_demo(theme=args.theme)
    store = open_store(_options(args, _find_database(args.db or args.database)))
    from .app import ZbtuiApp

    app = ZbtuiApp(store, theme=args.theme)
    try:
        app.run()
    finally:
        store.close()
    return app.return_code or 0


def main(argv: Sequence[str] | None = None) -> int:
    from .store.errors import StoreError

    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["query"]:
        args = build_query_parser().parse_args(argv[1:])
        args.database = None
    else:
        args = build_parser().parse_args(argv)
    try:
        if args.command == "query":
            return _run_query(args)
        return _run_browser(args)
    except StoreError as exc:
        print(f"zbtui: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # `zbtui query ... | head`: the reader left; that is not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - a bug must still be one line, not a traceback
        if os.environ.get("ZBTUI_DEBUG"):
            raise
        detail = " ".join(str(exc).split())[:300]
        print(
            f"zbtui: internal error: {type(exc).__name__}: {detail} (a bug in zbtui; "
            "ZBTUI_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
