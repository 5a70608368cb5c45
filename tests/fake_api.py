"""A local stand-in for the Messages API: an HTTP server on 127.0.0.1 that answers
`POST /v1/messages` with recorded replies, in order, and keeps every request body.

The real `anthropic` client talks to it over real HTTP (`base_url`), so the tests exercise
the SDK's request building, response parsing, error mapping and retries, not a mock of them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import anthropic

DATA = Path(__file__).parent / "agent" / "data"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text())


@dataclass
class FakeApi:
    """Replies to give, as (HTTP status, JSON body) or a recorded name (status 200)."""

    replies: list[tuple[int, dict[str, Any]]]
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    url: str = ""

    def client(self, max_retries: int = 0) -> anthropic.Anthropic:
        return anthropic.Anthropic(
            api_key="sk-ant-test", base_url=self.url, max_retries=max_retries
        )


@contextmanager
def fake_api(*replies: str | tuple[int, str]) -> Iterator[FakeApi]:
    """Serve `replies` (a recorded name, or (status, recorded name)) one per request; a
    request past the last gets HTTP 500 so an unexpected extra call cannot pass silently."""
    api = FakeApi(
        [(200, recorded(r)) if isinstance(r, str) else (r[0], recorded(r[1])) for r in replies]
    )

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers["content-length"]))
            api.requests.append(json.loads(body))
            api.headers.append({k.lower(): v for k, v in self.headers.items()})
            if self.path != "/v1/messages":
                status, reply = (
                    404,
                    {"type": "error", "error": {"type": "not_found_error", "message": self.path}},
                )
            elif len(api.requests) > len(api.replies):
                status, reply = (
                    500,
                    {
                        "type": "error",
                        "error": {"type": "api_error", "message": "no more recorded replies"},
                    },
                )
            else:
                status, reply = api.replies[len(api.requests) - 1]
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.send_header("retry-after-ms", "1")  # the SDK's own retries wait 1 ms here
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
