"""Deployment artefacts (issue 6): the SAM template and the OpenAPI description agree with infra/routes.json,
pass their linters, infra/package.sh makes a Lambda zip, and the Lambda Runtime API driver survives an event
larger than GANGWAY_MAX_EVENT_BYTES.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import yaml

from conftest import REPO, ROUTES, process_name, processes_with_store

INFRA = REPO / "infra"
TEMPLATE = INFRA / "template.yaml"
OPENAPI = INFRA / "openapi.yaml"
VENV_BIN = Path(sys.executable).parent
RELEASE_BIN_DIR = Path(os.environ.get("GANGWAY_RELEASE_BIN_DIR", str(REPO / ".build" / "release")))
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def route_table() -> dict:
    return json.loads(ROUTES.read_text())


def routes() -> set[tuple[str, str, str]]:
    return {(r["method"].upper(), r["path"], r["function"]) for r in route_table()["routes"]}


# --- the SAM template ------------------------------------------------------------------------------------------


class CFNLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form tags (`!Ref X` → {"Ref": X}, `!Sub s` → {"Fn::Sub": s}, …)."""


def _cfn_tag(loader: CFNLoader, suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {"Fn::" + suffix: value}


CFNLoader.add_multi_constructor("!", _cfn_tag)


@pytest.fixture(scope="module")
def template() -> dict:
    return yaml.load(TEMPLATE.read_text(), Loader=CFNLoader)


def functions_in(template: dict) -> dict[str, tuple[str, dict]]:
    """routes.json function name → (logical id, properties), read from each function's CodeUri."""
    found = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        code_uri = resource["Properties"]["CodeUri"]
        assert code_uri.startswith("../dist/") and code_uri.endswith(".zip"), (logical_id, code_uri)
        name = code_uri[len("../dist/"):-len(".zip")]
        assert name not in found, f"two resources deploy {name}"
        found[name] = (logical_id, resource["Properties"])
    return found


def test_adding_a_function_is_its_folder_and_its_routes():
    """Package.swift builds one executable per folder under functions/ (it lists them itself); infra/routes.json
    must route to exactly those. The template and the OpenAPI description follow routes.json (tests below), so a
    new function is: functions/<name>/main.swift, its entries in routes.json, then `python3 infra/generate-template.py`
    and its paths in infra/openapi.yaml."""
    folders = {p.parent.name for p in (REPO / "functions").glob("*/main.swift")}
    table = route_table()
    assert folders == set(table["functions"]), "functions/ and infra/routes.json disagree"
    scheduled = {name for name, spec in table["functions"].items() if spec.get("scheduleSeconds")}
    assert {r["function"] for r in table["routes"]} == folders - scheduled, "a function without a route, or a route to nothing"
    # A scheduled function (the jobs worker, the store purge) answers no HTTP route: the schedule is its only way in.
    assert scheduled == {"jobs-worker", "store-purge"}
    assert not any(r["function"] in scheduled for r in table["routes"])


def test_committed_template_is_what_the_generator_makes():
    result = subprocess.run(
        [sys.executable, str(INFRA / "generate-template.py"), "--check"], capture_output=True, text=True, cwd=REPO
    )
    assert result.returncode == 0, result.stderr


def test_template_has_one_function_per_routes_json_function_with_its_limits(template):
    table = route_table()["functions"]
    deployed = functions_in(template)
    assert set(deployed) == set(table)
    for name, (logical_id, props) in deployed.items():
        assert props["MemorySize"] == table[name]["memoryMB"], logical_id
        assert props["Timeout"] == table[name]["timeoutSeconds"], logical_id
        assert template["Resources"][logical_id]["Metadata"]["GangwayFunction"] == name
    defaults = template["Globals"]["Function"]
    for name, (_, props) in deployed.items():
        assert props.get("Runtime", defaults["Runtime"]) == "provided.al2023", name
        assert props.get("Handler", defaults["Handler"]) == "bootstrap", name


def test_template_routes_are_exactly_the_route_table(template):
    apis = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::Serverless::HttpApi"]
    assert len(apis) == 1, apis
    deployed = set()
    for name, (logical_id, props) in functions_in(template).items():
        for event_id, event in (props.get("Events") or {}).items():
            if event["Type"] == "ScheduleV2":
                # Only the route table's scheduled functions, with the scheduler's event as input.
                assert route_table()["functions"][name].get("scheduleSeconds"), (logical_id, event_id)
                assert json.loads(event["Properties"]["Input"])["routeKey"] == f"SCHEDULE {name}"
                continue
            assert event["Type"] == "HttpApi", (logical_id, event_id)
            p = event["Properties"]
            assert p["ApiId"] == {"Ref": apis[0]}, (logical_id, event_id)
            assert p.get("PayloadFormatVersion", "2.0") == "2.0"
            key = (p["Method"].upper(), p["Path"], name)
            assert key not in deployed, f"route deployed twice: {key}"
            deployed.add(key)
    assert deployed == routes(), {"missing": routes() - deployed, "extra": deployed - routes()}


def test_template_purges_the_store_every_hour_and_gives_every_function_the_libraries_layer(template):
    """Expired records (refresh tokens, log events, sessions) are removed by the store-purge function on an hourly
    EventBridge schedule; every function gets the layer with libcurl and libpq (infra/package.sh builds it)."""
    _, purge = functions_in(template)["store-purge"]
    schedule = purge["Events"]["Schedule"]
    assert schedule["Type"] == "ScheduleV2" and schedule["Properties"]["ScheduleExpression"] == "rate(60 minutes)"
    assert set(purge["Events"]) == {"Schedule"}, "no HTTP route reaches the purge"
    assert template["Globals"]["Function"]["Layers"] == [{"Ref": "GangwayLibsLayer"}]
    layer = template["Resources"]["GangwayLibsLayer"]
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert layer["Properties"]["ContentUri"] == "../dist/gangway-libs-layer.zip"
    assert layer["Properties"]["CompatibleRuntimes"] == ["provided.al2023"]


def test_template_holds_no_secret_only_references_to_secrets_manager(template):
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    for var in ("GANGWAY_STORE", "GANGWAY_SECRET_KEY"):
        value = env[var]
        assert isinstance(value, dict) and set(value) == {"Fn::Sub"}, (var, value)
        assert value["Fn::Sub"].startswith("{{resolve:secretsmanager:${"), (var, value)
    for name, (_, props) in functions_in(template).items():
        assert "Environment" not in props, f"{name} overrides the environment"
    for pname, param in template["Parameters"].items():
        default = str(param.get("Default", ""))
        assert "://" not in default and "password" not in default.lower(), (pname, default)
    resources = TEMPLATE.read_text().split("\nResources:", 1)[1]
    for literal in ("postgres://", "postgresql://", "sqlite:", "file:"):
        assert literal not in resources, literal


def test_template_passes_cfn_lint():
    exe = VENV_BIN / "cfn-lint"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "cfnlint"]
    result = subprocess.run([*cmd, str(TEMPLATE)], capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the OpenAPI description -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def openapi() -> dict:
    return yaml.safe_load(OPENAPI.read_text())


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield method.upper(), path, op


def test_openapi_documents_every_route_and_nothing_else(openapi):
    documented = {(m, p) for m, p, _ in operations(openapi)}
    expected = {(m, p) for m, p, _ in routes()}
    assert documented == expected, {"missing": expected - documented, "extra": documented - expected}


def deref(spec: dict, node: dict) -> dict:
    while isinstance(node, dict) and "$ref" in node:
        target = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def test_openapi_operations_have_schemas_and_the_right_error_shape(openapi):
    oauth = "#/components/schemas/OAuthError"
    management = "#/components/schemas/ManagementError"
    html = {"type": "string"}
    for method, path, op in operations(openapi):
        responses = op["responses"]
        # Browser endpoints (Universal Login) answer pages and redirects; everything else JSON.
        browser = "Universal Login" in op.get("tags", [])
        successes = [code for code in responses if code[0] in "23"]
        # Legacy endpoints only ever refuse (as Auth0 does once they are disabled).
        assert successes or "Legacy" in op.get("tags", []), (method, path)
        for code in successes:
            response = deref(openapi, responses[code])
            if code[0] == "3":
                assert response["headers"]["Location"]["required"], (method, path, code)
            elif browser:
                assert response["content"]["text/html"]["schema"] == html, (method, path, code)
            elif path == "/api/v2/jobs/{id}/file":
                # An export's file: gzip, as Auth0's export files are.
                assert response["content"]["application/gzip"]["schema"]["format"] == "binary", (method, path, code)
            elif code != "204":
                assert "schema" in response["content"]["application/json"], (method, path, code)
        # Every body-taking route documents its body (POST /userinfo and rotate-secret take none).
        if method in ("POST", "PATCH") and path not in ("/userinfo", "/api/v2/clients/{id}/rotate-secret"):
            body = op["requestBody"]["content"]
            assert body and all("schema" in media for media in body.values()), (method, path)
        errors = [code for code in responses if code[0] in "45"]
        assert {"500", "502", "504"} <= set(errors), (method, path)
        want = management if path.startswith("/api/v2/") else oauth
        for code in errors:
            content = deref(openapi, responses[code])["content"]
            if browser and "text/html" in content:
                # The function's own refusals are pages; the gateway's (404, 413, 5xx) stay JSON.
                assert code in ("400", "403") and content["text/html"]["schema"] == html, (method, path, code)
                continue
            assert content["application/json"]["schema"] == {"$ref": want}, (method, path, code, content)
    shapes = openapi["components"]["schemas"]
    assert set(shapes["OAuthError"]["required"]) == {"error", "error_description"}
    assert set(shapes["ManagementError"]["required"]) == {"statusCode", "error", "message", "errorCode"}


def test_openapi_token_request_covers_every_grant_the_endpoint_supports(openapi):
    # TokenEndpoint.supportedGrants (and the discovery document's grant_types_supported).
    mapping = openapi["components"]["schemas"]["TokenRequest"]["discriminator"]["mapping"]
    assert set(mapping) == {
        "authorization_code", "password", "http://auth0.com/oauth/grant-type/password-realm", "refresh_token", "client_credentials",
    }


def test_openapi_is_a_valid_openapi_3_1_document():
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    spec, _ = read_from_filename(str(OPENAPI))
    assert spec["openapi"].startswith("3.1")
    validate(spec)


# --- infra/package.sh ------------------------------------------------------------------------------------------


def test_package_zips_one_function_as_an_executable_bootstrap(tmp_path):
    exe = RELEASE_BIN_DIR / "well-known"
    assert exe.exists(), f"{exe} missing: build release first (scripts/test.sh does)"
    dist = tmp_path / "dist"
    env = dict(
        os.environ, GANGWAY_FUNCTIONS="well-known", GANGWAY_DIST_DIR=str(dist), GANGWAY_SKIP_BUILD="1",
        GANGWAY_RELEASE_BIN_DIR=str(RELEASE_BIN_DIR),
    )
    result = subprocess.run(["bash", str(INFRA / "package.sh")], capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in dist.iterdir()) == ["gangway-libs-layer.zip", "well-known.zip"]

    with zipfile.ZipFile(dist / "well-known.zip") as z:
        infos = z.infolist()
        assert [i.filename for i in infos] == ["bootstrap"]
        mode = infos[0].external_attr >> 16
        assert stat.S_ISREG(mode) and mode & 0o111 == 0o111, oct(mode)
        data = z.read("bootstrap")
    assert hashlib.sha256(data).digest() == hashlib.sha256(exe.read_bytes()).digest()

    # It is the function itself: extracted, it answers one event on stdin (a malformed one: 400 JSON).
    bootstrap = tmp_path / "bootstrap"
    bootstrap.write_bytes(data)
    bootstrap.chmod(0o755)
    run = subprocess.run(
        [str(bootstrap)], input=b"not an event", capture_output=True, timeout=30, cwd=tmp_path,
        env={"PATH": os.environ.get("PATH", ""), "GANGWAY_STORE": f"sqlite:{tmp_path / 'g.db'}"},
    )
    assert run.returncode == 0, run.stderr
    response = json.loads(run.stdout)
    assert response["statusCode"] == 400 and json.loads(response["body"])["error"] == "invalid_request"


# --- the Lambda Runtime API driver and an oversized event ------------------------------------------------------


def worker_pids(store: str, function: str) -> list[int]:
    return [pid for pid in processes_with_store(store) if process_name(pid).endswith("/" + function)]


# An event over GANGWAY_MAX_EVENT_BYTES reaching a warm worker through the Runtime API is answered 413 by the
# function, and the same worker keeps serving (it once read events with a size cap, failed, and exited: 502).
@pytest.mark.parametrize(
    "function, method, path, content_type",
    [
        ("token", "POST", "/oauth/token", "application/x-www-form-urlencoded"),
        # well-known serves GETs only; the size check comes before any routing, so a GET with a body is enough.
        ("well-known", "GET", "/.well-known/jwks.json", "application/octet-stream"),
    ],
)
def test_warm_worker_answers_413_to_an_event_over_the_limit_and_keeps_serving(
    start_gateway, function, method, path, content_type
):
    """A 2 MiB body makes an event over GANGWAY_MAX_EVENT_BYTES (1 MiB; the gateway itself accepts 6 MiB,
    as API Gateway + Lambda do). Through the Runtime API the real worker must answer 413 `request_too_large`,
    not die (a crash would be a 502 and a new worker)."""
    gw = start_gateway("warm")
    small = gw.request(method, path, data=b"grant_type=password", headers={"content-type": content_type})
    assert small.status_code in (200, 400, 401), small.text  # the worker is up and answering
    deadline = time.monotonic() + 10
    while not (before := worker_pids(gw.store, function)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(before) == 1, (before, gw.log()[-2000:])

    big = gw.request(method, path, data=b"x=" + b"a" * (2 << 20), headers={"content-type": content_type})
    assert big.status_code == 413, (big.status_code, big.text, gw.log()[-2000:])
    assert big.headers["content-type"].startswith("application/json")
    assert big.json()["error"] == "request_too_large"

    again = gw.request(method, path, data=b"grant_type=password", headers={"content-type": content_type})
    assert again.status_code == small.status_code, again.text
    assert worker_pids(gw.store, function) == before, "the same worker keeps serving"
