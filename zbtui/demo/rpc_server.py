"""The read-only part of zb's store RPC, served by the demo's simulated server.

Only ``zb.nop`` and ``zb.getBuild`` are answered, the way ``zb serve`` answers
them (spec §5): ``getBuild`` reports ``active`` for a build the server is
running and ``unknown`` for any other unfinished build (an orphan of an
earlier process). Finished builds are not needed by zbtui and answer
``unknown`` too, with an error-free result.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable

from ..store.rpc import RpcError, read_message, write_message

__all__ = ["RpcServer"]

ACCEPT_POLL_S = 0.2
"""How often the accept loop looks at the stop flag."""


class RpcServer:
    """A tiny JSON-RPC responder on a Unix socket (for demos and tests)."""

    def __init__(self, socket_path: str, active_ids: Callable[[], set[str]]) -> None:
        self.socket_path = socket_path
        self.active_ids = active_ids
        self.calls = 0
        self._stop = threading.Event()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(self.socket_path)
        sock.listen(8)
        sock.settimeout(ACCEPT_POLL_S)
        self._sock = sock
        self._thread = threading.Thread(target=self._serve, name="zbtui-demo-rpc", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        if self._sock is not None:
            self._sock.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.socket_path)

    def _serve(self) -> None:
        assert self._sock is not None
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1.0)
                reader = conn.makefile("rb")
                while True:
                    try:
                        request = read_message(reader)
                    except (RpcError, OSError, ValueError):
                        break
                    self.calls += 1
                    write_message(conn, self._answer(request))

    def _answer(self, request: dict) -> dict:
        method = request.get("method")
        reply: dict = {"jsonrpc": "2.0", "id": request.get("id")}
        if method == "zb.nop":
            reply["result"] = None
        elif method == "zb.getBuild":
            build_id = (request.get("params") or {}).get("buildID")
            if build_id in self.active_ids():
                reply["result"] = {"id": build_id, "status": "active", "results": []}
            else:
                reply["result"] = {
                    "id": build_id,
                    "status": "unknown",
                    "startedAt": "0001-01-01T00:00:00Z",
                    "endedAt": None,
                    "results": [],
                }
        else:
            reply["error"] = {"code": -32601, "message": f"method not found: {method}"}
        return reply
