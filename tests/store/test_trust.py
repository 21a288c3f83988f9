"""Tests for zbtui.store.trust: zb config precedence and Nix key resolution."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from zbtui.store.signatures import (
    SigStatus,
    check_nix_signature,
    check_zb_signature,
    sign_zb_realization,
    zb_realization_message,
)
from zbtui.store.trust import (
    NIX_DEFAULT_TRUSTED_PUBLIC_KEYS,
    NixKeys,
    ZbTrust,
    load_nix_keys,
    load_zb_trust,
)


def _key(n: int) -> bytes:
    """A distinct, valid 32-byte Ed25519 public key."""
    return bytes(SigningKey(bytes([n]) * 32).verify_key)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _zb_config(path: Path, *keys: bytes, text: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if text is None:
        entries = [{"format": "ed25519", "publicKey": _b64(k)} for k in keys]
        text = json.dumps({"trustedPublicKeys": entries})
    path.write_text(text)
    return path


def _nix_key(name: str, n: int) -> str:
    return f"{name}:{_b64(_key(n))}"


# --------------------------------------------------------------------------
# zb
# --------------------------------------------------------------------------


class TestZbTrust:
    def test_precedence_and_appending(self, tmp_path: Path) -> None:
        sys_a = tmp_path / "sys-a"  # most preferred system dir (listed first)
        sys_b = tmp_path / "sys-b"
        home = tmp_path / "home-config"
        _zb_config(sys_a / "zb" / "config.json", _key(1))
        _zb_config(sys_b / "zb" / "config.json", _key(2))
        _zb_config(sys_b / "zb" / "config.jwcc", _key(3))
        _zb_config(home / "zb" / "config.jwcc", _key(4))
        _zb_config(home / "zb" / "config.json", _key(5))
        z_first = _zb_config(tmp_path / "z-first.json", _key(6))
        z_second = _zb_config(tmp_path / "z-second.json", _key(7))
        cli_1 = _zb_config(tmp_path / "cli-1.json", _key(8))
        cli_2 = _zb_config(tmp_path / "cli-2.jwcc", _key(9))
        env = {
            "XDG_CONFIG_DIRS": f"{sys_a}{os.pathsep}{sys_b}",
            "XDG_CONFIG_HOME": str(home),
            "ZB_CONFIG_FILE": f"{z_first}{os.pathsep}{z_second}",
            "HOME": str(tmp_path / "unused-home"),
        }
        trust = load_zb_trust(
            config_files=[str(cli_1), str(cli_2)],
            trusted_keys=[f"ed25519:{_b64(_key(10))}"],
            env=env,
        )
        assert trust.problems == ()
        # Lowest precedence first: reversed XDG_CONFIG_DIRS, config.json before
        # config.jwcc, XDG_CONFIG_HOME, ZB_CONFIG_FILE last-to-first, --config.
        assert [k.public_key for k in trust.keys] == [
            _key(n) for n in (2, 3, 1, 5, 4, 7, 6, 8, 9, 10)
        ]
        assert trust.keys[0].source == str(sys_b / "zb" / "config.json")
        assert trust.keys[-1].source == "--trusted-key"
        assert trust.files_read == (
            str(sys_b / "zb" / "config.json"),
            str(sys_b / "zb" / "config.jwcc"),
            str(sys_a / "zb" / "config.json"),
            str(home / "zb" / "config.json"),
            str(home / "zb" / "config.jwcc"),
            str(z_second),
            str(z_first),
            str(cli_1),
            str(cli_2),
        )
        assert all(trust.is_trusted("ed25519", _key(n)) for n in range(1, 11))
        assert trust.describe().startswith("10 trusted keys from ")
        assert trust.describe().endswith(f"{cli_2}, --trusted-key")

    def test_home_fallback_and_default_system_dir(self, tmp_path: Path) -> None:
        _zb_config(tmp_path / ".config" / "zb" / "config.json", _key(1))
        env = {"HOME": str(tmp_path), "XDG_CONFIG_DIRS": str(tmp_path / "none")}
        trust = load_zb_trust(env=env)
        assert [k.public_key for k in trust.keys] == [_key(1)]
        path = tmp_path / ".config" / "zb" / "config.json"
        assert trust.describe() == f"1 trusted key from {path}"

    def test_jwcc_comments_and_trailing_commas(self, tmp_path: Path) -> None:
        text = f"""
        // zb configuration
        {{
          /* block comment */
          "storeDirectory": "/opt/zb/store",
          "trustedPublicKeys": [
            {{"format": "ed25519", "publicKey": "{_b64(_key(1))}",}}, // trailing
            {{"format": "ed25519", "publicKey": "{_b64(_key(2))}"}},
          ],
          "unknownSetting": {{"ignored": true,}},
        }}
        """
        path = _zb_config(tmp_path / "c.jwcc", text=text)
        trust = load_zb_trust(config_files=[str(path)], env={})
        assert trust.problems == ()
        assert [k.public_key for k in trust.keys] == [_key(1), _key(2)]

    def test_broken_file_is_a_problem_not_an_exception(self, tmp_path: Path) -> None:
        broken = _zb_config(tmp_path / "broken.json", text='{"trustedPublicKeys": [')
        good = _zb_config(tmp_path / "good.json", _key(1))
        trust = load_zb_trust(config_files=[str(broken), str(good)], env={})
        assert len(trust.problems) == 1
        assert trust.problems[0].startswith(f"{broken}: ")
        assert "\n" not in trust.problems[0]
        assert [k.public_key for k in trust.keys] == [_key(1)]

    def test_bad_entries(self, tmp_path: Path) -> None:
        text = json.dumps(
            {
                "trustedPublicKeys": [
                    {"format": "ed25519", "publicKey": "not base64!"},
                    {"publicKey": _b64(_key(1))},
                    "a string",
                    {"format": "ed25519", "publicKey": _b64(bytes(64))},
                ]
            }
        )
        path = _zb_config(tmp_path / "c.json", text=text)
        trust = load_zb_trust(config_files=[str(path)], env={})
        assert len(trust.problems) == 3
        assert "trustedPublicKeys[0]" in trust.problems[0]
        # zb does no length check: a 64-byte value is kept as is.
        assert [k.public_key for k in trust.keys] == [bytes(64)]

    def test_wrong_types(self, tmp_path: Path) -> None:
        not_object = _zb_config(tmp_path / "a.json", text="[1, 2]")
        not_array = _zb_config(tmp_path / "b.json", text='{"trustedPublicKeys": {}}')
        null_keys = _zb_config(tmp_path / "c.json", text='{"trustedPublicKeys": null}')
        trust = load_zb_trust(
            config_files=[str(not_object), str(not_array), str(null_keys)], env={}
        )
        assert len(trust.problems) == 2
        assert trust.empty

    def test_missing_config_flag_file_is_a_problem(self, tmp_path: Path) -> None:
        missing = tmp_path / "nope.json"
        trust = load_zb_trust(config_files=[str(missing)], env={})
        assert trust.problems == (f"--config {missing}: config file does not exist",)

    def test_missing_default_files_are_silent(self, tmp_path: Path) -> None:
        env = {
            "XDG_CONFIG_DIRS": str(tmp_path / "x"),
            "XDG_CONFIG_HOME": str(tmp_path / "y"),
            "ZB_CONFIG_FILE": str(tmp_path / "z.json"),
        }
        trust = load_zb_trust(env=env)
        assert trust == ZbTrust()

    def test_empty_describes_no_trust_policy(self) -> None:
        trust = load_zb_trust(env={})
        assert trust.empty
        assert "no trust policy" in trust.describe()

    def test_bad_cli_keys(self) -> None:
        values = ["nocolon", "ed25519:%%%", f"other:{_b64(b'x')}"]
        trust = load_zb_trust(trusted_keys=values, env={})
        assert len(trust.problems) == 2
        assert trust.is_trusted("other", b"x")
        assert not trust.is_trusted("ed25519", b"x")
        assert not trust.is_trusted(None, b"x")

    def test_trust_drives_signature_status(self, tmp_path: Path) -> None:
        seed = bytes(range(32))
        public = bytes(SigningKey(seed).verify_key)
        message = zb_realization_message("sha256", bytes(32), "out", "/opt/zb/store/x-y", [])
        signature = sign_zb_realization(seed, message)
        path = _zb_config(tmp_path / "c.json", public)
        trusted = load_zb_trust(config_files=[str(path)], env={})
        untrusted = load_zb_trust(env={})
        assert check_zb_signature("ed25519", public, signature, message, trusted) is (
            SigStatus.TRUSTED
        )
        assert check_zb_signature("ed25519", public, signature, message, untrusted) is (
            SigStatus.VALID_UNTRUSTED
        )


# --------------------------------------------------------------------------
# Nix
# --------------------------------------------------------------------------


def _names(keys: NixKeys) -> list[str]:
    return list(keys.keys)


DEFAULT_NAME = NIX_DEFAULT_TRUSTED_PUBLIC_KEYS[0].split(":", 1)[0]


class TestNixKeys:
    def test_builtin_default_when_unset(self, tmp_path: Path) -> None:
        keys = load_nix_keys(conf_files=[])
        assert _names(keys) == [DEFAULT_NAME]
        assert keys.keys[DEFAULT_NAME].source == "built-in default"

    def test_later_file_replaces_and_extra_appends(self, tmp_path: Path) -> None:
        first = tmp_path / "first.conf"
        second = tmp_path / "second.conf"
        first.write_text(
            f"trusted-public-keys = {_nix_key('a', 1)} {_nix_key('b', 2)}\n"
            f"extra-trusted-public-keys = {_nix_key('c', 3)}\n"
        )
        second.write_text(
            "# later file\n"
            f"trusted-public-keys = {_nix_key('d', 4)}   # comment {_nix_key('x', 9)}\n"
            f"extra-trusted-public-keys = {_nix_key('e', 5)}\n"
        )
        keys = load_nix_keys(conf_files=[str(first), str(second)])
        assert keys.problems == ()
        assert _names(keys) == ["d", "e"]
        assert keys.keys["d"].source == str(second)
        assert keys.keys["d"].public_key == _key(4)
        assert keys.files_read == (str(first), str(second))
        only_first = load_nix_keys(conf_files=[str(first)])
        assert _names(only_first) == ["a", "b", "c"]

    def test_extra_appends_to_builtin_default(self, tmp_path: Path) -> None:
        conf = tmp_path / "nix.conf"
        conf.write_text(f"extra-trusted-public-keys = {_nix_key('a', 1)}\n")
        keys = load_nix_keys(conf_files=[str(conf)])
        assert _names(keys) == [DEFAULT_NAME, "a"]

    def test_empty_assignment_clears(self, tmp_path: Path) -> None:
        conf = tmp_path / "nix.conf"
        conf.write_text("trusted-public-keys =\n")
        keys = load_nix_keys(conf_files=[str(conf)])
        assert keys.empty
        assert "no Nix public keys" in keys.describe()

    def test_alias_binary_cache_public_keys(self, tmp_path: Path) -> None:
        conf = tmp_path / "nix.conf"
        conf.write_text(
            f"binary-cache-public-keys = {_nix_key('a', 1)}\n"
            f"extra-binary-cache-public-keys = {_nix_key('b', 2)}\n"
        )
        assert _names(load_nix_keys(conf_files=[str(conf)])) == ["a", "b"]

    def test_include_directives(self, tmp_path: Path) -> None:
        sub = tmp_path / "sub"
        sub.mkdir()
        (sub / "keys.conf").write_text(f"extra-trusted-public-keys = {_nix_key('inc', 2)}\n")
        conf = tmp_path / "nix.conf"
        conf.write_text(
            f"trusted-public-keys = {_nix_key('main', 1)}\n"
            "include sub/keys.conf\n"
            "!include does-not-exist.conf\n"
            f"extra-trusted-public-keys = {_nix_key('after', 3)}\n"
        )
        keys = load_nix_keys(conf_files=[str(conf)])
        assert keys.problems == ()
        assert _names(keys) == ["main", "inc", "after"]
        assert keys.keys["inc"].source == str(sub / "keys.conf")
        assert str(sub / "keys.conf") in keys.files_read

    def test_missing_plain_include_is_a_problem(self, tmp_path: Path) -> None:
        conf = tmp_path / "nix.conf"
        conf.write_text("include missing.conf\n")
        keys = load_nix_keys(conf_files=[str(conf)])
        assert len(keys.problems) == 1
        assert "missing.conf" in keys.problems[0]

    def test_include_loop_terminates(self, tmp_path: Path) -> None:
        conf = tmp_path / "nix.conf"
        conf.write_text("include nix.conf\n")
        keys = load_nix_keys(conf_files=[str(conf)])
        assert any("nested too deeply" in p for p in keys.problems)

    def test_nix_config_env_applies_last(self, tmp_path: Path) -> None:
        conf = tmp_path / "nix.conf"
        conf.write_text(f"trusted-public-keys = {_nix_key('file', 1)}\n")
        env = {"NIX_CONFIG": f"trusted-public-keys = {_nix_key('env', 2)}\nsubstituters = x"}
        keys = load_nix_keys(conf_files=[str(conf)], env=env)
        assert _names(keys) == ["env"]
        assert keys.keys["env"].source == "NIX_CONFIG"
        appended = load_nix_keys(
            conf_files=[str(conf)],
            env={"NIX_CONFIG": f"extra-trusted-public-keys = {_nix_key('env', 2)}"},
        )
        assert _names(appended) == ["file", "env"]

    def test_discovery_order(self, tmp_path: Path) -> None:
        conf_dir = tmp_path / "etc-nix"
        conf_dir.mkdir()
        (conf_dir / "nix.conf").write_text(
            f"trusted-public-keys = {_nix_key('system', 1)}\n"
            f"extra-trusted-public-keys = {_nix_key('system-extra', 2)}\n"
        )
        xdg_a = tmp_path / "xdg-a" / "nix"
        xdg_b = tmp_path / "xdg-b" / "nix"
        home = tmp_path / "home" / "nix"
        for d in (xdg_a, xdg_b, home):
            d.mkdir(parents=True)
        (xdg_b / "nix.conf").write_text(f"extra-trusted-public-keys = {_nix_key('b', 3)}\n")
        (xdg_a / "nix.conf").write_text(f"extra-trusted-public-keys = {_nix_key('a', 4)}\n")
        (home / "nix.conf").write_text(f"extra-trusted-public-keys = {_nix_key('home', 5)}\n")
        env = {
            "NIX_CONF_DIR": str(conf_dir),
            "XDG_CONFIG_DIRS": f"{tmp_path / 'xdg-a'}:{tmp_path / 'xdg-b'}",
            "XDG_CONFIG_HOME": str(tmp_path / "home"),
            "NIX_CONFIG": f"extra-trusted-public-keys = {_nix_key('env', 6)}",
        }
        keys = load_nix_keys(env=env)
        assert keys.problems == ()
        # System file, then user files least preferred first, then NIX_CONFIG.
        assert _names(keys) == ["system", "system-extra", "b", "a", "home", "env"]
        assert keys.files_read == (
            str(conf_dir / "nix.conf"),
            str(xdg_b / "nix.conf"),
            str(xdg_a / "nix.conf"),
            str(home / "nix.conf"),
        )

    def test_nix_user_conf_files_first_wins(self, tmp_path: Path) -> None:
        first = tmp_path / "first.conf"
        second = tmp_path / "second.conf"
        first.write_text(f"trusted-public-keys = {_nix_key('first', 1)}\n")
        second.write_text(f"trusted-public-keys = {_nix_key('second', 2)}\n")
        env = {
            "NIX_CONF_DIR": str(tmp_path / "none"),
            "NIX_USER_CONF_FILES": f"{first}:{second}",
            "XDG_CONFIG_HOME": str(tmp_path / "ignored"),
        }
        assert _names(load_nix_keys(env=env)) == ["first"]

    def test_cli_trusted_and_known_keys(self, tmp_path: Path) -> None:
        pub = tmp_path / "k.pub"
        pub.write_text(_nix_key("from-file", 3) + "\n")
        keys = load_nix_keys(
            trusted_keys=[_nix_key("cli", 1)],
            known_keys=[_nix_key("known", 2), str(pub)],
            conf_files=[],
        )
        assert keys.problems == ()
        assert keys.keys["cli"].trusted and keys.keys["cli"].source == "--trusted-key"
        assert not keys.keys["known"].trusted and keys.keys["known"].source == "--known-key"
        assert not keys.keys["from-file"].trusted
        assert keys.keys["from-file"].source == str(pub)
        assert str(pub) in keys.files_read
        assert keys.trusted_names == (DEFAULT_NAME, "cli")
        assert keys.describe().startswith("4 Nix keys (2 trusted, 2 known) from built-in default")

    def test_known_key_does_not_downgrade_trusted(self) -> None:
        keys = load_nix_keys(
            trusted_keys=[_nix_key("k", 1)], known_keys=[_nix_key("k", 1)], conf_files=[]
        )
        assert keys.problems == ()
        assert keys.keys["k"].trusted

    def test_name_clash_keeps_first(self) -> None:
        keys = load_nix_keys(
            trusted_keys=[_nix_key("k", 1), _nix_key("k", 2)], conf_files=[]
        )
        assert keys.keys["k"].public_key == _key(1)
        assert len(keys.problems) == 1

    @pytest.mark.parametrize(
        "bad",
        ["name-only", f"k:{_b64(bytes(31))}", "k:%%%", f":{_b64(bytes(32))}"],
    )
    def test_bad_keys_are_problems(self, bad: str) -> None:
        keys = load_nix_keys(trusted_keys=[bad], conf_files=[])
        assert len(keys.problems) == 1
        assert _names(keys) == [DEFAULT_NAME]

    def test_illegal_lines_are_problems(self, tmp_path: Path) -> None:
        conf = tmp_path / "nix.conf"
        conf.write_text(
            f"trusted-public-keys={_nix_key('glued', 1)}\n"
            "lonely\n"
            f"extra-trusted-public-keys = {_nix_key('ok', 2)}\n"
        )
        keys = load_nix_keys(conf_files=[str(conf)])
        assert len(keys.problems) == 2
        assert _names(keys) == [DEFAULT_NAME, "ok"]

    def test_missing_explicit_conf_file_is_a_problem(self, tmp_path: Path) -> None:
        keys = load_nix_keys(conf_files=[str(tmp_path / "nope.conf")])
        assert len(keys.problems) == 1

    def test_keys_drive_nix_status(self) -> None:
        signer = SigningKey(bytes([7]) * 32)
        fingerprint = b"1;/nix/store/x;sha256:0;1;"
        sig = "me:" + _b64(signer.sign(fingerprint).signature)
        me = f"me:{_b64(bytes(signer.verify_key))}"
        trusted = load_nix_keys(trusted_keys=[me], conf_files=[])
        known = load_nix_keys(known_keys=[me], conf_files=[])
        assert check_nix_signature(sig, fingerprint, trusted) == ("me", SigStatus.TRUSTED)
        assert check_nix_signature(sig, fingerprint, known) == ("me", SigStatus.VALID_UNTRUSTED)
        assert check_nix_signature(sig, fingerprint + b"x", trusted) == ("me", SigStatus.INVALID)
        assert check_nix_signature(sig, fingerprint, load_nix_keys(conf_files=[])) == (
            "me",
            SigStatus.UNKNOWN_KEY,
        )
