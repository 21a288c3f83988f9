"""Where trusted signing keys come from, for zb and for Nix.

Neither store database records trust: zb's trusted keys are a per-user CLI
setting (JWCC config files, spec §4) and Nix's are ``trusted-public-keys`` in
nix.conf. These loaders reproduce each tool's file discovery and precedence so
the browser can say "trusted" with the same meaning the tool would.

Bad configuration never raises: every unreadable file, parse error or bad
entry becomes a one-line message in ``problems``.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import json5

__all__ = [
    "NIX_DEFAULT_TRUSTED_PUBLIC_KEYS",
    "NixKeys",
    "TrustedKey",
    "ZbTrust",
    "load_nix_keys",
    "load_zb_trust",
]

CLI_TRUSTED_KEY = "--trusted-key"
CLI_KNOWN_KEY = "--known-key"
NIX_BUILTIN_SOURCE = "built-in default"
NIX_CONFIG_SOURCE = "NIX_CONFIG"

# Nix's compiled-in default for trusted-public-keys (globals.hh). It stays in
# effect unless a config file assigns trusted-public-keys; extra- appends to it.
NIX_DEFAULT_TRUSTED_PUBLIC_KEYS: tuple[str, ...] = (
    "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=",
)

_NIX_KEY_BYTES = 32
# Nix has no include-loop guard (it recurses until the stack dies); we stop.
_MAX_INCLUDE_DEPTH = 16

_NIX_SET_NAMES = frozenset({"trusted-public-keys", "binary-cache-public-keys"})
_NIX_APPEND_NAMES = frozenset({"extra-" + name for name in _NIX_SET_NAMES})


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """One public key and where it came from.

    Attributes:
        format: Signature format, ``ed25519`` for everything Nix and zb make.
        public_key: Raw key bytes.
        source: The file it was read from, ``--trusted-key``, ``--known-key``,
            ``NIX_CONFIG`` or ``built-in default``.
        name: The Nix key name (``cache.nixos.org-1``); None for zb keys.
        trusted: False for a Nix key that is known (so signatures can be
            checked) but not trusted.
    """

    format: str
    public_key: bytes
    source: str
    name: str | None = None
    trusted: bool = True

    @property
    def public_key_b64(self) -> str:
        """The key in standard base64, as config files and the UI show it."""
        return base64.standard_b64encode(self.public_key).decode("ascii")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _unique(items: Iterator[str] | Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for item in items:
        seen.setdefault(item, None)
    return list(seen)


def _b64decode(text: str) -> bytes:
    """Strict standard base64 (with padding), as Go's StdEncoding."""
    return base64.b64decode(text.strip(), validate=True)


# --------------------------------------------------------------------------
# zb
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ZbTrust:
    """The user's zb ``trustedPublicKeys``, appended across all config files.

    Attributes:
        keys: In zb's order (lowest-precedence file first, then ``--trusted-key``).
        files_read: Config files that existed and were read.
        problems: One line per unreadable/unparseable file or bad entry.
    """

    keys: tuple[TrustedKey, ...] = ()
    files_read: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def is_trusted(self, fmt: str | None, key: bytes | None) -> bool:
        """Whether ``(format, raw key)`` is trusted, by exact equality as zb's SQL does."""
        if fmt is None or key is None:
            return False
        raw = bytes(key)
        return any(k.trusted and k.format == fmt and k.public_key == raw for k in self.keys)

    @property
    def empty(self) -> bool:
        """No trusted keys: zb then reuses every recorded realization."""
        return not self.keys

    def describe(self) -> str:
        """One line for the status bar / about screen."""
        if self.empty:
            return (
                "no trusted keys configured: "
                "zb reuses every recorded realization (no trust policy)"
            )
        sources = _unique(k.source for k in self.keys)
        return f"{_plural(len(self.keys), 'trusted key')} from {', '.join(sources)}"


def _zb_default_config_files(env: Mapping[str, str]) -> list[str]:
    """XDG config files, least preferred first (zb ``userConfigDirs``)."""
    if os.name == "nt":
        app_data = env.get("AppData") or env.get("APPDATA") or ""
        dirs = [app_data] if app_data else []
    else:
        dirs_var = env.get("XDG_CONFIG_DIRS", "")
        system_dirs = dirs_var.split(os.pathsep) if dirs_var else ["/etc/xdg"]
        dirs = [d for d in reversed(system_dirs) if d]
        home_dir = env.get("XDG_CONFIG_HOME", "")
        if not home_dir and env.get("HOME"):
            home_dir = os.path.join(env["HOME"], ".config")
        if home_dir:
            dirs.append(home_dir)
    files: list[str] = []
    for d in dirs:
        files.append(os.path.join(d, "zb", "config.json"))
        files.append(os.path.join(d, "zb", "config.jwcc"))
    return files


