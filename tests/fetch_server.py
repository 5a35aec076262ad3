"""A local HTTP server on 127.0.0.1 for the fetch tests (these machines have no internet).

It serves byte strings by path, honours `Range: bytes=N-` (206, or 416 past the end), can stop a response
part-way once (a dropped connection) or send it slowly once, and logs each request's path, Range header and bytes sent.
"""
from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


TRICKLE_BYTES, TRICKLE_PAUSE_S = 8192, 0.05


@dataclass
class Served:
    path: str
    range: str | None
    status: int
    sent: int


@dataclass
class FileServer:
    files: dict[str, bytes] = field(default_factory=dict)
    cut_next: dict[str, int] = field(default_factory=dict)  # path -> bytes to send before dropping, once
    trickle_next: dict[str, int] = field(default_factory=dict)  # path -> bytes to send at once, then slowly, once
    log: list[Served] = field(default_factory=list)
    port: int = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's naming)
        server: FileServer = self.server.file_server
        body = server.files.get(self.path)
        asked = self.headers.get("Range")
        if body is None:
            self.send_error(404)
            server.log.append(Served(self.path, asked, 404, 0))
            return
        start = int(re.fullmatch(r"bytes=(\d+)-", asked).group(1)) if asked else 0
        if start >= len(body) and asked:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(body)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            server.log.append(Served(self.path, asked, 416, 0))
            return
        status = 206 if asked else 200
        self.send_response(status)
        if asked:
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        payload = body[start:]
        cut = server.cut_next.pop(self.path, None)
        if cut is not None:
            payload = payload[:cut]  # then the connection closes (HTTP/1.0): fewer bytes than announced
        fast = server.trickle_next.pop(self.path, len(payload))
        self.wfile.write(payload[:fast])
        try:
            for offset in range(fast, len(payload), TRICKLE_BYTES):
                time.sleep(TRICKLE_PAUSE_S)
                self.wfile.write(payload[offset:offset + TRICKLE_BYTES])
        except (BrokenPipeError, ConnectionResetError):  # the client went away
            pass
        server.log.append(Served(self.path, asked, status, len(payload)))

    def log_message(self, *args):  # keep the test output clean
        pass


def serve() -> tuple[FileServer, ThreadingHTTPServer]:
    state = FileServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.file_server = state
    state.port = httpd.server_address[1]
    threading.Thread(target=httpd.serve_forever, name="fetch-test-server", daemon=True).start()
    return state, httpd
