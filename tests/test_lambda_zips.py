"""Lambda zips that load on provided.al2023 (issue 17): what infra/package.sh makes, checked as Lambda would load it.

- Every function's `bootstrap` needs no glibc symbol newer than 2.34 (Amazon Linux 2023's glibc) and no shared
  library beyond glibc's own and libgcc_s; package.sh refuses a binary that does.
- The layer (dist/gangway-libs-layer.zip, /opt/lib on Lambda) holds libcurl and libpq and everything they load
  beyond glibc, each within glibc 2.34 too.
- Each bootstrap runs from its zip in a root that holds only this machine's glibc, the zip and the layer
  (`chroot`, LD_LIBRARY_PATH=/var/task:/opt/lib as on Lambda), against a Lambda Runtime API emulator (below: AWS's
  API, so a fake), with a PostgreSQL store; the token function's password fallback makes a real upstream call
  (libcurl from the layer) to the fake Auth0.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import uuid
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from fake_auth0 import PASSWORD_REALM, FakeAuth0

from conftest import GANGWAY, REPO, ROUTES

INFRA = REPO / "infra"
RELEASE_BIN_DIR = Path(os.environ.get("GANGWAY_RELEASE_BIN_DIR", str(REPO / ".build" / "release")))
PG_URL = os.environ.get("GANGWAY_TEST_POSTGRES_URL", "")
TARGET_GLIBC = (2, 34)
# glibc's own libraries and libgcc_s: what the Lambda base image is sure to have.
BASE_LIBRARIES = {"libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libresolv.so.2",
                  "libgcc_s.so.1", "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}
HOST = "zips.test"
UPSTREAM_SECRET = "upstream-secret-" + uuid.uuid4().hex


def functions() -> list[str]:
    return list(json.loads(ROUTES.read_text())["functions"])


def glibc_versions(path: Path) -> set[tuple[int, ...]]:
    """Every GLIBC_x.y symbol version a binary's dynamic symbols name."""
    out = subprocess.run(["objdump", "-T", str(path)], capture_output=True, text=True, check=True).stdout
    return {tuple(int(p) for p in v.split(".")) for v in re.findall(r"GLIBC_(\d+(?:\.\d+)+)", out)}


def needed(path: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(path)], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", out)


def run_package(dist: Path, bin_dir: Path, names: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, GANGWAY_FUNCTIONS=" ".join(names), GANGWAY_DIST_DIR=str(dist), GANGWAY_SKIP_BUILD="1",
               GANGWAY_RELEASE_BIN_DIR=str(bin_dir))
    return subprocess.run(["bash", str(INFRA / "package.sh")], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=600)


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    for name in functions():
        assert (RELEASE_BIN_DIR / name).exists(), f"{RELEASE_BIN_DIR / name} missing: build release first (scripts/test.sh does)"
    out = tmp_path_factory.mktemp("dist")
    result = run_package(out, RELEASE_BIN_DIR, functions())
    assert result.returncode == 0, result.stderr
    return out


# --- what the zips need ----------------------------------------------------------------------------------------


def test_every_function_needs_glibc_2_34_at_most_and_no_library_beyond_glibc_and_libgcc(dist, tmp_path):
    for name in functions():
        with zipfile.ZipFile(dist / f"{name}.zip") as z:
            assert z.namelist() == ["bootstrap"], name
            bootstrap = tmp_path / name
            bootstrap.write_bytes(z.read("bootstrap"))
        newest = max(glibc_versions(bootstrap))
        assert newest <= TARGET_GLIBC, f"{name} needs GLIBC_{'.'.join(map(str, newest))}"
        assert set(needed(bootstrap)) <= BASE_LIBRARIES, (name, needed(bootstrap))
        assert "libstdc++.so.6" not in needed(bootstrap), "the C++ runtime is linked in"


