"""A minimal client for zb's store RPC, used only for read-only questions.

zb records no status for builds: an unfinished build is either running or
orphaned by an earlier server process, and only the running server's memory
knows which (spec §1.8). When the server socket is reachable, ``zb.getBuild``
answers ``unknown`` for an orphan. Only read-only methods are ever called.

Transport (spec §5): JSON-RPC 2.0 over a Unix socket with LSP-style framing:
``Content-Length`` and ``Content-Type: application/zb-store-rpc+json`` headers,
a blank line, then the body. Messages of other content types are skipped.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from typing import Any

__all__ = ["READ_ONLY_METHODS", "RpcError", "ZbRpcClient"]

CONTENT_TYPE = "application/zb-store-rpc+json"
MAX_MESSAGE = 1 << 20
"""zb's own limit on a JSON message (``maxAPIMessageSize``)."""

TIMEOUT_S = 1.0
"""A local server answers in milliseconds; a hung one must not hang a worker."""

READ_ONLY_METHODS = frozenset({"zb.nop", "zb.exists", "zb.info", "zb.getBuild", "zb.getBuildResult", "zb.readLog"})
"""The only methods this client will send (never realize, expand, fetch, cancel)."""


class RpcError(Exception):
    """The server could not be reached or answered with an error."""


class ZbRpcClient:
    """One connection per call: calls are rare (only for unfinished builds)."""

    def __init__(self, socket_path: str, timeout: float = TIMEOUT_S) -> None:
        self.socket_path = socket_path
        self.timeout = timeout
        self._next_id = 0
        self._lock = threading.Lock()

    def available(self) -> bool:
        """Whether a socket file is there at all (cheap; does not connect)."""
        try:
            return os.path.exists(self.socket_path) and not os.path.isdir(self.socket_path)
        except OSError:
            return False

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Send one request and return its result.

        Raises:
            RpcError: unreachable socket, timeout, protocol error or an RPC error.
            ValueError: for a method that is not read-only.
        """
        if method not in READ_ONLY_METHODS:
            raise ValueError(f"refusing to call {method}: zbtui only asks read-only questions")
        with self._lock:
            self._next_id += 1
            request_id = self._next_id
        body = json.dumps({"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}).encode()
        header = f"Content-Length: {len(body)}\r\nContent-Type: {CONTENT_TYPE}\r\n\r\n".encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(self.timeout)
                sock.connect(self.socket_path)
                sock.sendall(header + body)
                reader = sock.makefile("rb")
                while True:
                    content_type, payload = _read_message(reader)
                    if content_type != CONTENT_TYPE:
                        continue
                    message = json.loads(payload)
                    if message.get("id") != request_id:
                        continue
                    if "error" in message and message["error"] is not None:
                        error = message["error"]
                        raise RpcError(f"{method}: {error.get('message', error)}")
                    return message.get("result")
        except (OSError, ValueError) as exc:
            raise RpcError(f"{self.socket_path}: {exc}") from None

    def build_status(self, build_id: str) -> str:
        """The server's own status for a build: ``unknown`` means orphaned."""
        result = self.call("zb.getBuild", {"buildID": build_id})
        if not isinstance(result, dict) or not isinstance(result.get("status"), str):
            raise RpcError("zb.getBuild: unexpected answer")
        return result["status"]


def _read_message(reader) -> tuple[str | None, bytes]:
    length: int | None = None
    content_type: str | None = None
    while True:
        line = reader.readline(4096)
        if not line:
            raise RpcError("connection closed by the server")
        line = line.rstrip(b"\r\n")
        if not line:
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
        elif name.strip().lower() == "content-type":
            content_type = value.strip()
    if length is None or length < 0 or length > MAX_MESSAGE:
        raise RpcError(f"bad Content-Length {length}")
    payload = reader.read(length)
    if len(payload) != length:
        raise RpcError("short message from the server")
    return content_type, payload


def write_message(sock: socket.socket, payload: dict[str, Any]) -> None:
    """Frame and send one JSON message (used by the demo's simulated server)."""
    body = json.dumps(payload).encode()
    sock.sendall(f"Content-Length: {len(body)}\r\nContent-Type: {CONTENT_TYPE}\r\n\r\n".encode() + body)


def read_message(reader) -> dict[str, Any]:
    """Read one framed JSON message (used by the demo's simulated server)."""
    _content_type, payload = _read_message(reader)
    return json.loads(payload)
