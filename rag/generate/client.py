"""A client for any OpenAI-compatible chat-completions server (vLLM, llama.cpp's server, Ollama, a hosted API).

Plain httpx, no SDK: the protocol is one POST, streamed or not, and every server above speaks it.
What a demanding operator expects of it:
- timeouts on connect and on the whole answer; a slow model is an error, not a hung request;
- bounded retries with exponential backoff, for what is worth retrying (connection errors, 429,
  5xx), honouring Retry-After up to a cap; never for a 4xx that will fail again;
- a concurrency cap, so a burst of questions queues for a while and then gets a "busy" error
  instead of stampeding a GPU server;
- the API key only in the Authorization header: never in a log line, an error or a repr.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class LLMError(RuntimeError):
    """The model could not answer. `kind` is one of: unreachable, timeout, rate_limited, busy, http, garbage."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind

    def __str__(self) -> str:
        return f"{self.kind}: {self.args[0]}"


@dataclass
class Completion:
    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    seconds: float = 0.0


@dataclass
class ChatClient:
    url: str  # the server's base URL, e.g. http://127.0.0.1:8080/v1
    model: str
    api_key: str | None = field(default=None, repr=False)
    timeout_seconds: float = 30.0
    connect_timeout_seconds: float = 3.0
    retries: int = 2
    backoff_seconds: float = 0.5
    max_concurrency: int = 4
    max_tokens: int = 512
    # Called once per finished call: (outcome, seconds, tokens in, tokens out); outcome "ok" or an error kind.
    observe: Callable[[str, float, int, int], None] | None = None

    def __post_init__(self) -> None:
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._http = httpx.Client(timeout=httpx.Timeout(self.timeout_seconds, connect=self.connect_timeout_seconds))

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"

    def _headers(self) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    def _body(self, messages: list[dict], stream: bool) -> dict:
        body = {"model": self.model, "messages": messages, "temperature": 0.1, "max_tokens": self.max_tokens,
                "stream": stream}
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def complete(self, messages: list[dict]) -> Completion:
        """One whole answer."""
        started = time.perf_counter()
        try:
            with self._slot():
                response = self._post(messages, stream=False)
                try:
                    payload = response.json()
                    text = payload["choices"][0]["message"]["content"]
                    if not isinstance(text, str):
                        raise TypeError("content is not text")
                except (ValueError, KeyError, IndexError, TypeError) as exc:
                    raise LLMError("garbage", f"the model server's answer is not a chat completion ({exc})") from None
                usage = payload.get("usage") or {}
                done = Completion(text, int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0),
                                  time.perf_counter() - started)
        except LLMError as exc:
            self._observed(exc.kind, started)
            raise
        self._observed("ok", started, done.tokens_in, done.tokens_out)
        return done

    def stream(self, messages: list[dict]) -> Iterator[str]:
        """The answer as it is written (text pieces); the whole Completion is the generator's return value."""
        started = time.perf_counter()
        pieces: list[str] = []
        tokens_in = tokens_out = 0
        try:
            with self._slot():
                response = self._post(messages, stream=True)
                try:
                    for line in response.iter_lines():
                        if not line.startswith("data:"):
                            continue
                        data = line[5:].strip()
                        if data == "[DONE]":
                            break
                        try:
                            chunk = json.loads(data)
                            usage = chunk.get("usage") or {}
                            tokens_in = int(usage.get("prompt_tokens") or tokens_in)
                            tokens_out = int(usage.get("completion_tokens") or tokens_out)
                            choices = chunk.get("choices") or []
                            piece = (choices[0].get("delta") or {}).get("content") if choices else None
                        except (ValueError, AttributeError, TypeError) as exc:
                            raise LLMError("garbage", f"a streamed piece is not a chat completion chunk ({exc})") from None
                        if piece:
                            pieces.append(piece)
                            yield piece
                    if time.perf_counter() - started > self.timeout_seconds:
                        raise LLMError("timeout", f"the model took over {self.timeout_seconds:.0f} s")
                except httpx.TimeoutException:
                    raise LLMError("timeout", f"the model stopped sending for {self.timeout_seconds:.0f} s") from None
                except httpx.HTTPError as exc:
                    raise LLMError("unreachable", f"the stream broke: {type(exc).__name__}") from None
                finally:
                    response.close()
        except LLMError as exc:
            self._observed(exc.kind, started)
            raise
        if not pieces:
            self._observed("garbage", started)
            raise LLMError("garbage", "the model server streamed no text")
        self._observed("ok", started, tokens_in, tokens_out)
        return Completion("".join(pieces), tokens_in, tokens_out, time.perf_counter() - started)

    @contextlib.contextmanager
    def _slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.timeout_seconds):
            raise LLMError("busy", f"{self.max_concurrency} questions are already waiting for the model")
        try:
            yield
        finally:
            self._slots.release()

    def _post(self, messages: list[dict], stream: bool) -> httpx.Response:
        """POST with bounded retries; returns a 200 response (open, when streaming)."""
        body = self._body(messages, stream)
        for attempt in range(self.retries + 1):
            wait = self.backoff_seconds * (2 ** attempt) * (0.8 + 0.4 * random.random())
            try:
                request = self._http.build_request("POST", self.endpoint, json=body, headers=self._headers())
                response = self._http.send(request, stream=stream)
            except httpx.TimeoutException:
                problem = LLMError("timeout", f"no answer from the model server within {self.timeout_seconds:.0f} s")
            except httpx.HTTPError as exc:
                problem = LLMError("unreachable", f"cannot reach the model server ({type(exc).__name__})")
            else:
                if response.status_code == 200:
                    return response
                status = response.status_code
                detail = _short_detail(response)
                response.close()
                if status not in RETRYABLE_STATUS:
                    raise LLMError("http", f"the model server answered {status}{detail}")
                kind = "rate_limited" if status == 429 else "http"
                problem = LLMError(kind, f"the model server answered {status}{detail}")
                retry_after = response.headers.get("retry-after", "")
                if retry_after.replace(".", "", 1).isdigit():
                    wait = min(float(retry_after), 5.0)
            if attempt == self.retries:
                raise problem
            time.sleep(wait)
        raise AssertionError("unreachable")

    def _observed(self, outcome: str, started: float, tokens_in: int = 0, tokens_out: int = 0) -> None:
        if self.observe:
            self.observe(outcome, time.perf_counter() - started, tokens_in, tokens_out)

    def close(self) -> None:
        self._http.close()


def _short_detail(response: httpx.Response) -> str:
    try:
        text = response.read().decode("utf-8", "replace").strip()
    except httpx.HTTPError:
        return ""
    return f": {text[:200]}" if text else ""
