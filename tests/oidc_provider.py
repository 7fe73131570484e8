"""A real OpenID Connect provider for the console's SSO tests, on a free loopback port.

It does what an identity provider does for the authorization-code flow with PKCE, over HTTP:
discovery (``/.well-known/openid-configuration``), ``/authorize`` (the person signing in is
``signs_in``, chosen by the test, as if they had typed their password there), ``/token`` (the
code exchanged once, for the right client secret and PKCE verifier, against an ID token signed
RS256 that carries the request's nonce), ``/jwks`` and ``/userinfo``. Every request is kept in
``seen`` so a test can check what the console asked.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

CLIENT_ID = "waybill-console"
CLIENT_SECRET = "console-secret-for-tests"
KID = "test-key"


@dataclass(frozen=True)
class Person:
    """Who signs in at the provider."""

    email: str
    name: str


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class OidcProvider:
    """``with OidcProvider() as idp:`` serves ``idp.issuer`` until the block ends."""

    def __init__(self) -> None:
        self.signs_in = Person("nobody@example.com", "Nobody")
        self.seen: list[str] = []
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self._codes: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        idp = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                idp._get(self)

            def do_POST(self) -> None:
                idp._post(self)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def __enter__(self) -> OidcProvider:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # -- endpoints ---------------------------------------------------------------------------

    def _get(self, req: BaseHTTPRequestHandler) -> None:
        url = urlsplit(req.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        with self._lock:
            self.seen.append(url.path)
        if url.path == "/.well-known/openid-configuration":
            self._json(req, self._discovery())
        elif url.path == "/jwks":
            public = self._key.public_key().public_numbers()
            key = {"kty": "RSA", "kid": KID, "use": "sig", "alg": "RS256",
                   "n": _b64(public.n), "e": _b64(public.e)}  # fmt: skip
            self._json(req, {"keys": [key]})
        elif url.path == "/authorize":
            self._authorize(req, query)
        elif url.path == "/userinfo":
            self._json(req, self._claims(self.signs_in))
        else:
            self._json(req, {"error": "not_found"}, 404)

    def _post(self, req: BaseHTTPRequestHandler) -> None:
        length = int(req.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(req.rfile.read(length).decode()).items()}
        with self._lock:
            self.seen.append(urlsplit(req.path).path)
        if urlsplit(req.path).path != "/token":
            self._json(req, {"error": "not_found"}, 404)
            return
        self._token(req, form)

    def _discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
        }

    def _authorize(self, req: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            self._json(req, {"error": "invalid_request"}, 400)
            return
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._codes[code] = {
                "nonce": query.get("nonce", ""),
                "redirect_uri": query["redirect_uri"],
                "challenge": query.get("code_challenge", ""),
                "email": self.signs_in.email,
                "name": self.signs_in.name,
            }
        back = {"code": code, "state": query.get("state", "")}
        req.send_response(302)
        req.send_header("Location", f"{query['redirect_uri']}?{urlencode(back)}")
        req.end_headers()

    def _token(self, req: BaseHTTPRequestHandler, form: dict[str, str]) -> None:
        client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = req.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            client_id, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # a code is used once
        if (client_id, secret) != (CLIENT_ID, CLIENT_SECRET) or grant is None:
            self._json(req, {"error": "invalid_grant"}, 400)
            return
        verifier = form.get("code_verifier", "")
        digest = hashlib.sha256(verifier.encode()).digest()
        if (
            grant["challenge"]
            and base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != (grant["challenge"])
        ):
            self._json(req, {"error": "invalid_grant", "error_description": "PKCE"}, 400)
            return
        person = Person(grant["email"], grant["name"])
        now = int(time.time())
        claims = {**self._claims(person), "iss": self.issuer, "aud": CLIENT_ID,
                  "iat": now, "exp": now + 600, "nonce": grant["nonce"]}  # fmt: skip
        id_token = jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": KID})
        body = {
            "access_token": secrets.token_urlsafe(16),
            "token_type": "Bearer",
            "expires_in": 600,
            "id_token": id_token,
            "scope": "openid email profile",
        }
        self._json(req, body)

    @staticmethod
    def _claims(person: Person) -> dict[str, Any]:
        sub = hashlib.sha256(person.email.encode()).hexdigest()[:16]
        return {"sub": sub, "email": person.email, "email_verified": True, "name": person.name}

    @staticmethod
    def _json(req: BaseHTTPRequestHandler, body: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(body).encode()
        req.send_response(status)
        req.send_header("Content-Type", "application/json")
        req.send_header("Content-Length", str(len(data)))
        req.send_header("Cache-Control", "no-store")
        req.end_headers()
        req.wfile.write(data)
