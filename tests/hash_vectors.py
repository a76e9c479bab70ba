"""Password-hash vectors for Auth0's `custom_password_hash`, made fresh on every call by libraries Gangway did not write.

`vectors()` returns a list of dicts: {"name", "password", "custom_password_hash" (or "password_hash"), "wrong_password"}.
Each hash is made from "password" with a fresh random salt; "wrong_password" must not verify against it.

Libraries: the `bcrypt` package, argon2-cffi, passlib (ldap_* schemes; its pure-Python MD4 when OpenSSL's is not
loaded), Python's hashlib (md5, sha*, ripemd160, pbkdf2_hmac, scrypt) and hmac, and the `whirlpool` package (bindings
to the reference implementation) for HMAC-whirlpool, skipped when it is not installed.

Parameters are small (bcrypt cost 4, argon2 64 KiB, pbkdf2 1000 iterations, scrypt N ≤ 1024) so a verifier runs them
all in well under a second; one pbkdf2 vector leaves i and l out to exercise Auth0's defaults (i=100000, l=64).

    python tests/hash_vectors.py > Tests/GangwayCoreTests/Fixtures/hash-vectors.json
"""

import base64
import hashlib
import hmac
import json
import os
import sys

import argon2
import bcrypt
from passlib import hash as passlib_hash

PASSWORD = "correct horse battery staple"
WRONG = "correct horse battery stapl"
UNICODE = "pässwörd 🔑"  # not latin1: exercises utf8 and utf16le
LATIN1 = "café crème"  # latin1 but not ascii


def _md4():
    """MD4's constructor: OpenSSL's when its legacy provider is loaded, else passlib's pure-Python one."""
    try:
        hashlib.new("md4", b"")
        return lambda data=b"": hashlib.new("md4", data)
    except ValueError:
        from passlib.crypto._md4 import md4

        return md4


def _whirlpool():
    try:
        import whirlpool
    except ImportError:
        return None
    return whirlpool.new


def _digest(name):
    """A hashlib-style constructor for Auth0's digest names."""
    if name == "md4":
        return _md4()
    if name == "whirlpool":
        return _whirlpool()
    return lambda data=b"": hashlib.new(name, data)


def _b64(data, url=False, pad=True):
    text = (base64.urlsafe_b64encode if url else base64.b64encode)(data).decode()
    return text if pad else text.rstrip("=")


def _encode(data, encoding):
    """Text for bytes, as Auth0's hex/base64/utf8 `encoding` fields mean."""
    if encoding == "hex":
        return data.hex()
    if encoding == "base64":
        return _b64(data)
    return data.decode("utf-8")


def _password_bytes(password, encoding):
    return password.encode({"utf16le": "utf-16-le", "ucs2": "utf-16-le", "binary": "latin-1"}.get(encoding, encoding))


def _salt(encoding):
    """A fresh salt's bytes, and its text in `encoding` (utf8 salts stay printable)."""
    raw = os.urandom(8)
    if encoding == "utf8":
        raw = raw.hex().encode()
    return raw, _encode(raw, encoding)


def _vector(name, password, chash, wrong=WRONG, key="custom_password_hash"):
    return {"name": name, "password": password, key: chash, "wrong_password": wrong}


def _bcrypt():
    out = []
    for ident in ("2a", "2b"):
        value = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4, prefix=ident.encode())).decode()
        out.append(_vector(f"bcrypt ${ident}$", PASSWORD, {"algorithm": "bcrypt", "hash": {"value": value}}))
    # $2y$ is PHP's name for the same algorithm as $2b$ (crypt_blowfish): same salt and cost, same output.
    value = "$2y$" + bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()[4:]
    out.append(_vector("bcrypt $2y$", PASSWORD, {"algorithm": "bcrypt", "hash": {"value": value, "encoding": "utf8"}}))
    value = bcrypt.hashpw(UNICODE.encode(), bcrypt.gensalt(rounds=4)).decode()
    out.append(_vector("password_hash bcrypt", UNICODE, value, wrong=PASSWORD, key="password_hash"))
    for position in ("prefix", "suffix"):
        raw, text = _salt("utf8")
        salted = raw + PASSWORD.encode() if position == "prefix" else PASSWORD.encode() + raw
        value = bcrypt.hashpw(salted, bcrypt.gensalt(rounds=4)).decode()
        chash = {"algorithm": "bcrypt", "hash": {"value": value}, "salt": {"value": text, "position": position}}
        out.append(_vector(f"bcrypt salt {position}", PASSWORD, chash))
    return out