def test_the_layer_holds_libcurl_and_libpq_and_everything_they_load_beyond_glibc(dist, tmp_path):
    with zipfile.ZipFile(dist / "gangway-libs-layer.zip") as z:
        z.extractall(tmp_path)
        names = {Path(n).name for n in z.namelist()}
        assert all(n.startswith("lib/") for n in z.namelist()), "Lambda puts a layer's lib/ on LD_LIBRARY_PATH"
    assert {"libcurl.so.4", "libpq.so.5"} <= names
    for lib in (tmp_path / "lib").iterdir():
        missing = [n for n in needed(lib) if n not in names and n not in BASE_LIBRARIES]
        assert not missing, f"{lib.name} needs {missing}, neither in the layer nor in glibc"
        assert max(glibc_versions(lib), default=(2, 0)) <= TARGET_GLIBC, lib.name


def compile_c(tmp_path: Path, name: str, source: str, *flags: str) -> Path:
    cc = shutil.which("clang") or shutil.which("cc")
    if cc is None:
        pytest.skip("no C compiler")
    src = tmp_path / f"{name}.c"
    src.write_text(source)
    exe = tmp_path / "bin" / name
    exe.parent.mkdir(exist_ok=True)
    subprocess.run([cc, "-O1", "-o", str(exe), str(src), *flags], check=True, capture_output=True)
    return exe


def test_package_refuses_a_binary_that_needs_a_newer_glibc(tmp_path):
    exe = compile_c(tmp_path, "newer", "#include <stdlib.h>\nint main(void) { char b[8]; arc4random_buf(b, 8); return b[0]; }\n")
    if max(glibc_versions(exe)) <= TARGET_GLIBC:
        pytest.skip("this machine's glibc has no arc4random_buf after 2.34")
    result = run_package(tmp_path / "dist", exe.parent, ["newer"])
    assert result.returncode != 0
    assert "needs GLIBC_2.36" in result.stderr and "arc4random_buf" in result.stderr, result.stderr
    assert not (tmp_path / "dist" / "newer.zip").exists()


def test_package_refuses_a_binary_that_needs_a_library_lambda_may_lack(tmp_path):
    exe = compile_c(tmp_path, "zlib", "#include <zlib.h>\nint main(void) { return zlibVersion()[0] == 0; }\n", "-lz")
    result = run_package(tmp_path / "dist", exe.parent, ["zlib"])
    assert result.returncode != 0
    assert "beyond glibc and libgcc_s: libz.so.1" in result.stderr, result.stderr


# --- each bootstrap in a root with glibc, its zip and the layer only -------------------------------------------


class RuntimeAPI:
    """AWS Lambda's Runtime API (2018-06-01), as much as a custom runtime uses: `next` hands out queued events
    (long poll), `response` / `error` answer them."""

    def __init__(self):
        self.events: queue.Queue = queue.Queue()
        self.answers: dict[str, queue.Queue] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def handle(self):
                try:
                    super().handle()
                except (ConnectionResetError, BrokenPipeError):
                    pass  # a bootstrap killed while it waited for `next`

            def reply(self, status: int, body: bytes = b"{}", headers: dict | None = None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path != "/2018-06-01/runtime/invocation/next":
                    return self.reply(404)
                request_id, event = api.events.get()
                self.reply(200, json.dumps(event).encode(), {
                    "lambda-runtime-aws-request-id": request_id, "lambda-runtime-deadline-ms": "9999999999999",
                    "lambda-runtime-invoked-function-arn": "arn:aws:lambda:eu-west-1:000000000000:function:zips",
                })

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                match = re.fullmatch(r"/2018-06-01/runtime/invocation/([^/]+)/(response|error)", self.path)
                if not match or match.group(1) not in api.answers:
                    return self.reply(404)
                api.answers[match.group(1)].put((match.group(2), body))
                self.reply(202)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def invoke(self, event: dict, timeout: float = 30) -> dict:
        """Queues the event and waits for its answer. (One emulator per process: a `next` that a killed process left
        waiting would take the following event.)"""
        request_id = str(uuid.uuid4())
        self.answers[request_id] = queue.Queue()
        self.events.put((request_id, event))
        kind, body = self.answers[request_id].get(timeout=timeout)
        assert kind == "response", body
        return json.loads(body)

    def close(self):
        self.server.shutdown()


def interpreter(binary: Path) -> str:
    out = subprocess.run(["readelf", "-l", str(binary)], capture_output=True, text=True, check=True).stdout
    return re.search(r"Requesting program interpreter: (.+?)\]", out).group(1)


def system_library(soname: str) -> Path | None:
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] == soname and ("x86-64" in line or "AArch64" in line):
            return Path(parts[-1])
    return None


