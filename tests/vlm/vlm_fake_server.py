"""A scripted OpenAI-compatible chat server on 127.0.0.1, for tests over real HTTP.

Each request to ``POST /v1/chat/completions`` takes the next step of ``script``:

- ``Reply(text)``: a normal chat completion with that content;
- ``Status(code)``: an error status with an OpenAI-style JSON error body;
- ``Sleep(seconds, then)``: wait (interruptible at shutdown), then do step ``then``.

When the script is empty the server answers 500. Every request body (parsed JSON) and its
headers are kept in ``requests``.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    text: str
    finish_reason: str = "stop"


@dataclass(frozen=True)
class Status:
    code: int
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Sleep:
    seconds: float
    then: Reply | Status


Step = Reply | Status | Sleep


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]


class FakeOpenAIServer:
    """Start with :meth:`start`, stop with :meth:`stop`; ``url`` is the ``/v1`` base URL."""

    def __init__(self) -> None:
        self.script: deque[Step] = deque()
        self.requests: list[RecordedRequest] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # type: ignore[attr-defined]
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def push(self, *steps: Step) -> None:
        self.script.extend(steps)

    def _next(self) -> Step:
        with self._lock:
            return self.script.popleft() if self.script else Status(500)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                server.requests.append(
                    RecordedRequest(
                        self.path, {k.lower(): v for k, v in self.headers.items()}, body
                    )
                )
                step = server._next()
                if isinstance(step, Sleep):
                    if server.stopping.wait(step.seconds):
                        return
                    step = step.then
                try:
                    if isinstance(step, Reply):
                        self._send(200, _completion(body, step), ())
                    else:
                        error = {"error": {"message": f"fake status {step.code}", "type": "fake"}}
                        self._send(step.code, error, step.headers)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout); nothing to answer

            def _send(self, code: int, data: dict[str, Any], headers: Any) -> None:
                payload = json.dumps(data).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for key, value in headers:
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def _completion(request: dict[str, Any], reply: Reply) -> dict[str, Any]:
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 0,
        "model": str(request.get("model", "fake")),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": reply.text},
                "finish_reason": reply.finish_reason,
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }
