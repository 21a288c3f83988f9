"""Run ``zbtui`` with no privilege at all: ``python as_nobody.py ARGS...``.

Started through ``setpriv`` as uid/gid 65534 with only CAP_DAC_READ_SEARCH
(the interpreter lives under /root, mode 700, in the test image). Everything
zbtui may import is imported first; then that last capability is dropped, so
``zbtui`` runs exactly as an unprivileged user would: it can read only what
"other" may read, and write nothing it does not own.
"""

from __future__ import annotations

import ctypes

# Everything the command may import lazily, while it still can.
import gettext  # noqa: F401
import locale  # noqa: F401
import os
import sys

import zbtui.__main__ as cli
import zbtui.query  # noqa: F401
import zbtui.store.logs  # noqa: F401
import zbtui.store.nix  # noqa: F401
import zbtui.store.open  # noqa: F401
import zbtui.store.rpc  # noqa: F401
import zbtui.store.sanitize  # noqa: F401
import zbtui.store.trust  # noqa: F401
import zbtui.store.zb  # noqa: F401

_LINUX_CAPABILITY_VERSION_3 = 0x20080522
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4


class _Header(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _Data(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_all_capabilities() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_CAP_AMBIENT_CLEAR_ALL)")
    header = _Header(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_Data * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


if __name__ == "__main__":
    if os.geteuid() == 0:
        sys.exit("as_nobody.py: refusing to run as root")
    # argparse looks up translations (and imports more) on first use.
    cli.build_parser().format_help()
    cli.build_query_parser().format_help()
    drop_all_capabilities()
    with open("/proc/self/status") as status:
        effective = next(line for line in status if line.startswith("CapEff:")).split()[1]
    if int(effective, 16) != 0:
        sys.exit(f"as_nobody.py: capabilities left: {effective}")
    sys.exit(cli.main(sys.argv[1:]))