def _zb_keys_from_document(
    document: object, path: str, problems: list[str]
) -> list[TrustedKey]:
    if not isinstance(document, dict):
        problems.append(f"{path}: config must be a JSON object")
        return []
    entries = document.get("trustedPublicKeys")
    if entries is None:
        # Absent or null: Go unmarshals null into an empty slice, appending nothing.
        return []
    if not isinstance(entries, list):
        problems.append(f"{path}: trustedPublicKeys must be an array")
        return []
    keys: list[TrustedKey] = []
    for index, entry in enumerate(entries):
        where = f"{path}: trustedPublicKeys[{index}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not an object")
            continue
        fmt = entry.get("format")
        b64 = entry.get("publicKey")
        if not isinstance(fmt, str) or not fmt:
            problems.append(f"{where}: missing format")
            continue
        if not isinstance(b64, str):
            problems.append(f"{where}: missing publicKey")
            continue
        try:
            raw = _b64decode(b64)
        except (binascii.Error, ValueError):
            problems.append(f"{where}: publicKey is not valid base64")
            continue
        # No length check: zb's config parser does none either.
        keys.append(TrustedKey(format=fmt, public_key=raw, source=path))
    return keys


def _read_zb_config(
    path: str, required: bool, files_read: list[str], problems: list[str]
) -> list[TrustedKey]:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        if required:
            problems.append(f"--config {path}: config file does not exist")
        return []
    except OSError as exc:
        problems.append(f"{path}: cannot read: {exc.strerror or exc}")
        return []
    files_read.append(path)
    try:
        text = data.decode("utf-8")
        # json5 is a superset of JWCC (comments, trailing commas).
        document = json5.loads(text)
    except UnicodeDecodeError:
        problems.append(f"{path}: not UTF-8")
        return []
    except Exception as exc:  # noqa: BLE001 - json5 raises ValueError and others
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        problems.append(f"{path}: cannot parse: {message}")
        return []
    return _zb_keys_from_document(document, path, problems)


