"""Auth0's own Python SDK (auth0-python 6.x) against the real gateway: `/api/v2/resource-servers` and
`/api/v2/client-grants`, and the token a machine-to-machine application then gets for the API.

The Fern-generated client percent-encodes ids in paths (an identifier URL works as an id), lists resource
servers with offset paging (`include_totals=true`) and client grants with checkpoint paging (`take`, `from`).
"""

from __future__ import annotations

import uuid

import jwt
import pytest
from auth0.authentication import GetToken
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError

from conftest import run_gangway  # noqa: F401  (conftest's fixtures: gateway, tenant)
from test_auth0_sdk_management import client, management_token

API_SCOPES = (
    "read:resource_servers create:resource_servers update:resource_servers delete:resource_servers "
    "read:client_grants create:client_grants update:client_grants delete:client_grants"
)


@pytest.fixture(scope="module")
def admin(gateway, tenant) -> Auth0:
    return client(gateway, management_token(tenant, API_SCOPES))


def unique_identifier() -> str:
    return f"https://api-{uuid.uuid4().hex[:10]}.example.com/"


def test_resource_servers_create_get_list_update_delete(admin):
    identifier = unique_identifier()
    created = admin.resource_servers.create(
        identifier=identifier, name="Orders API", scopes=[{"value": "read:orders", "description": "Read orders"}],
        signing_alg="RS256", token_lifetime=900, allow_offline_access=True,
    )
    assert created.identifier == identifier and created.name == "Orders API" and created.is_system is False
    assert [(s.value, s.description) for s in created.scopes] == [("read:orders", "Read orders")]
    assert created.token_lifetime == 900 and created.allow_offline_access is True and created.signing_alg == "RS256"

    assert admin.resource_servers.get(created.id).identifier == identifier
    assert admin.resource_servers.get(identifier).id == created.id  # the SDK percent-encodes the URL

    listed = {rs.identifier: rs for rs in admin.resource_servers.list(per_page=100)}
    assert identifier in listed
    system = [rs for rs in listed.values() if rs.is_system]
    assert len(system) == 1 and system[0].name == "Auth0 Management API"
    assert "read:resource_servers" in [s.value for s in system[0].scopes]

    updated = admin.resource_servers.update(
        created.id, name="Orders API v2", scopes=[{"value": "read:orders"}, {"value": "write:orders"}], token_lifetime=600,
    )
    assert updated.name == "Orders API v2" and [s.value for s in updated.scopes] == ["read:orders", "write:orders"]
    assert updated.token_lifetime == 600 and updated.allow_offline_access is True

    admin.resource_servers.delete(identifier)
    with pytest.raises(ApiError) as missing:
        admin.resource_servers.get(created.id)
    assert missing.value.status_code == 404 and missing.value.body["errorCode"] == "inexistent_resource_server"


def test_resource_server_errors(admin, tenant):
    with pytest.raises(ApiError) as hs256:
        admin.resource_servers.create(identifier=unique_identifier(), signing_alg="HS256")
    assert hs256.value.status_code == 400 and "HS256" in hs256.value.body["message"]

    management = tenant.issuer + "api/v2/"
    with pytest.raises(ApiError) as system_delete:
        admin.resource_servers.delete(management)
    assert system_delete.value.status_code == 400
    with pytest.raises(ApiError) as duplicate:
        admin.resource_servers.create(identifier=management)
    assert duplicate.value.status_code == 409
    assert admin.resource_servers.get(management).is_system is True


def test_client_grants_create_list_update_delete_and_the_token_they_give(admin, gateway, tenant):
    identifier = unique_identifier()
    admin.resource_servers.create(
        identifier=identifier, scopes=[{"value": "read:stock"}, {"value": "write:stock"}], token_lifetime=300,
    )
    m2m = tenant.init["management"]
    grant = admin.client_grants.create(client_id=m2m["client_id"], audience=identifier, scope=["read:stock"])
    assert grant.id.startswith("cgr_") and grant.client_id == m2m["client_id"] and grant.scope == ["read:stock"]

    with pytest.raises(ApiError) as duplicate:
        admin.client_grants.create(client_id=m2m["client_id"], audience=identifier, scope=[])
    assert duplicate.value.status_code == 409
    with pytest.raises(ApiError) as unknown_client:
        admin.client_grants.create(client_id="no-such-client", audience=identifier, scope=[])
    assert unknown_client.value.status_code == 404
    with pytest.raises(ApiError) as unknown_audience:
        admin.client_grants.create(client_id=m2m["client_id"], audience=unique_identifier(), scope=[])
    assert unknown_audience.value.status_code == 404
    with pytest.raises(ApiError) as undefined:
        admin.client_grants.create(client_id=tenant.client_id, audience=identifier, scope=["delete:stock"])
    assert undefined.value.status_code == 400 and "delete:stock" in undefined.value.body["message"]

    by_audience = [g.id for g in admin.client_grants.list(audience=identifier)]
    assert by_audience == [grant.id]
    by_client = [g.audience for g in admin.client_grants.list(client_id=m2m["client_id"], take=1)]  # pages through `next`
    assert identifier in by_client and tenant.issuer + "api/v2/" in by_client
    assert admin.client_grants.get(grant.id).audience == identifier

    domain = f"127.0.0.1:{gateway.port}"
    token = GetToken(domain, m2m["client_id"], client_secret=m2m["client_secret"], protocol="http").client_credentials(identifier)
    assert token["scope"] == "read:stock" and token["expires_in"] == 300
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["aud"] == identifier and claims["exp"] - claims["iat"] == 300

    updated = admin.client_grants.update(grant.id, scope=["read:stock", "write:stock"])
    assert updated.scope == ["read:stock", "write:stock"]
    token = GetToken(domain, m2m["client_id"], client_secret=m2m["client_secret"], protocol="http").client_credentials(identifier)
    assert token["scope"] == "read:stock write:stock"

    admin.client_grants.delete(grant.id)
    with pytest.raises(ApiError) as gone:
        admin.client_grants.get(grant.id)
    assert gone.value.status_code == 404
    admin.resource_servers.delete(identifier)
