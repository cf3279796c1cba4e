"""A bounded load test of `/v1/ask` against a server on this machine (loopback only).

Asyncio + httpx with N concurrent clients for T seconds (or M requests, whichever comes
first); reports requests/s, latency percentiles and errors by status. The percentiles are over the
answered requests (200) only: a rate-limited server answers 429 in a few milliseconds, and mixing
those in reported a 300 ms service as a 3 ms one.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import random
import socket
import statistics
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlparse

import httpx

from eval.metrics import percentile

DEFAULT_QUESTIONS = [
    "where is the 2025 summit?", "Di mana KTT berikutnya akan diadakan?", "Who is the Chinese foreign minister?",
    "Berapa kota yang dihubungkan layanan truk Tianfu?", "What did Xi and Tokayev agree on?",
    "Siapa Presiden Kirgistan?", "Which news agency reported the Xi'an summit?", "下一届中国—中亚峰会在哪里举行？",
]


def require_loopback(url: str) -> None:
    host = urlparse(url).hostname or ""
    addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    if not addresses or not all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in addresses):
        raise ValueError(f"load tests only target this machine (loopback addresses); {host!r} is not one")


async def _client(base: str, questions: list[str], deadline: float, budget: list[int], headers: dict,
                  latencies: list[float], statuses: Counter, mode: str | None = None) -> None:
    rng = random.Random()
    async with httpx.AsyncClient(base_url=base, timeout=30, headers=headers) as http:
        while time.monotonic() < deadline and budget[0] > 0:
            budget[0] -= 1
            started = time.perf_counter()
            try:
                response = await http.post("/v1/ask", json=ask_body(rng.choice(questions), mode))
                statuses[str(response.status_code)] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
                continue
            if response.status_code == 200:
                latencies.append((time.perf_counter() - started) * 1000)


def ask_body(question: str, mode: str | None) -> dict:
    return {"question": question, "k": 5, **({"mode": mode} if mode else {})}


def run_load_test(url: str, seconds: float, concurrency: int, max_requests: int, api_key: str | None = None,
                  questions_file: Path | None = None, mode: str | None = None) -> dict:
    """`mode` (dense, default-no-reader, …): what every request asks for, so one server measures each
    stage's cost side by side; a mode the server refuses is an error before the run, not a run of 4xx."""
    require_loopback(url)
    try:
        httpx.get(f"{url}/healthz", timeout=10).raise_for_status()
    except httpx.HTTPError as exc:
        raise ValueError(f"no Kabar server answers at {url}: {exc}") from None
    questions = DEFAULT_QUESTIONS
    if questions_file:
        lines = questions_file.read_text(encoding="utf-8").splitlines()
        questions = [json.loads(line)["question"] for line in lines if line.strip()]
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    if mode:
        probe = httpx.post(f"{url}/v1/ask", json=ask_body(questions[0], mode), headers=headers, timeout=60)
        if 400 <= probe.status_code < 500 and probe.status_code != 429:
            raise ValueError(f"the server refused mode {mode!r} ({probe.status_code}): {probe.text[:300]}")
    latencies: list[float] = []
    statuses: Counter = Counter()
    budget = [max_requests]

    async def main() -> float:
        started = time.perf_counter()
        deadline = time.monotonic() + seconds
        await asyncio.gather(*(_client(url, questions, deadline, budget, headers, latencies, statuses, mode)
                               for _ in range(concurrency)))
        return time.perf_counter() - started

    elapsed = asyncio.run(main())
    total = sum(statuses.values())
    return {
        "url": url, "mode": mode or "server default", "seconds": round(elapsed, 1),
        "concurrency": concurrency, "requests": total,
        "requests_per_s": round(total / elapsed, 1) if elapsed else 0.0,
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(percentile(latencies, 0.95), 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99), 1) if latencies else None,
        "statuses": dict(statuses), "errors": sum(n for s, n in statuses.items() if s != "200"),
        "answered": statuses.get("200", 0), "rate_limited": statuses.get("429", 0),
    }


def print_load_report(report: dict) -> None:
    print(f"{report['mode']}: {report['requests']} requests in {report['seconds']} s "
          f"with {report['concurrency']} clients: "
          f"{report['requests_per_s']} req/s; latency p50 {report['p50_ms']} ms, p95 {report['p95_ms']} ms, "
          f"p99 {report['p99_ms']} ms (over the {report['answered']} answered); "
          f"statuses {report['statuses']}")
    if report["rate_limited"]:
        print(f"warning: the server's rate limit refused {report['rate_limited']} of {report['requests']} "
              "requests (429); to measure the service, start it with a higher KABAR_RATE_LIMIT_ASK "
              "(e.g. 100000/minute)")
