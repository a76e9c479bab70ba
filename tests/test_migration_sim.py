"""The 1,000-user version of bench/migration_sim.py (issue 15), in CI: a simulated month of a migration off a fake Auth0
tenant through the real gateway, on SQLite and on PostgreSQL. The script asserts the migration's guarantees (every user
who logged in is migrated, none lost or duplicated, no right password refused outside injected faults, the report's
counts equal what happened) and exits 1 otherwise; this test runs it and reads its summary.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import BIN_DIR, REPO


@pytest.mark.parametrize("store, days", [("sqlite", 30), ("postgres", 15)])
def test_a_simulated_migration_of_1000_users_loses_nobody_and_the_report_agrees(store, days):
    if store == "postgres" and not os.environ.get("GANGWAY_TEST_POSTGRES_URL"):
        if os.environ.get("GANGWAY_REQUIRE_POSTGRES") == "1" or os.environ.get("CI") == "true":
            pytest.fail("GANGWAY_TEST_POSTGRES_URL is not set (scripts/test.sh starts PostgreSQL)")
        pytest.skip("no PostgreSQL server (source scripts/postgres.sh)")
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "migration_sim.py"), "--users", "1000", "--days", str(days), "--store", store,
         "--seed", "7"],
        capture_output=True, text=True, timeout=900, env={**os.environ, "GANGWAY_BIN_DIR": str(BIN_DIR)})
    assert run.stdout.strip(), run.stderr[-5000:]
    summary = json.loads(run.stdout.strip().splitlines()[-1])
    assert run.returncode == 0 and summary["ok"], (summary["problems"], run.stderr[-3000:])
    did = summary["did"]
    assert summary["migrate_steps"]["users"]["created"] == 1000
    assert did["migrated"] > 100 and did["reminted"] > 20 and did["fault_failures"] > 0, did
    assert summary["report"]["users"]["completed"] == did["migrated"]
