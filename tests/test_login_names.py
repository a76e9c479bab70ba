"""Login names are canonical (RFC 8265 UsernameCaseMapped, see Sources/GangwayPlatform/Text/PRECIS.swift), through
Auth0's own SDK: two spellings of one email or username are one account (a second create is 409, and either
spelling logs in as the same user); look-alikes built from invisible or compatibility characters are refused with
Auth0's 400; and `ß`/`ss` stay two names (toLowerCase, not case folding: they are two mailboxes).
"""

from __future__ import annotations

import unicodedata
import uuid

import pytest
from auth0.authentication import GetToken
from auth0.management.core.api_error import ApiError

from test_auth0_sdk_management import CONNECTION, client, management_token

PASSWORD = "Names-Pa55word!"


@pytest.fixture(scope="module")
def mgmt(gateway, tenant):
    return client(gateway, management_token(tenant))


@pytest.fixture(scope="module")
def login(gateway):
    app = gateway.tenant.init["app"]
    auth = GetToken(f"127.0.0.1:{gateway.port}", app["client_id"], client_secret=app["client_secret"], protocol="http")
    return lambda name: auth.login(name, PASSWORD, realm=CONNECTION, scope="openid")


def fullwidth(text: str) -> str:
    """ASCII letters and digits as their fullwidth forms (U+FF21…); '@' and '.' stay, or it is no email."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


def tag() -> str:
    return uuid.uuid4().hex[:8]


SPELLINGS = {
    "NFD of an NFC email": lambda e: unicodedata.normalize("NFD", e),
    "fullwidth letters": fullwidth,
    "upper case": str.upper,
}


@pytest.mark.parametrize("spelling", SPELLINGS, ids=list(SPELLINGS))
def test_two_spellings_of_one_email_are_one_account(mgmt, login, spelling):
    email = f"jos\u00e9-{tag()}@example.com"  # é precomposed (NFC)
    other = SPELLINGS[spelling](email)
    assert other != email
    created = mgmt.users.create(connection=CONNECTION, email=email, password=PASSWORD)
    with pytest.raises(ApiError) as taken:
        mgmt.users.create(connection=CONNECTION, email=other, password=PASSWORD)
    assert taken.value.status_code == 409 and taken.value.body["message"] == "The user already exists."
    assert login(other)["access_token"]  # the other spelling logs in, as the same user
    assert mgmt.users.get(created.user_id).logins_count == 1


def test_two_spellings_of_one_username_are_one_account(mgmt):
    name = f"stra\u1e9ee{tag()}"  # capital sharp s: toLowerCase makes it ß
    mgmt.users.create(connection=CONNECTION, email=f"u-{tag()}@example.com", username=fullwidth(name), password=PASSWORD)
    with pytest.raises(ApiError) as taken:
        mgmt.users.create(connection=CONNECTION, email=f"u-{tag()}@example.com", username=name.lower(), password=PASSWORD)
    assert taken.value.status_code == 409


def test_sharp_s_and_ss_are_two_names(mgmt, login):
    local = f"stra{tag()}"
    sharp = mgmt.users.create(connection=CONNECTION, email=f"{local}\u00dfe@example.com", password=PASSWORD)
    double = mgmt.users.create(connection=CONNECTION, email=f"{local}sse@example.com", password=PASSWORD)
    assert sharp.user_id != double.user_id
    login(f"{local}SSE@example.com")
    assert mgmt.users.get(double.user_id).logins_count == 1 and mgmt.users.get(sharp.user_id).logins_count == 0


LOOK_ALIKES = {
    "ligature fi": "\ufb01",
    "zero-width space": "\u200b",
    "zero-width joiner": "\u200d",
    "byte order mark": "\ufeff",
    "soft hyphen": "\u00ad",
    "control character": "\u0007",
}


@pytest.mark.parametrize("field", ["email", "username"])
@pytest.mark.parametrize("character", LOOK_ALIKES.values(), ids=list(LOOK_ALIKES))
def test_look_alikes_are_refused_and_create_nothing(mgmt, login, field, character):
    plain = f"look{tag()}"
    email = f"{plain}@example.com"
    fields = {"email": email, "username": plain}
    mgmt.users.create(connection=CONNECTION, password=PASSWORD, **fields)
    fields[field] = fields[field].replace("look", f"lo{character}ok")
    fields["email" if field == "username" else "username"] = f"other{tag()}" + ("@example.com" if field == "username" else "")
    with pytest.raises(ApiError) as refused:
        mgmt.users.create(connection=CONNECTION, password=PASSWORD, **fields)
    assert refused.value.status_code == 400 and refused.value.body["errorCode"] == "invalid_body"
    assert f"format {field}" in refused.value.body["message"]
    with pytest.raises(Exception):  # and the look-alike does not log in as the real user
        login(fields[field])


def test_a_changed_email_is_checked_too(mgmt):
    user = mgmt.users.create(connection=CONNECTION, email=f"change{tag()}@example.com", password=PASSWORD)
    with pytest.raises(ApiError) as refused:
        mgmt.users.update(user.user_id, email=f"chan\u200bge{tag()}@example.com")
    assert refused.value.status_code == 400
    assert mgmt.users.get(user.user_id).email == user.email
