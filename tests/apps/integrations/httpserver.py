"""A real local HTTP server for connector tests: answers what the test scripts, records what it got."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Script:
    """What the server answers (`status`, `body`) and what it received (`requests`)."""

    status: int = 200
    body: Any = field(default_factory=lambda: {"ok": True})
    delay: float = 0.0
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@contextmanager
def serving(script: Script) -> Iterator[Script]:
    """Serve on 127.0.0.1 (a free port) in a thread while the block runs; `script.url` is its address."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            script.requests.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                                    "json": json.loads(raw) if raw else None})
            if script.delay:
                threading.Event().wait(script.delay)
            payload = json.dumps(script.body).encode()
            self.send_response(script.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    script.url = f"http://127.0.0.1:{server.server_address[1]}/orders"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()