def load_zb_trust(
    config_files: Sequence[str] = (),
    trusted_keys: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> ZbTrust:
    """Collect zb's ``trustedPublicKeys`` with zb's precedence (spec §4).

    Files, lowest precedence first: for each XDG config dir (reversed
    ``$XDG_CONFIG_DIRS``, default ``/etc/xdg``, then ``$XDG_CONFIG_HOME``,
    default ``$HOME/.config``) ``zb/config.json`` then ``zb/config.jwcc``;
    then ``$ZB_CONFIG_FILE`` entries from last to first (its first entry wins);
    then each ``--config`` path. Keys are appended across files in that order,
    then the command-line ``FORMAT:BASE64`` keys.

    Args:
        config_files: ``--config`` paths; a missing one is a problem line
            (zb itself skips missing files silently, even these).
        trusted_keys: ``--trusted-key FORMAT:BASE64`` values.
        env: Environment; defaults to ``os.environ``.

    Returns:
        The keys, the files read and any problems. Never raises for bad config.
    """
    environ: Mapping[str, str] = os.environ if env is None else env
    problems: list[str] = []
    files_read: list[str] = []
    keys: list[TrustedKey] = []

    for path in _zb_default_config_files(environ):
        keys += _read_zb_config(path, False, files_read, problems)
    zb_config_file = environ.get("ZB_CONFIG_FILE", "")
    if zb_config_file:
        for path in reversed(zb_config_file.split(os.pathsep)):
            if path:
                keys += _read_zb_config(path, False, files_read, problems)
    for path in config_files:
        keys += _read_zb_config(path, True, files_read, problems)

    for value in trusted_keys:
        fmt, colon, b64 = value.partition(":")
        if not colon or not fmt.strip():
            problems.append(f"{CLI_TRUSTED_KEY} {value!r}: expected FORMAT:BASE64")
            continue
        try:
            raw = _b64decode(b64)
        except (binascii.Error, ValueError):
            problems.append(f"{CLI_TRUSTED_KEY} {value!r}: key is not valid base64")
            continue
        keys.append(TrustedKey(format=fmt.strip(), public_key=raw, source=CLI_TRUSTED_KEY))

    return ZbTrust(keys=tuple(keys), files_read=tuple(files_read), problems=tuple(problems))


# --------------------------------------------------------------------------
# Nix
# --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NixKeys:
    """Nix public keys by name: trusted ones from nix.conf/options, plus known ones.

    Attributes:
        keys: Key name → key. On a name clash the first key wins, as Nix's
            ``publicKeys.emplace`` keeps the first.
        files_read: nix.conf files (and includes, ``.pub`` files) that were read.
        problems: One line per bad line, bad key, missing include, clash.
    """

    keys: Mapping[str, TrustedKey] = field(default_factory=lambda: MappingProxyType({}))
    files_read: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    def get(self, name: str) -> TrustedKey | None:
        """The key with this name, or None when nothing supplies it."""
        return self.keys.get(name)

    @property
    def empty(self) -> bool:
        """No key at all: no Nix signature can be checked."""
        return not self.keys

    @property
    def trusted_names(self) -> tuple[str, ...]:
        """Names of the trusted keys, in load order."""
        return tuple(name for name, key in self.keys.items() if key.trusted)

    def describe(self) -> str:
        """One line for the status bar / about screen."""
        if self.empty:
            return "no Nix public keys configured: path signatures cannot be checked"
        total = len(self.keys)
        trusted = len(self.trusted_names)
        sources = ", ".join(_unique(k.source for k in self.keys.values()))
        if trusted == total:
            return f"{_plural(total, 'trusted Nix key')} from {sources}"
        counts = f"{trusted} trusted, {total - trusted} known"
        return f"{_plural(total, 'Nix key')} ({counts}) from {sources}"


@dataclass(slots=True)
class _NixSetting:
    """The running value of trusted-public-keys: (token, source) pairs."""

    values: list[tuple[str, str]]


def _nix_parse_config(
    contents: str,
    path: str,
    setting: _NixSetting,
    files_read: list[str],
    problems: list[str],
    depth: int = 0,
) -> None:
    """Apply one nix.conf text like Nix's ``applyConfigInner`` + ``set``.

    Nix collects (name, value) pairs in order (includes inline) and then sets
    each; only the trusted-public-keys family matters here, so they are
    applied as they are met, which is the same order.
    """
    for raw_line in contents.split("\n"):
        line = raw_line.split("#", 1)[0]
        tokens = line.split()
        if not tokens:
            continue
        if len(tokens) < 2:
            problems.append(f"{path}: illegal configuration line {line.strip()!r}")
            continue
        if tokens[0] in ("include", "!include"):
            if len(tokens) != 2:
                problems.append(f"{path}: illegal configuration line {line.strip()!r}")
                continue
            base = os.path.dirname(path) or "."
            included = os.path.abspath(os.path.join(base, tokens[1]))
            if depth >= _MAX_INCLUDE_DEPTH:
                problems.append(f"{path}: includes nested too deeply at {included}")
                continue
            if not os.path.exists(included):
                # Nix errors out for `include`; `!include` tolerates absence.
                if tokens[0] == "include":
                    problems.append(f"{path}: included file {included} not found")
                continue
            text = _read_text(included, files_read, problems, missing_ok=True)
            if text is None:
                continue
            _nix_parse_config(text, included, setting, files_read, problems, depth + 1)
            continue
        if tokens[1] != "=":
            problems.append(f"{path}: illegal configuration line {line.strip()!r}")
            continue
        name = tokens[0]
        values = [(token, path) for token in tokens[2:]]
        if name in _NIX_SET_NAMES:
            setting.values = values
        elif name in _NIX_APPEND_NAMES:
            setting.values = setting.values + values


def _read_text(
    path: str, files_read: list[str], problems: list[str], missing_ok: bool
) -> str | None:
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        if not missing_ok:
            problems.append(f"{path}: not found")
        return None
    except OSError as exc:
        # Nix silently skips unreadable config files; the browser says so.
        problems.append(f"{path}: cannot read: {exc.strerror or exc}")
        return None
    files_read.append(path)
    return data.decode("utf-8", errors="replace")


def _nix_default_conf_files(env: Mapping[str, str]) -> list[str]:
    """nix.conf files in the order Nix applies them (``loadConfFile``)."""
    conf_dir = env.get("NIX_CONF_DIR") or "/etc/nix"
    files = [os.path.join(conf_dir, "nix.conf")]
    if "NIX_USER_CONF_FILES" in env:
        user_files = [p for p in env["NIX_USER_CONF_FILES"].split(":") if p]
    else:
        config_home = env.get("XDG_CONFIG_HOME", "")
        if not config_home and env.get("HOME"):
            config_home = os.path.join(env["HOME"], ".config")
        dirs = [config_home] if config_home else []
        dirs_var = env.get("XDG_CONFIG_DIRS")
        dirs += [d for d in (dirs_var.split(":") if dirs_var is not None else ["/etc/xdg"]) if d]
        user_files = [os.path.join(d, "nix", "nix.conf") for d in dirs]
    # getUserConfigFiles lists the most preferred first; Nix applies them
    # in reverse so that the first one wins.
    files += reversed(user_files)
    return files


def _parse_nix_public_key(
    text: str, source: str, trusted: bool, problems: list[str]
) -> TrustedKey | None:
    name, colon, b64 = text.strip().partition(":")
    if not colon or not name or not b64:
        problems.append(f"{source}: public key {text!r} is not name:base64")
        return None
    try:
        raw = _b64decode(b64)
    except (binascii.Error, ValueError):
        problems.append(f"{source}: public key {name!r} is not valid base64")
        return None
    if len(raw) != _NIX_KEY_BYTES:
        problems.append(f"{source}: public key {name!r} has {len(raw)} bytes, not {_NIX_KEY_BYTES}")
        return None
    return TrustedKey(format="ed25519", public_key=raw, source=source, name=name, trusted=trusted)


def _cli_key_texts(
    value: str, option: str, files_read: list[str], problems: list[str]
) -> list[tuple[str, str]]:
    """Expand one option value: a ``.pub`` file path or a literal ``name:base64``."""
    if os.path.isfile(value):
        text = _read_text(value, files_read, problems, missing_ok=False)
        if text is None:
            return []
        tokens = text.split()
        if not tokens:
            problems.append(f"{value}: empty key file")
        return [(token, value) for token in tokens]
    if ":" not in value:
        problems.append(f"{option} {value!r}: neither a key file nor name:base64")
        return []
    return [(value, option)]


def load_nix_keys(
    trusted_keys: Sequence[str] = (),
    known_keys: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    conf_files: Sequence[str] | None = None,
) -> NixKeys:
    """Collect Nix public keys the way Nix resolves ``trusted-public-keys``.

    Order: ``$NIX_CONF_DIR/nix.conf`` (default ``/etc/nix``); the user files
    (``$NIX_USER_CONF_FILES``, colon-separated, else
    ``$XDG_CONFIG_HOME/nix/nix.conf`` and ``$XDG_CONFIG_DIRS/*/nix/nix.conf``),
    applied so that the first listed wins; then the ``$NIX_CONFIG`` text.
    ``trusted-public-keys`` (alias ``binary-cache-public-keys``) replaces the
    value so far, ``extra-…`` appends; the starting value is Nix's built-in
    ``cache.nixos.org-1`` key. ``include`` / ``!include`` and ``#`` comments
    are honoured. ``secret-key-files`` is deliberately not read.

    Args:
        trusted_keys: ``name:base64`` values or ``.pub`` file paths, trusted.
        known_keys: The same, but only known: valid signatures by them are
            reported as valid-untrusted rather than unknown-key.
        env: Environment; defaults to ``os.environ`` when ``conf_files`` is
            None, and to an empty mapping otherwise (so tests stay hermetic).
        conf_files: Use exactly these files, in this order, instead of
            discovery. ``NIX_CONFIG`` from ``env`` still applies after them.

    Returns:
        Keys by name (first definition of a name wins), the files read and
        any problems. Never raises for bad config.
    """
    if env is None:
        environ: Mapping[str, str] = os.environ if conf_files is None else {}
    else:
        environ = env
    problems: list[str] = []
    files_read: list[str] = []
    setting = _NixSetting([(k, NIX_BUILTIN_SOURCE) for k in NIX_DEFAULT_TRUSTED_PUBLIC_KEYS])

    files = list(conf_files) if conf_files is not None else _nix_default_conf_files(environ)
    for path in files:
        text = _read_text(path, files_read, problems, missing_ok=conf_files is None)
        if text is not None:
            _nix_parse_config(text, path, setting, files_read, problems)
    nix_config = environ.get("NIX_CONFIG")
    if nix_config is not None:
        _nix_parse_config(nix_config, NIX_CONFIG_SOURCE, setting, files_read, problems)

    candidates: list[tuple[str, str, bool]] = [(text, src, True) for text, src in setting.values]
    for value in trusted_keys:
        candidates += [
            (t, s, True) for t, s in _cli_key_texts(value, CLI_TRUSTED_KEY, files_read, problems)
        ]
    for value in known_keys:
        candidates += [
            (t, s, False) for t, s in _cli_key_texts(value, CLI_KNOWN_KEY, files_read, problems)
        ]

    keys: dict[str, TrustedKey] = {}
    for text, source, trusted in candidates:
        key = _parse_nix_public_key(text, source, trusted, problems)
        if key is None or key.name is None:
            continue
        previous = keys.get(key.name)
        if previous is None:
            keys[key.name] = key
        elif previous.public_key != key.public_key:
            problems.append(
                f"{source}: key name {key.name!r} already defined by {previous.source} "
                "with a different key; keeping the first"
            )
    return NixKeys(
        keys=MappingProxyType(keys),
        files_read=tuple(_unique(files_read)),
        problems=tuple(problems),
    )
