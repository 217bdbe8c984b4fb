"""The load benchmark runs end to end: a real gunicorn, every flow, its figures printed.

A smoke test, not a timing test: tiny counts, and only that every enrolment, signup
and ceiling request succeeded and the report names its figures. The database is the
configured one's sibling (<name>_load on PostgreSQL, rebuilt by the benchmark), or a
temporary SQLite file.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNT = 2


def _database_url(tmp_path: Path) -> str:
    url = os.environ.get("BACKOFFICE_TEST_DATABASE_URL")
    if url and url.startswith("postgresql"):
        return url.split("?")[0] + "_load"
    return "sqlite:///" + str(tmp_path / "load.sqlite3")


def test_the_load_benchmark_enrols_joins_and_prints_its_figures(tmp_path):
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "load.py"), "--count", str(COUNT),
         "--concurrency", "2", "--workers", "2", "--members", "0",
         "--database-url", _database_url(tmp_path),
         "--redis-url", os.environ.get("BACKOFFICE_TEST_REDIS_URL", ""),
         "--json", str(tmp_path / "figures.json")],
        capture_output=True, text=True, timeout=900, check=False, cwd=tmp_path)
    out = done.stdout
    assert done.returncode == 0, out[-4000:] + done.stderr[-4000:]
    assert "errors: 0" in out
    for flow in ("browser", "lean", "join"):
        row = re.search(rf"^{flow}\s+(\d+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+(\d+)", out,
                        re.MULTILINE)
        assert row, f"no figures for {flow}:\n{out[-3000:]}"
        units, rate, _static, _login, errors = row.groups()
        assert int(units) == COUNT and float(rate) > 0 and int(errors) == 0, row.group(0)
    assert re.search(r"ceiling .*static file [\d.]+ req/s, login page [\d.]+ req/s", out)
    for step in ("POST create", "POST send", "POST check", "GET verify 3", "POST /join"):
        assert re.search(rf"\s{re.escape(step)}\s+[\d.]+\s+[\d.]+\s+[\d.]+", out), step