def _argon2():
    out = []
    for variant in (argon2.Type.I, argon2.Type.D, argon2.Type.ID):
        for parallelism in (1, 2):
            hasher = argon2.PasswordHasher(time_cost=1, memory_cost=64, parallelism=parallelism, hash_len=16, type=variant)
            value = hasher.hash(UNICODE)
            chash = {"algorithm": "argon2", "hash": {"value": value, "encoding": "utf8"}}
            out.append(_vector(f"argon2 {variant.name.lower()} p={parallelism}", UNICODE, chash, wrong=PASSWORD))
    return out


def _pbkdf2():
    out = []
    # (name in the PHC string, hashlib's name, iterations, key length); None leaves the parameter out.
    cases = [
        ("sha1", "sha1", 1000, 20),
        ("sha256", "sha256", 1000, 32),
        ("sha512", "sha512", 1000, 64),
        ("md5", "md5", 1000, 16),
        ("RSA-SHA256", "sha256", 500, 40),  # an OpenSSL alias from Auth0's list
        ("sha512WithRSAEncryption", "sha512", 500, 64),
        ("sha256", "sha256", None, None),  # Auth0's defaults: i=100000, l=64
    ]
    for label, algo, iterations, length in cases:
        salt = os.urandom(16)
        derived = hashlib.pbkdf2_hmac(algo, PASSWORD.encode(), salt, iterations or 100000, length or 64)
        params = "" if iterations is None else f"$i={iterations},l={length}"
        value = f"$pbkdf2-{label}{params}${_b64(salt, pad=False)}${_b64(derived, pad=False)}"
        name = f"pbkdf2 {label}" + (" defaults" if iterations is None else f" i={iterations} l={length}")
        out.append(_vector(name, PASSWORD, {"algorithm": "pbkdf2", "hash": {"value": value}}))
    return out


def _ldap():
    out = []
    for scheme, handler in [
        ("MD5", passlib_hash.ldap_md5),
        ("SMD5", passlib_hash.ldap_salted_md5),
        ("SHA", passlib_hash.ldap_sha1),
        ("SSHA", passlib_hash.ldap_salted_sha1),
        ("SSHA256", passlib_hash.ldap_salted_sha256),
        ("SSHA512", passlib_hash.ldap_salted_sha512),
    ]:
        value = handler.hash(PASSWORD)
        out.append(_vector(f"ldap {{{scheme}}} (passlib)", PASSWORD, {"algorithm": "ldap", "hash": {"value": value}}))
    # passlib has no unsalted SHA-2 nor SHA-384 schemes: RFC 2307's layout over hashlib.
    for scheme, algo, salted in [
        ("SHA256", "sha256", False),
        ("SHA384", "sha384", False),
        ("SSHA384", "sha384", True),
        ("SHA512", "sha512", False),
    ]:
        salt = os.urandom(8) if salted else b""
        value = f"{{{scheme}}}" + _b64(hashlib.new(algo, PASSWORD.encode() + salt).digest() + salt)
        out.append(_vector(f"ldap {{{scheme}}}", PASSWORD, {"algorithm": "ldap", "hash": {"value": value}}))
    # The scheme is case-insensitive.
    value = passlib_hash.ldap_salted_sha1.hash(PASSWORD).replace("{SSHA}", "{ssha}")
    out.append(_vector("ldap {ssha} lower case", PASSWORD, {"algorithm": "ldap", "hash": {"value": value}}))
    return out


def _hash_text(digest, encoding):
    """The digest in each spelling Auth0 accepts: hex either case, base64 standard or URL-safe, padded or not."""
    return {
        "hex": ("hex", digest.hex()),
        "HEX": ("hex", digest.hex().upper()),
        "base64": ("base64", _b64(digest)),
        "base64url": ("base64", _b64(digest, url=True, pad=False)),
        "base64 unpadded": ("base64", _b64(digest, pad=False)),
    }[encoding]


