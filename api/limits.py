"""Request limits: body size, JSON nesting depth, time, and request rates.

Size and depth are checked on the raw bytes before anything parses them, so a 2 GB body
or a JSON bomb of nested brackets costs the server nothing. Rates use the `limits`
library (the engine behind slowapi) with a moving window per API key or client address.
"""

from __future__ import annotations

import asyncio
import json
import time

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether brackets nest deeper than `limit` (strings are skipped; escapes respected)."""
    depth = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


async def _reply(send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": message}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for bodies over the limit, 400 for JSON nested too deeply; uploads get their own limit."""

    def __init__(self, app: ASGIApp, max_json_bytes: int, max_upload_bytes: int, max_depth: int) -> None:
        self.app = app
        self.max_json_bytes = max_json_bytes
        self.max_upload_bytes = max_upload_bytes
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower()
        multipart = content_type.startswith("multipart/")
        limit = self.max_upload_bytes if multipart else self.max_json_bytes
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _reply(send, 413, f"request body over {limit} bytes")
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _reply(send, 413, f"request body over {limit} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if "json" in content_type and json_depth_exceeds(body, self.max_depth):
            await _reply(send, 400, f"JSON nested deeper than {self.max_depth} levels")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class TimeoutMiddleware:
    """504 when a request takes longer than the limit (the worker thread finishes in the background)."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        try:
            await asyncio.wait_for(self.app(scope, receive, tracking_send), timeout=self.seconds)
        except asyncio.TimeoutError:
            if not started:
                await _reply(send, 504, f"request took longer than {self.seconds:g} s")


class RateLimiter:
    def __init__(self, ask_limit: str, admin_limit: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._limits = {"ask": parse(ask_limit), "admin": parse(admin_limit)}

    def hit(self, scope: str, who: str) -> float | None:
        """None if allowed; otherwise seconds until the caller may retry."""
        item = self._limits[scope]
        if self._limiter.hit(item, scope, who):
            return None
        reset_at, _remaining = self._limiter.get_window_stats(item, scope, who)
        return max(1.0, reset_at - time.time())
