"""OpenID Connect on the login origin: the metadata document, the signing keys, instance
discovery, and the ID tokens the token endpoint adds when ``openid`` is asked for.

learn.microsoft.com/entra/identity-platform/v2-protocols-oidc ("Find your app's OpenID
configuration document URI", "Sample response"), learn.microsoft.com/entra/identity-platform/
id-token-claims-reference (claims), learn.microsoft.com/entra/identity-platform/
access-tokens#validate-the-signature (``jwks_uri`` keys with ``kid``). MSAL and azure-identity
read the metadata document before their first token request; MSAL refuses an authority that
is not https (msal/authority.py ``canonicalize``), hence ``--https``.
"""

from __future__ import annotations

import base64
import json

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from flask import Blueprint, current_app, request

from .errors import aad_error, json_response
from .seed import TENANT_ID

bp = Blueprint("oidc", __name__)
TENANTS = ("common", "organizations", TENANT_ID)
ID_TOKEN_SECONDS = 3600


def _tenant():
    return current_app.config["TENANT"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def signing_key(tenant) -> rsa.RSAPrivateKey:
    """The tenant's ID-token key, made once and kept with the tenant's state."""
    with tenant.lock:
        if not tenant.signing_key_pem:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            tenant.signing_key_pem = key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption()).decode()
            tenant.touch()
        return serialization.load_pem_private_key(tenant.signing_key_pem.encode(), None)


def key_id(key: rsa.RSAPrivateKey) -> str:
    der = key.public_key().public_bytes(serialization.Encoding.DER,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return _b64(digest.finalize())[:27]


def issuer(tenant) -> str:
    return f"{tenant.login_url}/{TENANT_ID}/v2.0"


def id_token(tenant, user: dict, client_id: str, nonce: str | None) -> str:
    """An RS256-signed ID token (v2.0 claims) for ``user`` and the app ``client_id``."""
    key = signing_key(tenant)
    now = int(tenant.now().timestamp())
    claims = {"aud": client_id, "iss": issuer(tenant), "iat": now, "nbf": now,
              "exp": now + ID_TOKEN_SECONDS, "name": user["displayName"],
              "oid": user["id"], "preferred_username": user["userPrincipalName"],
              "email": user["mail"], "sub": _b64(f"{user['id']}|{client_id}".encode())[:43],
              "tid": TENANT_ID, "ver": "2.0"}
    if nonce:
        claims["nonce"] = nonce
    header = {"typ": "JWT", "alg": "RS256", "kid": key_id(key)}
    signing_input = (_b64(json.dumps(header).encode()) + "." +
                     _b64(json.dumps(claims, ensure_ascii=False).encode()))
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + _b64(signature)


def client_info(user: dict) -> str:
    """``client_info`` (uid, utid), answered when the token request sends client_info=1.
    UNVERIFIED: not in the protocol docs; MSAL builds its account ids from it."""
    return _b64(json.dumps({"uid": user["id"], "utid": TENANT_ID}).encode())


@bp.get("/<tenant_name>/v2.0/.well-known/openid-configuration")
def openid_configuration(tenant_name):
    t = _tenant()
    if tenant_name not in TENANTS:
        return aad_error("invalid_tenant", 90002, f"Tenant '{tenant_name}' not found. Check "
                         "to make sure you have the correct tenant ID and are signing into "
                         "the correct cloud.")
    base = f"{t.login_url}/{tenant_name}"
    # The common endpoints announce the issuer with a literal {tenantid} placeholder.
    tenant_issuer = issuer(t) if tenant_name == TENANT_ID else \
        f"{t.login_url}/{{tenantid}}/v2.0"
    return json_response({
        "token_endpoint": f"{base}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                  "client_secret_basic"],
        "jwks_uri": f"{base}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": tenant_issuer,
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": f"{t.graph_url}/oidc/userinfo",
        "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
        "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name",
                             "cloud_graph_host_name", "msgraph_host", "aud", "exp", "iat",
                             "auth_time", "acr", "nonce", "preferred_username", "name", "tid",
                             "ver", "at_hash", "c_hash", "email"],
        "tenant_region_scope": "AS",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": t.graph_url.split("://", 1)[-1],
        "rbac_url": "https://pas.windows.net",
    })


@bp.get("/<tenant_name>/discovery/v2.0/keys")
def keys(tenant_name):
    key = signing_key(_tenant())
    numbers = key.public_key().public_numbers()

    def as_b64(value: int) -> str:
        return _b64(value.to_bytes((value.bit_length() + 7) // 8, "big"))

    return json_response({"keys": [{"kty": "RSA", "use": "sig", "kid": key_id(key),
                                    "n": as_b64(numbers.n), "e": as_b64(numbers.e),
                                    "issuer": issuer(_tenant())}]})


@bp.get("/common/discovery/instance")
def instance_discovery():
    """What MSAL asks before trusting an authority host it does not know (UNVERIFIED: the
    shape is MSAL's, msal/authority.py ``_instance_discovery``; no public document)."""
    t = _tenant()
    host = t.login_url.split("://", 1)[-1]
    endpoint = request.args.get("authorization_endpoint", "")
    tenant_name = endpoint.split(host, 1)[-1].strip("/").split("/")[0] or "common"
    return json_response({
        "tenant_discovery_endpoint":
            f"{t.login_url}/{tenant_name}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}]})
