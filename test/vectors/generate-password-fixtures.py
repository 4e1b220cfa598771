#!/usr/bin/python3
"""Writes password-hashes.json: password hashes made by the libraries latchkey must verify.

Run with Debian's Python and packages, not a virtualenv (security.md SEC-03: users of a Flask or
Django app log in once with their old hash and are rehashed to argon2id):

    apt-get install -y python3-werkzeug python3-bcrypt python3-django python3-argon2
    /usr/bin/python3 test/vectors/generate-password-fixtures.py

Each entry is {scheme, password, hash, source}; `source` names the library and version that made
the hash. Work factors are low where the format allows, so that the test suite stays fast, with one
entry at each library's real default. Every hash is checked with its own library before it is
written, except werkzeug scrypt: Debian 12's werkzeug 2.2 has no scrypt (added in 2.3), so those
strings are built here with hashlib.scrypt exactly as werkzeug 3's security.py builds them
(salt = gen_salt(16) used as UTF-8 text, dklen 64, maxmem = 132*n*r*p, lowercase hex,
"scrypt:{n}:{r}:{p}${salt}${hex}"). The `$scrypt$ln=…` entries are latchkey's own fallback format
(SEC-02) computed with hashlib.scrypt as an independent implementation. Salts are random, so every
run writes different hashes of the same passwords.
"""

import base64
import hashlib
import json
import os
import sys

import argon2
import bcrypt
import django
import werkzeug.security
from argon2.low_level import Type, hash_secret
from django.conf import settings

settings.configure(
    PASSWORD_HASHERS=[
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    ]
)
django.setup()

from django.contrib.auth.hashers import (  # noqa: E402  (needs settings first)
    PBKDF2PasswordHasher,
    PBKDF2SHA1PasswordHasher,
    check_password,
    make_password,
)


class FastPBKDF2(PBKDF2PasswordHasher):
    """Django's SHA-256 hasher at 1000 iterations: same format, faster tests."""

    iterations = 1000


class FastPBKDF2SHA1(PBKDF2SHA1PasswordHasher):
    iterations = 1000


WERKZEUG = "werkzeug " + __import__("importlib.metadata").metadata.version("werkzeug")
DJANGO = "Django " + django.get_version()
BCRYPT = "pyca/bcrypt " + bcrypt.__version__
ARGON2 = "argon2-cffi " + argon2.__version__

BASIC = "correct horse battery staple"
UNICODE = "pässwörd ünïcödé 🔐 日本語のパスワード"
SPACE = " "
SYMBOLS = "tab\there \"quotes\" 'single' \\back$lash$ 100%"
NUL = "nul\x00inside"
LONG_ASCII = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-this-part-is-past-72-bytes"
STRADDLE = "a" * 71 + "é"  # é's two UTF-8 bytes are bytes 72 and 73: bcrypt keeps only its first.

entries = []


def add(scheme, password, hashed, source):
    entries.append({"scheme": scheme, "password": password, "hash": hashed, "source": source})


# werkzeug: generate_password_hash as Flask apps call it.
for password in [BASIC, UNICODE, SPACE, SYMBOLS, NUL, ""]:
    hashed = werkzeug.security.generate_password_hash(password, method="pbkdf2:sha256:1000")
    assert werkzeug.security.check_password_hash(hashed, password)
    add("werkzeug-pbkdf2", password, hashed, WERKZEUG + " generate_password_hash(method='pbkdf2:sha256:1000')")
hashed = werkzeug.security.generate_password_hash(BASIC, method="pbkdf2:sha256")
assert hashed.startswith("pbkdf2:sha256:260000$") and werkzeug.security.check_password_hash(hashed, BASIC)
add("werkzeug-pbkdf2", BASIC, hashed, WERKZEUG + " generate_password_hash(method='pbkdf2:sha256'), its default 260000")
for method in ["pbkdf2:sha512:1000", "pbkdf2:sha1:1000"]:
    hashed = werkzeug.security.generate_password_hash(UNICODE, method=method)
    assert werkzeug.security.check_password_hash(hashed, UNICODE)
    add("werkzeug-pbkdf2", UNICODE, hashed, WERKZEUG + f" generate_password_hash(method='{method}')")


def werkzeug3_scrypt(password, n, r, p):
    salt = werkzeug.security.gen_salt(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt.encode("utf-8"), n=n, r=r, p=p, maxmem=132 * n * r * p)
    return f"scrypt:{n}:{r}:{p}${salt}${key.hex()}"


for password in [BASIC, UNICODE, SPACE, NUL]:
    add("werkzeug-scrypt", password, werkzeug3_scrypt(password, 16384, 8, 1), "hashlib.scrypt in werkzeug 3's format, n=16384")
