"""The load test against a real server: what it reports is the service's latency, not its rate limiter's."""

from __future__ import annotations

import pytest

from eval.loadtest import print_load_report, run_load_test
from tests.api.conftest import running_server


def test_rate_limited_requests_are_counted_and_said_but_not_timed(hashing_seed_settings, capsys):
    with running_server(hashing_seed_settings.index_dir, hashing_seed_settings.cache_dir,
                        KABAR_RATE_LIMIT_ASK="3/minute", KABAR_READER="off") as base:
        report = run_load_test(base, seconds=60, concurrency=1, max_requests=8)

    assert report["requests"] == 8 and report["statuses"] == {"200": 3, "429": 5}
    assert report["answered"] == 3 and report["rate_limited"] == 5 and report["errors"] == 5
    assert report["p50_ms"] is not None
    print_load_report(report)
    printed = capsys.readouterr().out
    assert "(over the 3 answered)" in printed
    assert "rate limit refused 5 of 8 requests" in printed and "KABAR_RATE_LIMIT_ASK" in printed


def test_nothing_answered_gives_no_percentiles_rather_than_the_refusals_timing(hashing_seed_settings):
    with running_server(hashing_seed_settings.index_dir, hashing_seed_settings.cache_dir,
                        KABAR_RATE_LIMIT_ASK="1/minute", KABAR_READER="off") as base:
        run_load_test(base, seconds=60, concurrency=1, max_requests=1)
        report = run_load_test(base, seconds=60, concurrency=1, max_requests=3)

    assert report["statuses"] == {"429": 3} and report["answered"] == 0
    assert report["p50_ms"] is None and report["p95_ms"] is None


def test_one_server_is_measured_mode_by_mode_and_a_mode_it_refuses_stops_the_run(hashing_seed_settings,
                                                                                     capsys):
    with running_server(hashing_seed_settings.index_dir, hashing_seed_settings.cache_dir,
                        KABAR_READER="off") as base:
        dense = run_load_test(base, seconds=60, concurrency=1, max_requests=3, mode="dense")
        with pytest.raises(ValueError, match=r"refused mode 'nonsense' \(4\d\d\)"):
            run_load_test(base, seconds=60, concurrency=1, max_requests=3, mode="nonsense")

    assert dense["mode"] == "dense" and dense["statuses"] == {"200": 3}
    print_load_report(dense)
    assert capsys.readouterr().out.startswith("dense: 3 requests")