def copy_into(root: Path, path: Path):
    target = root / str(path).lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path.resolve(), target)
    target.chmod(0o755)


@pytest.fixture(scope="module")
def lambda_root(dist, tmp_path_factory) -> Path:
    """/var/task/<function>/ (each zip), /opt (the layer), and this machine's glibc + libgcc_s: nothing else."""
    if not PG_URL:
        if os.environ.get("GANGWAY_REQUIRE_POSTGRES") == "1":
            raise RuntimeError("GANGWAY_REQUIRE_POSTGRES=1 but GANGWAY_TEST_POSTGRES_URL is not set")
        pytest.skip("GANGWAY_TEST_POSTGRES_URL not set (source scripts/postgres.sh)")
    if os.geteuid() != 0:
        pytest.skip("chroot and a mount namespace need root (CI runs as root)")
    root = tmp_path_factory.mktemp("lambda-root")
    for name in functions():
        with zipfile.ZipFile(dist / f"{name}.zip") as z:
            z.extractall(root / "var" / "task" / name)
        (root / "var" / "task" / name / "bootstrap").chmod(0o755)  # zipfile does not restore modes
    with zipfile.ZipFile(dist / "gangway-libs-layer.zip") as z:
        z.extractall(root / "opt")
    # The layer less libcurl, for the test that shows where libcurl comes from.
    (root / "opt-without-libcurl" / "lib").mkdir(parents=True)
    for lib in (root / "opt" / "lib").iterdir():
        if lib.name != "libcurl.so.4":
            (root / "opt-without-libcurl" / "lib" / lib.name).symlink_to(f"/opt/lib/{lib.name}")
    copy_into(root, Path(interpreter(root / "var" / "task" / "token" / "bootstrap")))
    for soname in BASE_LIBRARIES:
        if path := system_library(soname):
            copy_into(root, path.parent / soname)
    (root / "tmp").mkdir()
    (root / "proc").mkdir()
    return root


@pytest.fixture(scope="module")
def world(lambda_root):
    """A tenant in its own PostgreSQL schema, the Runtime API, the fake upstream Auth0, and a way to run a
    function's bootstrap inside the root for a few invocations."""
    store = PG_URL + ("&" if "?" in PG_URL else "?") + f"schema=zips_{uuid.uuid4().hex[:10]}"
    secret_key = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
    init = subprocess.run([str(GANGWAY), "init", "--store", store, "--issuer", f"https://{HOST}/", "--json"],
                          capture_output=True, text=True, env=dict(os.environ, GANGWAY_SECRET_KEY=secret_key), timeout=60)
    assert init.returncode == 0, init.stderr
    with FakeAuth0(client_secret=UPSTREAM_SECRET) as fake:
        yield World(lambda_root, fake, store, secret_key, json.loads(init.stdout))