add("werkzeug-scrypt", BASIC, werkzeug3_scrypt(BASIC, 32768, 8, 1), "hashlib.scrypt in werkzeug 3's format, its default scrypt:32768:8:1")

# Django: make_password with the PBKDF2 hashers.
for password in [BASIC, UNICODE, SPACE, SYMBOLS, NUL]:
    hashed = make_password(password, hasher=FastPBKDF2())
    assert check_password(password, hashed) and hashed.startswith("pbkdf2_sha256$1000$")
    add("django-pbkdf2", password, hashed, DJANGO + " make_password(PBKDF2PasswordHasher at 1000 iterations)")
hashed = make_password(BASIC)
assert hashed.startswith("pbkdf2_sha256$260000$") and check_password(BASIC, hashed)
add("django-pbkdf2", BASIC, hashed, DJANGO + " make_password(), PBKDF2PasswordHasher's default 260000")
hashed = make_password(UNICODE, hasher=FastPBKDF2SHA1())
assert check_password(UNICODE, hashed) and hashed.startswith("pbkdf2_sha1$1000$")
add("django-pbkdf2", UNICODE, hashed, DJANGO + " make_password(PBKDF2SHA1PasswordHasher at 1000 iterations)")

# bcrypt: hashpw with $2b$ (its default), $2a$ and $2y$ (PHP's); pyca refuses NUL bytes.
for prefix, cost, password in [
    (b"2b", 4, BASIC),
    (b"2b", 4, UNICODE),
    (b"2b", 4, SPACE),
    (b"2b", 4, ""),
    (b"2b", 4, LONG_ASCII),
    (b"2b", 4, STRADDLE),
    (b"2a", 4, BASIC),
    (b"2a", 4, LONG_ASCII),
    (b"2a", 5, "ππππππππ"),
    (b"2b", 10, BASIC),
]:
    hashed = bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt(cost, prefix=prefix)).decode("ascii")
    assert bcrypt.checkpw(password.encode("utf-8"), hashed.encode("ascii"))
    add("bcrypt", password, hashed, BCRYPT + f" hashpw(gensalt({cost}, prefix=b'{prefix.decode()}'))")
salt_2y = b"$2y$" + bcrypt.gensalt(4)[4:]
hashed = bcrypt.hashpw(SYMBOLS.encode("utf-8"), salt_2y).decode("ascii")
assert hashed.startswith("$2y$04$") and bcrypt.checkpw(SYMBOLS.encode("utf-8"), hashed.encode("ascii"))
add("bcrypt", SYMBOLS, hashed, BCRYPT + " hashpw with a $2y$ salt")

# argon2: the reference C library through argon2-cffi.
current = argon2.PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, hash_len=32, salt_len=16)
for password in [BASIC, UNICODE, NUL]:
    hashed = current.hash(password)
    assert current.verify(hashed, password)
    add("argon2id", password, hashed, ARGON2 + " PasswordHasher(t=2, m=19456, p=1)")
older = argon2.PasswordHasher(time_cost=3, memory_cost=12288, parallelism=1, hash_len=32, salt_len=16)
hashed = older.hash(BASIC)
assert older.verify(hashed, BASIC)
add("argon2id", BASIC, hashed, ARGON2 + " PasswordHasher(t=3, m=12288, p=1), SEC-01's equal-strength row")
for kind, name, password, t, m, p in [
    (Type.ID, "argon2id", SPACE, 2, 1024, 2),
    (Type.I, "argon2i", BASIC, 3, 1024, 1),
    (Type.D, "argon2d", UNICODE, 2, 2048, 1),
]:
    hashed = hash_secret(password.encode("utf-8"), os.urandom(16), t, m, p, 32, kind).decode("ascii")
    assert argon2.PasswordHasher().verify(hashed, password)
    add(name, password, hashed, ARGON2 + f" low_level.hash_secret(t={t}, m={m}, p={p})")


def scrypt_phc(password, ln, r, p):
    salt = os.urandom(16)
    n = 2**ln
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32)
    b64 = lambda b: base64.b64encode(b).decode("ascii").rstrip("=")  # noqa: E731
    return f"$scrypt$ln={ln},r={r},p={p}${b64(salt)}${b64(key)}"


# ln=14 keeps the suite fast; test/passwords.test.ts round-trips SEC-02's ln=17 through hashScrypt.
for password in [BASIC, UNICODE, SPACE]:
    add("scrypt", password, scrypt_phc(password, 14, 8, 1), "hashlib.scrypt in latchkey's $scrypt$ format, ln=14")

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "password-hashes.json")
with open(out, "w", encoding="utf-8") as f:
    json.dump(entries, f, ensure_ascii=False, indent=2)
    f.write("\n")
print(f"wrote {len(entries)} hashes to {out}", file=sys.stderr)
