#!/usr/bin/env python3
"""A migration off Auth0, simulated end to end (issue 15) through the real gateway.

A fake upstream Auth0 tenant (tests/fake_auth0.py) holds USERS users whose password hashes Gangway never sees, three
applications (a confidential web app holding the password-realm grant, an SPA, a machine-to-machine app) and
Auth0 refresh tokens for a third of the users. `gangway migrate from-auth0` copies the tenant (users pending); then a
simulated month of logins and refreshes runs through `gangway serve` with a long-tail activity distribution (each
user's daily chance of coming back follows a Pareto weight: a few come daily, most rarely or never), and on two days
(the first, and one mid-month) the upstream fails for 5% of the requests (503s, dropped connections, a timeout).

It asserts, and exits 1 when one does not hold:
- every user who logged in (or refreshed) successfully is migrated: with the upstream down, each still logs in;
- zero duplicate users and zero lost users (the Management API lists exactly USERS users, each once);
- nobody is told "wrong password" for the right password except during the injected faults (those are counted);
- the migration report's counts equal what the simulation did (completions, re-mints, upstream failures, legacy calls).
It prints the report's forecast next to what happened. The gateway's clock is real, so the simulated days all fall on
today's date in the report: its per-day rate is the whole run's, and the forecast says when the rest would follow at
that rate, which the simulation's own day-by-day completions are printed beside.

    bench/migration_sim.py [--users 10000] [--days 30] [--store sqlite|postgres] [--workers 4] [--seed 1]

Needs the Gangway binaries (GANGWAY_BIN_DIR, default .build/release, else .build/debug) and, for --store postgres,
GANGWAY_TEST_POSTGRES_URL (scripts/postgres.sh). Prints a JSON summary as its last line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from fake_auth0 import FakeAuth0  # noqa: E402

REALM_GRANT = "http://auth0.com/oauth/grant-type/password-realm"
CONNECTION = "Username-Password-Authentication"
FAULT_MODES = ("503", "drop", "503", "drop", "slow")  # a timeout now and then: the fallback's 3 s budget runs out


def binaries() -> Path:
    if os.environ.get("GANGWAY_BIN_DIR"):
        return Path(os.environ["GANGWAY_BIN_DIR"])
    for kind in ("release", "debug"):
        if (REPO / ".build" / kind / "gangway").exists() and (REPO / ".build" / kind / "token").exists():
            return REPO / ".build" / kind
    sys.exit("migration_sim: no Gangway build (set GANGWAY_BIN_DIR)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Simulation:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.bin = binaries()
        self.work = Path(tempfile.mkdtemp(prefix="gangway-sim-"))
        self.lock = threading.Lock()
        self.migrated: set[str] = set()  # emails whose password the gateway now checks locally
        self.reminted: set[str] = set()
        self.completions_by_day: list[int] = []
        self.counts = {"logins": 0, "refreshes": 0, "fault_failures": 0, "wrong_password_outside_faults": 0,
                       "upstream_failure_events": 0, "legacy_calls": 0, "errors": 0}
        self.faulting = False

    # --- set-up ---------------------------------------------------------------------------------------------------

    def gangway(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        run = subprocess.run([str(self.bin / "gangway"), *args, "--store", self.store], capture_output=True, text=True, timeout=1800)
        if check and run.returncode != 0:
            raise SystemExit(f"gangway {' '.join(args)}: {run.returncode}\n{run.stdout}\n{run.stderr}")
        return run

    def start(self, fake: FakeAuth0) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}/"
        if self.args.store == "postgres":
            url = os.environ.get("GANGWAY_TEST_POSTGRES_URL") or sys.exit("migration_sim: --store postgres needs GANGWAY_TEST_POSTGRES_URL")
            self.store = url + ("&" if "?" in url else "?") + "schema=sim_" + uuid.uuid4().hex[:12]
        else:
            self.store = f"sqlite:{self.work / 'gangway.db'}"
        env = {**os.environ, "GANGWAY_SECRET_KEY": os.environ.get("GANGWAY_SECRET_KEY") or
               __import__("base64").urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")}
        os.environ["GANGWAY_SECRET_KEY"] = env["GANGWAY_SECRET_KEY"]
        self.init = json.loads(self.gangway("init", "--issuer", self.base, "--json").stdout)
        self.server = subprocess.Popen(
            [str(self.bin / "gangway"), "serve", "--port", str(self.port), "--store", self.store, "--mode", "warm",
             "--workers", str(max(2, self.args.workers)), "--routes", str(REPO / "infra" / "routes.json"),
             "--functions-dir", str(self.bin)],
            stdout=open(self.work / "serve.out", "w"), stderr=open(self.work / "serve.err", "w"), env=env, cwd=str(self.work))
        deadline = time.monotonic() + 60
        while "gangway listening on" not in (self.work / "serve.out").read_text():
            if time.monotonic() > deadline or self.server.poll() is not None:
                raise SystemExit("migration_sim: the gateway did not start:\n" + (self.work / "serve.err").read_text()[-3000:])
            time.sleep(0.05)
        self.http = requests.Session()
        self.http.mount("http://", requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=self.args.workers * 2))

    def seed_upstream(self, fake: FakeAuth0) -> None:
        fake.add_management_client("migrator", "sim-migrator-secret-0123456789", None)
        self.web = fake.add_application(
            name="Web", app_type="regular_web", client_id=fake.state.client_id, client_secret=fake.state.client_secret,
            callbacks=["https://web.example/callback"], token_endpoint_auth_method="client_secret_post",
            grant_types=["authorization_code", "refresh_token", "password", REALM_GRANT])
        fake.add_application(name="SPA", app_type="spa", token_endpoint_auth_method="none", callbacks=["https://spa.example/cb"],
                             web_origins=["https://spa.example"], grant_types=["authorization_code", "refresh_token"])
        fake.add_application(name="Worker", app_type="non_interactive", grant_types=["client_credentials"],
                             token_endpoint_auth_method="client_secret_post")
        self.users = []
        for i in range(self.args.users):
            email = f"sim{i}-{uuid.uuid4().hex[:6]}@example.com"
            password = f"Sim-{i}-{uuid.uuid4().hex[:8]}!"
            profile = fake.add_export_user(CONNECTION, email=email, password=password, name=f"Sim User {i}")
            # Long tail: a Pareto weight per user (alpha 1.16, the 80/20 shape).
            weight = self.rng.paretovariate(1.16)
            refresh = None
            if i % 3 == 0:
                refresh = "up_rt_" + uuid.uuid4().hex + uuid.uuid4().hex
                fake.add_refresh_token(refresh, profile["user_id"], client_id=self.web["client_id"])
            self.users.append({"email": email, "password": password, "sub": profile["user_id"], "weight": weight, "refresh": refresh})
        mean = sum(u["weight"] for u in self.users) / len(self.users)
        for u in self.users:
            # About 4% of users come on an average day; the most active come every day.
            u["daily"] = min(0.95, 0.04 * u["weight"] / mean)

    # --- the month --------------------------------------------------------------------------------------------------

    def post_token(self, body: dict) -> requests.Response:
        return self.http.post(self.base + "oauth/token", data=body, timeout=30)

    def visit(self, user: dict, day: int) -> None:
        web = self.web
        faulting = self.faulting
        if user["refresh"] and user["email"] not in self.reminted:
            r = self.post_token({"grant_type": "refresh_token", "refresh_token": user["refresh"], "client_id": web["client_id"],
                                 "client_secret": web["client_secret"]})
            with self.lock:
                self.counts["refreshes"] += 1
                if r.status_code == 200:
                    self.reminted.add(user["email"])
                elif faulting:
                    self.counts["fault_failures"] += 1
                    self.counts["upstream_failure_events"] += 1
                else:
                    self.counts["errors"] += 1
        r = self.post_token({"grant_type": REALM_GRANT, "realm": CONNECTION, "username": user["email"], "password": user["password"],
                             "client_id": web["client_id"], "client_secret": web["client_secret"], "scope": "openid"})
        with self.lock:
            self.counts["logins"] += 1
            if r.status_code == 200:
                if user["email"] not in self.migrated:
                    self.migrated.add(user["email"])
                    self.completions_by_day[day] += 1
            elif r.status_code == 403 and faulting and user["email"] not in self.migrated:
                self.counts["fault_failures"] += 1
                self.counts["upstream_failure_events"] += 1
            elif r.status_code == 403:
                self.counts["wrong_password_outside_faults"] += 1
            else:
                self.counts["errors"] += 1

    def month(self, fake: FakeAuth0) -> None:
        # Faults on the first day (nobody has migrated yet, so every visit in the window needs the upstream) and mid-month.
        fault_days = {0, self.args.days // 2}
        with ThreadPoolExecutor(self.args.workers) as pool:
            for day in range(self.args.days):
                self.completions_by_day.append(0)
                active = [u for u in self.users if self.rng.random() < u["daily"]]
                self.rng.shuffle(active)
                # On the fault day the upstream fails for the middle 5% of the day's visits, one fault mode per slice.
                window = range(len(active) // 2, len(active) // 2 + max(1, len(active) // 20)) if day in fault_days else range(0)
                i = 0
                while i < len(active):
                    if i in window:
                        j = window.stop
                        slices = [active[k:k + max(1, len(window) // len(FAULT_MODES))] for k in range(i, j, max(1, len(window) // len(FAULT_MODES)))]
                        for n, part in enumerate(slices):
                            fake.set_mode(token=FAULT_MODES[n % len(FAULT_MODES)])
                            self.faulting = True
                            list(pool.map(lambda u: self.visit(u, day), part))
                        fake.set_mode(token="ok")
                        self.faulting = False
                        i = j
                        continue
                    batch = active[i:min(len(active), window.start if i < window.start else len(active), i + 200)]
                    list(pool.map(lambda u: self.visit(u, day), batch))
                    i += len(batch)
                # One old widget still calls a legacy endpoint every day.
                self.http.post(self.base + "oauth/ro", json={"client_id": "old-widget", "username": "u", "password": "p"}, timeout=10)
                self.counts["legacy_calls"] += 1

    # --- the checks ---------------------------------------------------------------------------------------------------

    def management(self, path: str, scope: str) -> requests.Response:
        m2m = self.init["management"]
        token = self.post_token({"grant_type": "client_credentials", "client_id": m2m["client_id"], "client_secret": m2m["client_secret"],
                                 "audience": self.base + "api/v2/"}).json()["access_token"]
        del scope  # the M2M application of `gangway init` holds every Management API scope
        return self.http.get(self.base + "api/v2/" + path, headers={"Authorization": "Bearer " + token}, timeout=60)

    def check(self, fake: FakeAuth0) -> list[str]:
        problems = []
        # No user lost, none twice.
        ids, emails, page = [], [], 0
        while True:
            r = self.management(f"users?per_page=100&page={page}&include_totals=true", "read:users")
            body = r.json()
            ids += [u["user_id"] for u in body["users"]]
            emails += [u.get("email") for u in body["users"]]
            if len(body["users"]) < 100:
                break
            page += 1
        if len(ids) != len(set(ids)) or len(emails) != len(set(emails)):
            problems.append(f"duplicate users: {len(ids)} ids, {len(set(ids))} distinct; {len(set(emails))} distinct emails")
        if set(emails) != {u["email"] for u in self.users}:
            problems.append(f"users lost or unexpected: {len(set(emails))} local, {len(self.users)} upstream")
        # Every migrated user logs in with the upstream down: its password is checked locally now.
        fake.set_mode(token="503")
        by_email = {u["email"]: u for u in self.users}

        def local_login(email: str) -> int:
            u = by_email[email]
            return self.post_token({"grant_type": REALM_GRANT, "realm": CONNECTION, "username": email, "password": u["password"],
                                    "client_id": self.web["client_id"], "client_secret": self.web["client_secret"]}).status_code
        with ThreadPoolExecutor(self.args.workers) as pool:
            statuses = list(pool.map(local_login, sorted(self.migrated)))
        fake.set_mode(token="ok")
        not_local = sum(1 for s in statuses if s != 200)
        if not_local:
            problems.append(f"{not_local} migrated users could not log in with the upstream down")
        if self.counts["wrong_password_outside_faults"]:
            problems.append(f"{self.counts['wrong_password_outside_faults']} right passwords answered as wrong outside the faults")
        if self.counts["errors"]:
            problems.append(f"{self.counts['errors']} unexpected answers")
        # The report agrees with what happened (the down-upstream check above added its failures: one per migrated user,
        # none, since those logins were local).
        self.report = self.management("migration/report?days=7", "read:migration_report").json()
        users, totals = self.report["users"], self.report["totals"]
        expect = {
            "imported pending": (users["imported_pending"], len(self.users)),
            "completed": (users["completed"], len(self.migrated)),
            "pending": (users["pending"], len(self.users) - len(self.migrated)),
            "re-mints": (totals["refresh_remints"], len(self.reminted)),
            "upstream failures": (sum(totals["upstream_failures"].values()), self.counts["upstream_failure_events"]),
            # Legacy calls are counted from `depnote`, written once an hour per application and endpoint.
            "legacy notices": (self.report["decommission"]["legacy_calls_last_7_days"], min(1, self.counts["legacy_calls"])),
        }
        for name, (reported, did) in expect.items():
            if reported != did:
                problems.append(f"report {name}: {reported}, the simulation did {did}")
        return problems

    def stop(self) -> None:
        if getattr(self, "server", None) and self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            try:
                self.server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.server.kill()
        shutil.rmtree(self.work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.monotonic()
    sim = Simulation(args)
    with FakeAuth0(client_id="sim-web-" + uuid.uuid4().hex[:8], client_secret="sim-web-secret-" + uuid.uuid4().hex) as fake:
        try:
            sim.seed_upstream(fake)
            sim.start(fake)
            t0 = time.monotonic()
            migrate = sim.gangway("migrate", "from-auth0", "--domain", fake.base, "--client-id", "migrator",
                                  "--client-secret", "sim-migrator-secret-0123456789", "--fallback-client", sim.web["client_id"],
                                  "--tenant", sim.base)
            migrate_seconds = time.monotonic() - t0
            t0 = time.monotonic()
            sim.month(fake)
            month_seconds = time.monotonic() - t0
            problems = sim.check(fake)
        finally:
            sim.stop()
    cumulative, share = 0, []
    for n in sim.completions_by_day:
        cumulative += n
        share.append(round(cumulative / len(sim.users), 3))
    forecast = sim.report["forecast"]
    summary = {
        "ok": not problems, "problems": problems, "store": args.store, "users": args.users, "days": args.days,
        "seconds": {"total": round(time.monotonic() - started, 1), "migrate": round(migrate_seconds, 1), "month": round(month_seconds, 1)},
        "did": {**sim.counts, "migrated": len(sim.migrated), "reminted": len(sim.reminted)},
        "migrate_steps": {s["name"]: {k: s[k] for k in ("created", "unchanged", "failed")} for s in json.loads(migrate.stdout)["steps"]},
        "report": {"users": sim.report["users"], "totals": sim.report["totals"]},
        "forecast": {"report": {k: forecast[k] for k in ("rate_per_day", "p95", "p99")},
                     "actual_share_migrated_by_simulated_day": share},
    }
    print(f"migration_sim: {args.users} users, {args.days} days on {args.store}: {len(sim.migrated)} migrated, "
          f"{len(sim.reminted)} re-minted, {sim.counts['fault_failures']} failures during faults, "
          f"{len(problems)} problems, {summary['seconds']['total']} s", file=sys.stderr)
    for p in problems:
        print("  PROBLEM: " + p, file=sys.stderr)
    print(json.dumps(summary))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
