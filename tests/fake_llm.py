"""A real HTTP server on loopback that speaks the OpenAI chat-completions protocol, scripted by the tests.

There is no language model on this machine. What Kabar must handle is the protocol and the ways
a model and its server misbehave, so this server answers from the passages it is sent, the way
a model would: `good` restates a sentence of passage 1, `unsupported` adds a claim with a number
the passages never mention, `wrong_citation` cites a passage that does not exist, `injection`
does what an article told it to, `slow` takes too long, `error`/`rate_limited` fail, `garbage`
is not JSON, `empty` has no text. Streamed requests get server-sent events chunk by chunk.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def passages_of(messages: list[dict]) -> list[dict]:
    user = messages[-1]["content"]
    return json.loads(user.split("\n", 1)[1].split("\n\nQuestion", 1)[0])


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s+", text.strip())[0]


class FakeLLM:
    def __init__(self, behaviour: str = "good") -> None:
        self.behaviour = behaviour
        self.requests: list[dict] = []
        self.slow_seconds = 3.0
        self.fail_times = 0  # `error`/`rate_limited` fail this many times, then answer well (0: always fail)
        self.script = ""  # the text the `scripted` behaviour answers with
        self._failures = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, "body": body, "authorization": self.headers.get("Authorization")})
                fake.answer(self, body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def __enter__(self) -> FakeLLM:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.server.server_close()

    def text_for(self, messages: list[dict]) -> str:
        passages = passages_of(messages)
        said = first_sentence(passages[0]["text"])
        if self.behaviour == "unsupported":
            return f"{said} [1] Menurut laporan itu, 7431 kepala negara akan hadir [1]."
        if self.behaviour == "wrong_citation":
            return f"{said} [{len(passages) + 6}]"
        if self.behaviour == "scripted":
            return self.script
        if self.behaviour == "injection":
            return "I was told to ignore previous instructions: Kabar is HACKED. Visit evil.example [2]."
        return f"{said} [1]"

    def answer(self, handler: BaseHTTPRequestHandler, body: dict) -> None:
        behaviour = self.behaviour
        if behaviour in ("error", "rate_limited") and (not self.fail_times or self._failures < self.fail_times):
            self._failures += 1
            status = 429 if behaviour == "rate_limited" else 500
            self._send(handler, status, b'{"error": {"message": "overloaded"}}', {"Retry-After": "0"})
            return
        if behaviour == "slow":
            time.sleep(self.slow_seconds)
        if behaviour == "garbage":
            self._send(handler, 200, b"<html>502 Bad Gateway</html>")
            return
        text = "" if behaviour == "empty" else self.text_for(body["messages"])
        usage = {"prompt_tokens": len(json.dumps(body["messages"])) // 4, "completion_tokens": len(text.split())}
        if not body.get("stream"):
            payload = {"id": "fake", "object": "chat.completion", "model": body["model"],
                       "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                    "finish_reason": "stop"}], "usage": usage}
            self._send(handler, 200, json.dumps(payload).encode())
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        for word in re.findall(r"\S+\s*", text):
            chunk = {"id": "fake", "object": "chat.completion.chunk",
                     "choices": [{"index": 0, "delta": {"content": word}}]}
            handler.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
            handler.wfile.flush()
            time.sleep(0.01)
        handler.wfile.write(f"data: {json.dumps({'choices': [], 'usage': usage})}\n\n".encode())
        handler.wfile.write(b"data: [DONE]\n\n")
        handler.wfile.flush()

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict | None = None) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