def _digests():
    out = []
    for algo in ("md4", "md5", "sha1", "sha256", "sha512"):
        new = _digest(algo)
        for spelling in ("hex", "HEX", "base64", "base64url", "base64 unpadded"):
            encoding, text = _hash_text(new(PASSWORD.encode()).digest(), spelling)
            chash = {"algorithm": algo, "hash": {"value": text, "encoding": encoding}}
            out.append(_vector(f"{algo} {spelling}", PASSWORD, chash))
        for position in ("prefix", "suffix"):
            for salt_encoding in ("utf8", "hex", "base64"):
                raw, text = _salt(salt_encoding)
                data = raw + PASSWORD.encode() if position == "prefix" else PASSWORD.encode() + raw
                chash = {
                    "algorithm": algo,
                    "hash": {"value": new(data).hexdigest(), "encoding": "hex"},
                    "salt": {"value": text, "encoding": salt_encoding, "position": position},
                }
                out.append(_vector(f"{algo} salt {position} {salt_encoding}", PASSWORD, chash))
    # A salt without position is a prefix.
    raw, text = _salt("utf8")
    chash = {
        "algorithm": "sha256",
        "hash": {"value": _b64(hashlib.sha256(raw + PASSWORD.encode()).digest()), "encoding": "base64"},
        "salt": {"value": text},
    }
    out.append(_vector("sha256 salt default position", PASSWORD, chash))
    # Password encodings.
    for encoding, password, wrong in [
        ("ascii", PASSWORD, WRONG),
        ("utf8", UNICODE, PASSWORD),
        ("utf16le", UNICODE, PASSWORD),
        ("ucs2", UNICODE, PASSWORD),
        ("latin1", LATIN1, "cafe creme"),
        ("binary", LATIN1, "cafe creme"),
    ]:
        for algo in ("sha1", "sha256"):
            data = _password_bytes(password, encoding)
            chash = {
                "algorithm": algo,
                "hash": {"value": hashlib.new(algo, data).hexdigest(), "encoding": "hex"},
                "password": {"encoding": encoding},
            }
            out.append(_vector(f"{algo} password {encoding}", password, chash, wrong=wrong))
    return out


def _hmac():
    out = []
    for digest in ("md4", "md5", "ripemd160", "sha1", "sha224", "sha256", "sha384", "sha512", "whirlpool"):
        new = _digest(digest)
        if new is None:
            continue
        key = os.urandom(16)
        for key_encoding in ("utf8", "hex", "base64"):
            raw = key.hex().encode() if key_encoding == "utf8" else key
            mac = hmac.new(raw, PASSWORD.encode(), new).digest()
            chash = {
                "algorithm": "hmac",
                "hash": {
                    "value": _b64(mac),
                    "encoding": "base64",
                    "digest": digest,
                    "key": {"value": _encode(raw, key_encoding), "encoding": key_encoding},
                },
            }
            out.append(_vector(f"hmac {digest} key {key_encoding}", PASSWORD, chash))
    for position in ("prefix", "suffix"):
        raw, text = _salt("utf8")
        data = raw + PASSWORD.encode() if position == "prefix" else PASSWORD.encode() + raw
        chash = {
            "algorithm": "hmac",
            "hash": {"value": hmac.new(b"k3y", data, "sha256").hexdigest(), "encoding": "hex", "digest": "sha256", "key": {"value": "k3y"}},
            "salt": {"value": text, "position": position},
        }
        out.append(_vector(f"hmac sha256 salt {position}", PASSWORD, chash))
    return out


def _scrypt():
    out = []
    for n, r, p, keylen, encoding in [(1024, 8, 1, 32, "hex"), (16, 1, 2, 64, "base64"), (256, 4, 1, 16, "hex")]:
        raw, text = _salt("base64")
        derived = hashlib.scrypt(UNICODE.encode(), salt=raw, n=n, r=r, p=p, dklen=keylen)
        chash = {
            "algorithm": "scrypt",
            "hash": {"value": _encode(derived, encoding), "encoding": encoding},
            "salt": {"value": text, "encoding": "base64"},
            "keylen": keylen,
            "cost": n,
            "blockSize": r,
            "parallelization": p,
        }
        out.append(_vector(f"scrypt N={n} r={r} p={p}", UNICODE, chash, wrong=PASSWORD))
    return out


def vectors():
    """Fresh vectors (new salts every call) for every algorithm of Auth0's custom_password_hash."""
    return _bcrypt() + _argon2() + _pbkdf2() + _ldap() + _digests() + _hmac() + _scrypt()


if __name__ == "__main__":
    json.dump(vectors(), sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")
