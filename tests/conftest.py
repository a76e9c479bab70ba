"""Fixtures for checking Gangway against outside clients (joserfc, PyJWT, auth0-python).

Everything runs against the prebuilt debug binaries (env GANGWAY_BIN_DIR, default /work/main/.build/debug):
`gangway init` makes a tenant in a temp sqlite store, `gangway serve` runs the gateway in front of the
function executables, and the `gangway jwt|keys` commands are driven through `Gangway` below.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parent.parent
BIN_DIR = Path(os.environ.get("GANGWAY_BIN_DIR", str(REPO / ".build" / "debug")))
GANGWAY = BIN_DIR / "gangway"
ROUTES = REPO / "infra" / "routes.json"

LISTEN_TIMEOUT = 30.0
# How long teardown gives the gateway to exit on SIGTERM before it is killed.
STOP_TIMEOUT = float(os.environ.get("GANGWAY_TEST_STOP_TIMEOUT", "5"))


def free_port() -> int:
    """A loopback port nobody listens on, below the kernel's ephemeral range.

    Port 0 would hand out an ephemeral port, and the warm workers' Runtime API listeners (and every outgoing
    connection) take ephemeral ports too: one of them could take ours between this call and the gateway's bind
    (CI saw "Address already in use"). Below the range, only another caller of this function competes.
    """
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0]) if Path(
        "/proc/sys/net/ipv4/ip_local_port_range").exists() else 32768
    rng = random.Random()
    for _ in range(200):
        port = rng.randrange(max(1024, low - 12000), low)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")


@dataclass
class CLIResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def error_code(self) -> str | None:
        """The `<code>` of a `<code>: <message>` line on stderr (jwt verify's failure format)."""
        line = self.stderr.strip().splitlines()[-1] if self.stderr.strip() else ""
        return line.split(":", 1)[0].strip() if ":" in line else None


def run_gangway(*args: str, check: bool = True, timeout: float = 60) -> CLIResult:
    proc = subprocess.run(
        [str(GANGWAY), *args], capture_output=True, text=True, timeout=timeout, cwd=str(REPO)
    )
    result = CLIResult(proc.returncode, proc.stdout, proc.stderr)
    if check and proc.returncode != 0:
        raise AssertionError(f"gangway {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return result


@dataclass
class Tenant:
    """A tenant made by `gangway init --json` in a store."""

    store: str
    issuer: str
    init: dict

    @property
    def client_id(self) -> str:
        return self.init["app"]["client_id"]

    # --- CLI helpers, always naming the tenant (a store may hold several) ---

    def sign(self, claims: dict | None = None, lifetime: int | None = None) -> str:
        args = ["jwt", "sign", "--store", self.store, "--tenant", self.issuer, "--claims", json.dumps(claims or {})]
        if lifetime is not None:
            args += ["--lifetime", str(lifetime)]
        return run_gangway(*args).stdout.strip()

    def verify(self, token: str, audience: str | None = None, tenant: str | None = None) -> CLIResult:
        args = ["jwt", "verify", token, "--store", self.store, "--tenant", tenant or self.issuer]
        if audience is not None:
            args += ["--audience", audience]
        return run_gangway(*args, check=False)

    def keys(self, *args: str) -> CLIResult:
        return run_gangway("keys", *args, "--store", self.store, "--tenant", self.issuer)


def init_tenant(store: str, issuer: str, domains: list[str] = ()) -> Tenant:
    args = ["init", "--store", store, "--issuer", issuer, "--json"]
    for d in domains:
        args += ["--domain", d]
    out = json.loads(run_gangway(*args).stdout)
    assert out["issuer"] == issuer, out
    return Tenant(store=store, issuer=issuer, init=out)


def processes_with_store(store: str) -> list[int]:
    """PIDs of live (non-zombie) processes whose environment has GANGWAY_STORE=<store>."""
    needle = f"GANGWAY_STORE={store}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        state = stat.rsplit(")", 1)[-1].split()[0]
        if state != "Z" and needle in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
    except OSError:
        return ""


@dataclass
class Gateway:
    """A running `gangway serve` process and the tenant it serves."""

    mode: str
    port: int
    tenant: Tenant
    workdir: Path
    functions_dir: Path = BIN_DIR
    workers: int = 1
    # Extra environment for the gateway (and so its function processes), over the test's own.
    env: dict[str, str] = field(default_factory=dict)
    # Extra `gangway serve` arguments (e.g. `--schedule-every`).
    args: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None
    stopped_cleanly: bool | None = None
    leftover_workers: list = field(default_factory=list)
    _files: list = field(default_factory=list)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def store(self) -> str:
        return self.tenant.store

    @property
    def jwks_url(self) -> str:
        return self.base + ".well-known/jwks.json"

    def get(self, path: str, host: str | None = None, **kw) -> requests.Response:
        headers = dict(kw.pop("headers", {}) or {})
        if host is not None:
            headers["Host"] = host
        return requests.get(self.base + path.lstrip("/"), headers=headers, timeout=15, **kw)

    def request(self, method: str, path: str, **kw) -> requests.Response:
        return requests.request(method, self.base + path.lstrip("/"), timeout=15, **kw)

    def jwks(self, host: str | None = None) -> dict:
        r = self.get("/.well-known/jwks.json", host=host)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.json()

    def start(self) -> None:
        out = open(self.workdir / f"serve-{self.mode}.out", "w+")
        err = open(self.workdir / f"serve-{self.mode}.err", "w+")
        self._files = [out, err]
        self.process = subprocess.Popen(
            [
                str(GANGWAY), "serve", "--port", str(self.port), "--store", self.store, "--mode", self.mode,
                "--workers", str(self.workers), "--routes", str(ROUTES), "--functions-dir", str(self.functions_dir),
                *self.args,
            ],
            stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=str(self.workdir), env={**os.environ, **self.env},
        )
        deadline = time.monotonic() + LISTEN_TIMEOUT
        while time.monotonic() < deadline:
            text = (self.workdir / f"serve-{self.mode}.out").read_text()
            if "gangway listening on" in text:
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        log = self.log()
        self.stop()
        raise RuntimeError(f"gangway serve ({self.mode}) did not report listening within {LISTEN_TIMEOUT}s:\n{log}")

    def log(self) -> str:
        return "".join(
            (self.workdir / f"serve-{self.mode}.{s}").read_text() for s in ("out", "err")
            if (self.workdir / f"serve-{self.mode}.{s}").exists()
        )

    def stop(self, timeout: float = STOP_TIMEOUT) -> None:
        """SIGTERM, then wait; SIGKILL if it does not exit. Records whether the SIGTERM sufficed.

        Afterwards no process of ours (the gateway's workers, found by their GANGWAY_STORE) is left running:
        stragglers are waited for briefly, then killed so one bad run cannot leak into the next.
        """
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
                self.stopped_cleanly = True
            except subprocess.TimeoutExpired:
                self.stopped_cleanly = False
                self.process.kill()
                self.process.wait(timeout=10)
        elif self.stopped_cleanly is None:
            self.stopped_cleanly = False  # it died on its own
        deadline = time.monotonic() + 5
        while processes_with_store(self.store) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.leftover_workers = [(pid, process_name(pid)) for pid in processes_with_store(self.store)]
        for pid, _ in self.leftover_workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for f in self._files:
            f.close()


@pytest.fixture(scope="session")
def gangway_bin() -> Path:
    if not GANGWAY.exists() or not (BIN_DIR / "well-known").exists():
        pytest.exit(f"Gangway binaries not found in {BIN_DIR} (set GANGWAY_BIN_DIR)", returncode=2)
    return GANGWAY


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def start_gateway(gangway_bin, tmp_path_factory):
    """Factory: a fresh store + `gangway init` + `gangway serve` in the given mode. Stopped at session end."""
    started: list[Gateway] = []

    def start(
        mode: str = "warm", functions_dir: Path | None = None, workers: int = 1, env: dict | None = None, args: list | None = None,
    ) -> Gateway:
        port = free_port()
        workdir = tmp_path_factory.mktemp(f"gw-{mode}")
        store = f"sqlite:{workdir / 'gangway.db'}"
        tenant = init_tenant(store, f"http://127.0.0.1:{port}/", [f"localhost:{port}"])
        gw = Gateway(
            mode=mode, port=port, tenant=tenant, workdir=workdir, functions_dir=functions_dir or BIN_DIR, workers=workers,
            env=env or {}, args=args or [],
        )
        started.append(gw)
        gw.start()
        return gw

    yield start
    for gw in started:
        gw.stop()


@pytest.fixture(scope="session")
def gateways(start_gateway):
    """One shared gateway per mode, started on first use."""
    cache: dict[str, Gateway] = {}

    def get(mode: str) -> Gateway:
        if mode not in cache:
            cache[mode] = start_gateway(mode)
        return cache[mode]

    return get


@pytest.fixture(params=["warm", "cgi"])
def any_gateway(request, gateways) -> Gateway:
    """The shared gateway, once per mode."""
    return gateways(request.param)


@pytest.fixture(scope="session")
def gateway(gateways) -> Gateway:
    """The shared warm-mode gateway."""
    return gateways("warm")


@pytest.fixture(scope="session")
def tenant(gateway) -> Tenant:
    return gateway.tenant
