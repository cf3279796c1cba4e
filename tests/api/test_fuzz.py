"""Property-based fuzzing of every documented operation (schemathesis): no input may cause a 5xx.

Bounded for CI: a fixed number of examples per operation and a fixed seed, against a real
server on loopback, with an admin key so document and job routes are exercised too.
Schemathesis runs as its own CLI (its pytest plugin does not support this pytest).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from api.security import create_key
from tests.api.conftest import running_server

EXAMPLES_PER_OPERATION = 100


def test_no_input_causes_a_server_error(hashing_seed_settings, tmp_path):
    key = create_key(tmp_path / "keys.json", "fuzzer", ["ask", "admin"])
    # Fuzz a copy: document writes must not change the shared sample index.
    shutil.copytree(hashing_seed_settings.index_dir, tmp_path / "index")
    with running_server(tmp_path / "index", hashing_seed_settings.cache_dir,
                        KABAR_API_KEYS_FILE=str(tmp_path / "keys.json"),
                        KABAR_RATE_LIMIT_ASK="1000000/minute", KABAR_RATE_LIMIT_ADMIN="1000000/minute",
                        # Small bodies keep each generated ingest job quick, so the run stays bounded.
                        KABAR_MAX_BODY_BYTES="20000") as base:
        cli = Path(sys.executable).with_name("schemathesis")
        result = subprocess.run(
            [str(cli), "run", f"{base}/openapi.json", "--checks", "not_a_server_error",
             "--phases", "examples,fuzzing", "--max-examples", str(EXAMPLES_PER_OPERATION), "--seed", "20261123", "--request-timeout", "30",
             "--header", f"Authorization: Bearer {key}", "--report", "junit",
             "--report-junit-path", str(tmp_path / "fuzz.xml"), "--continue-on-failure"],
            capture_output=True, text=True, timeout=300, env={**os.environ, "NO_COLOR": "1"},
        )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    assert generated and generated.group(1) == generated.group(2) and int(generated.group(1)) >= 500, output[-2000:]
    assert "Unresolvable" not in output, output[-2000:]