class World:
    def __init__(self, root: Path, fake: FakeAuth0, store: str, secret_key: str, init: dict):
        self.root, self.fake, self.store, self.secret_key, self.init = root, fake, store, secret_key, init

    def start(self, api: RuntimeAPI, function: str, layer: str = "/opt/lib") -> subprocess.Popen:
        """The function's bootstrap as Lambda starts it: its own directory as the task root, the layer's lib/ on
        LD_LIBRARY_PATH, the Runtime API's address, the store and key in the environment."""
        task = f"/var/task/{function}"
        env = {
            "AWS_LAMBDA_RUNTIME_API": api.address, "LAMBDA_TASK_ROOT": task, "AWS_LAMBDA_FUNCTION_NAME": function,
            "LD_LIBRARY_PATH": f"{task}:{layer}", "GANGWAY_STORE": self.store,
            "GANGWAY_SECRET_KEY": self.secret_key, "GANGWAY_LOG_LEVEL": "warning", "PATH": "/usr/bin:/bin",
            "TZ": "UTC",
        }
        # Lambda's sandbox has /proc (the Swift runtime reads it: without it a function sometimes traps at start):
        # a mount namespace of the process's own gets this machine's /proc inside the root, and takes it away
        # when the process ends.
        enter = 'mount --bind /proc "$0/proc" && exec "$1" "$0" "$2"'
        command = [shutil.which("unshare") or "/usr/bin/unshare", "--mount", "--fork", "--kill-child", "/bin/sh", "-c", enter,
                   str(self.root), shutil.which("chroot") or "/usr/sbin/chroot", f"{task}/bootstrap"]
        return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def call(self, function: str, event: dict, layer: str = "/opt/lib") -> tuple[dict, str]:
        api = RuntimeAPI()
        proc = self.start(api, function, layer)
        try:
            response = api.invoke(event)
        except queue.Empty:
            response = None
        finally:
            proc.kill()
            _, err = proc.communicate(timeout=10)
            api.close()
        assert response is not None, f"{function} gave no answer in time (exit {proc.returncode}): {err.decode(errors='replace')}"
        return response, err.decode(errors="replace")

    @functools.cached_property
    def management_token(self) -> str:
        """One Management API token for the module's tests (signed once: each signing is a `gangway` process)."""
        m2m = self.init["management"]["client_id"]
        scopes = ("read:users update:users create:users read:connections update:connections read:logs read:clients "
                  "read:resource_servers read:client_grants read:migration_sources create:users_imports "
                  "read:migration_report")
        claims = {"sub": f"{m2m}@clients", "aud": f"https://{HOST}/api/v2/", "scope": scopes, "azp": m2m,
                  "gty": "client-credentials"}
        env_key = dict(os.environ, GANGWAY_SECRET_KEY=self.secret_key)
        out = subprocess.run([str(GANGWAY), "jwt", "sign", "--store", self.store, "--tenant", f"https://{HOST}/", "--type",
                              "at+jwt", "--claims", json.dumps(claims)], capture_output=True, text=True, env=env_key,
                             timeout=60)
        assert out.returncode == 0, out.stderr
        return out.stdout.strip()


def event(method: str, path: str, body: dict | None = None, token: str | None = None, route_key: str | None = None,
          parameters: dict | None = None) -> dict:
    headers = {"host": HOST}
    if token:
        headers["authorization"] = f"Bearer {token}"
    if body is not None:
        headers["content-type"] = "application/json"
    return {
        "version": "2.0", "routeKey": route_key or f"{method} {path}", "rawPath": path, "rawQueryString": "",
        "headers": headers,
        "requestContext": {"domainName": HOST, "requestId": str(uuid.uuid4()), "timeEpoch": 0,
                           "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.9",
                                    "userAgent": "zips"}},
        "pathParameters": parameters, "body": json.dumps(body) if body is not None else None, "isBase64Encoded": False,
    }


def first_routes() -> dict[str, dict]:
    """Each function's first GET route (its first route when it has no GET), `{id}` filled in."""
    chosen: dict[str, dict] = {}
    for route in json.loads(ROUTES.read_text())["routes"]:
        current = chosen.get(route["function"])
        if current is None or (current["method"] != "GET" and route["method"] == "GET"):
            chosen[route["function"]] = route
    return chosen


