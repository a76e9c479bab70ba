"""`gangway apps …` and `gangway apis …`: the operator's way to the same core as `/api/v2/clients` and
`/api/v2/resource-servers` (same validation, same answers), on a fresh SQLite store.
"""

from __future__ import annotations

import json
import uuid

import pytest

from conftest import init_tenant, run_gangway


@pytest.fixture
def tenant(tmp_path):
    return init_tenant(f"sqlite:{tmp_path}/cli.db", "https://cli.example/")


def cli(tenant, *args: str, check: bool = True):
    return run_gangway(*args, "--store", tenant.store, "--tenant", tenant.issuer, check=check)


def test_apps_import_keeps_auth0_keys_and_every_operation_works(tenant):
    client_id, secret = "Auth0ClientId" + uuid.uuid4().hex[:8], "s3cret-" + uuid.uuid4().hex
    created = json.loads(cli(tenant, "apps", "create", "--name", "Imported", "--client-id", client_id, "--client-secret", secret,
                             "--callbacks", "https://app.example/cb,https://app.example/cb2", "--grant-types", "password").stdout)
    assert created == {"client_id": client_id, "client_secret": secret}

    shown = json.loads(cli(tenant, "apps", "get", client_id).stdout)
    assert shown["callbacks"] == ["https://app.example/cb", "https://app.example/cb2"] and "client_secret" not in shown
    assert json.loads(cli(tenant, "apps", "get", client_id, "--show-secret").stdout)["client_secret"] == secret
    assert client_id in [a["client_id"] for a in json.loads(cli(tenant, "apps", "list").stdout)]

    updated = json.loads(cli(tenant, "apps", "update", client_id, "--json", '{"web_origins": ["https://app.example"]}').stdout)
    assert updated["web_origins"] == ["https://app.example"] and updated["callbacks"] == shown["callbacks"]
    rotated = json.loads(cli(tenant, "apps", "rotate-secret", client_id).stdout)["client_secret"]
    assert rotated != secret and json.loads(cli(tenant, "apps", "get", client_id, "--show-secret").stdout)["client_secret"] == rotated

    taken = cli(tenant, "apps", "create", "--name", "Twin", "--client-id", client_id, check=False)
    assert taken.returncode != 0 and "already exists" in taken.stderr
    bad = cli(tenant, "apps", "update", client_id, "--json", '{"app_type": "desktop"}', check=False)
    assert bad.returncode != 0 and "app_type" in bad.stderr

    cli(tenant, "apps", "delete", client_id)
    assert client_id not in [a["client_id"] for a in json.loads(cli(tenant, "apps", "list").stdout)]


def test_apis_create_get_update_delete_and_the_system_api_stays(tenant):
    created = json.loads(cli(tenant, "apis", "create", "--identifier", "https://stock.example/", "--scopes", "read:stock,write:stock",
                             "--allow-offline-access").stdout)
    assert created["identifier"] == "https://stock.example/" and created["allow_offline_access"] is True
    assert [s["value"] for s in created["scopes"]] == ["read:stock", "write:stock"]
    assert json.loads(cli(tenant, "apis", "get", "https://stock.example/").stdout)["id"] == created["id"]
    updated = json.loads(cli(tenant, "apis", "update", created["id"], "--json", '{"token_lifetime": 600}').stdout)
    assert updated["token_lifetime"] == 600
    listed = json.loads(cli(tenant, "apis", "list").stdout)
    assert {a["identifier"] for a in listed} == {"https://stock.example/", tenant.issuer + "api/v2/"}

    bad = cli(tenant, "apis", "create", "--identifier", "https://stock.example/", check=False)
    assert bad.returncode != 0 and "409" in bad.stderr
    system = cli(tenant, "apis", "delete", tenant.issuer + "api/v2/", check=False)
    assert system.returncode != 0 and "operation_not_supported" in system.stderr
    cli(tenant, "apis", "delete", created["id"])
    assert len(json.loads(cli(tenant, "apis", "list").stdout)) == 1