@pytest.mark.parametrize("function", functions())
def test_each_bootstrap_answers_from_its_zip_with_only_glibc_and_the_layer(world, function):
    """The bootstrap loads (no library from this machine but glibc), reads the tenant from PostgreSQL (libpq from
    the layer) and answers through the Runtime API; no 5xx."""
    route = first_routes().get(function)
    if route is None:  # the scheduled functions: EventBridge's event
        spec = json.loads(ROUTES.read_text())["functions"][function]
        assert spec.get("scheduleSeconds"), function
        response, err = world.call(function, event("POST", "/", route_key=f"SCHEDULE {function}"))
        assert response["statusCode"] == 200, (response, err)
        return
    path = re.sub(r"\{[^}]+\}", "zz", route["path"])
    response, err = world.call(function, event(route["method"], path, token=world.management_token))
    assert isinstance(response.get("statusCode"), int) and response["statusCode"] < 500, (response, err)
    if function == "well-known":
        keys = json.loads(response["body"])["keys"]
        assert response["statusCode"] == 200 and keys and all("d" not in k for k in keys), "the tenant's key, from PostgreSQL"


def test_a_password_fallback_login_calls_the_upstream_through_the_layers_libcurl(world):
    """connections (PATCH) turns the password fallback on; token then logs in a user only the fake upstream knows:
    libcurl is dlopen'ed from /opt/lib. With a layer that lacks libcurl the same login cannot reach the upstream
    (the root has no other libcurl), which shows the layer is what carries it."""
    connection = world.init["connection"]["id"]
    configuration = {"token_endpoint": world.fake.base + "/oauth/token", "userinfo_endpoint": world.fake.base + "/userinfo",
                     "client_id": "upstream-client", "client_secret": UPSTREAM_SECRET}
    patched, err = world.call("connections", event(
        "PATCH", f"/api/v2/connections/{connection}", {"options": {"import_mode": True, "configuration": configuration}},
        token=world.management_token, route_key="PATCH /api/v2/connections/{id}", parameters={"id": connection}))
    assert patched["statusCode"] == 200, (patched, err)

    app = world.init["app"]

    def login(email: str, password: str, layer: str = "/opt/lib") -> tuple[dict, str]:
        return world.call("token", event("POST", "/oauth/token", {
            "grant_type": PASSWORD_REALM, "realm": "Username-Password-Authentication", "username": email,
            "password": password, "client_id": app["client_id"], "client_secret": app["client_secret"], "scope": "openid",
        }), layer=layer)

    stranded = f"stranded-{uuid.uuid4().hex[:8]}@example.com"
    world.fake.add_user(email=stranded, password="Upstream-Pa55!", sub=f"auth0|{uuid.uuid4().hex[:12]}")
    refused, err = login(stranded, "Upstream-Pa55!", layer="/opt-without-libcurl/lib")
    assert refused["statusCode"] == 403 and not world.fake.calls("/oauth/token"), (refused, err)
    # The function answered (no crash), and the tenant's log says why the upstream was not asked.
    logs, err = world.call("logs", event("GET", "/api/v2/logs", token=world.management_token))
    failed = [e for e in json.loads(logs["body"]) if e.get("user_name") == stranded]
    assert failed and "libcurl" in json.dumps(failed[0].get("details")), (failed, err)

    email = f"zips-{uuid.uuid4().hex[:8]}@example.com"
    world.fake.add_user(email=email, password="Upstream-Pa55!", sub=f"auth0|{uuid.uuid4().hex[:12]}")
    answered, err = login(email, "Upstream-Pa55!")
    assert answered["statusCode"] == 200, (answered, err)
    assert "access_token" in json.loads(answered["body"])
    assert [c for c in world.fake.calls("/oauth/token") if c.get("body", {}).get("username") == email], "the upstream was asked"
