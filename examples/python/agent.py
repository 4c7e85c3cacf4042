#!/usr/bin/env python3
"""An ARCP agent in Python, written as the ARCP spec's Python example is (a DPoPGenerator and a
DPoP-enabled ARCP client), with what that example leaves out and a conformant server needs:

- ``ath`` (base64url SHA-256 of the access token) in every proof sent with a token;
- ``htu`` without query and fragment; unpadded base64url everywhere (RFC 7515 §2);
- ``Authorization: DPoP <token>`` (the scheme RFC 9449 §7.1 defines; the sample app also takes
  ``Bearer`` with a proof, as a compatibility setting, but a strict server refuses it).

Needs PyJWT and cryptography (Debian: ``apt-get install python3-jwt python3-cryptography``).
The interop test runs this file against the sample app, so it stays true.

Usage: agent.py BASE_URL AGENT_KEY [--agent-id ID] [--alg EdDSA|ES256] [--scheme DPoP|Bearer]
Prints the registration result as JSON on stdout.
"""

import argparse
import base64
import hashlib
import json
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives import serialization


def b64url(data: bytes) -> str:
    """Base64url without padding (RFC 7515 §2): the only spelling a strict server accepts."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


class DPoPGenerator:
    """Makes DPoP proofs (RFC 9449 §4.2) with one key pair."""

    def __init__(self, algorithm: str = "EdDSA"):
        self.algorithm = algorithm
        if algorithm == "EdDSA":
            self._private_key = ed25519.Ed25519PrivateKey.generate()
            raw = self._private_key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            self.public_jwk = {"kty": "OKP", "crv": "Ed25519", "x": b64url(raw)}
        elif algorithm == "ES256":
            self._private_key = ec.generate_private_key(ec.SECP256R1())
            numbers = self._private_key.public_key().public_numbers()
            self.public_jwk = {
                "kty": "EC",
                "crv": "P-256",
                "x": b64url(numbers.x.to_bytes(32, "big")),
                "y": b64url(numbers.y.to_bytes(32, "big")),
            }
        else:
            raise ValueError(f"unsupported algorithm {algorithm}")

    @property
    def jkt(self) -> str:
        """RFC 7638 thumbprint: required members only, sorted, no white space."""
        canonical = json.dumps(self.public_jwk, separators=(",", ":"), sort_keys=True)
        return b64url(hashlib.sha256(canonical.encode("utf-8")).digest())

    def create_proof(self, method: str, uri: str, access_token: str | None = None) -> str:
        parts = urllib.parse.urlsplit(uri)
        claims = {
            "jti": str(uuid.uuid4()),
            "htm": method,
            # RFC 9449 §4.2: the target URI without query and fragment.
            "htu": urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")),
            "iat": int(time.time()),
        }
        if access_token is not None:
            # The spec's example forgets this one: every proof sent with a token carries it.
            claims["ath"] = b64url(hashlib.sha256(access_token.encode("ascii")).digest())
        headers = {"typ": "dpop+jwt", "jwk": self.public_jwk}
        return jwt.encode(claims, self._private_key, algorithm=self.algorithm, headers=headers)


class ARCPError(Exception):
    def __init__(self, status: int, problem: dict):
        super().__init__(f"{status} {problem.get('code') or problem.get('title')}: {problem.get('detail')}")
        self.status = status
        self.problem = problem


class DPoPARCPClient:
    """ARCP's three phases, a fresh proof on every request."""

    def __init__(self, base_url: str, dpop: DPoPGenerator, scheme: str = "DPoP"):
        self.base_url = base_url.rstrip("/")
        self.dpop = dpop
        self.scheme = scheme

    def get_dpop_jkt(self) -> str:
        return self.dpop.jkt

    def request(self, method: str, path: str, token: str | None = None, body: dict | None = None):
        url = self.base_url + path
        headers = {"DPoP": self.dpop.create_proof(method, url, token), "Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"{self.scheme} {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as res:
                return res.status, json.loads(res.read() or b"{}")
        except urllib.error.HTTPError as error:
            problem = json.loads(error.read() or b"{}")
            raise ARCPError(error.code, problem) from None

    def request_temp_token(self, agent_id: str, agent_type: str, agent_key: str) -> dict:
        body = {"agent_id": agent_id, "agent_type": agent_type, "agent_key": agent_key}
        return self.request("POST", "/auth/agent/request_temp_token", body=body)[1]

    def validate_compliance(self, temp_token: str, agent_data: dict, timeout: float = 60) -> dict:
        _, status = self.request("POST", "/auth/agent/validate_compliance", temp_token, agent_data)
        deadline = time.time() + timeout
        while status.get("status") == "pending":
            if time.time() > deadline:
                raise TimeoutError("validation still pending")
            time.sleep(min(float(status.get("retry_after") or 0.05), 1.0))
            path = f"/auth/agent/validation/{urllib.parse.quote(status['validation_id'])}"
            _, status = self.request("GET", path, temp_token)
        if status.get("status") != "passed":
            raise ARCPError(200, {"title": "validation failed", "detail": json.dumps(status)})
        return status

    def register_agent(self, validated_token: str, agent_data: dict) -> dict:
        return self.request("POST", "/agents/register", validated_token, agent_data)[1]

    def heartbeat(self, agent_id: str, access_token: str) -> dict:
        path = f"/agents/{urllib.parse.quote(agent_id)}/heartbeat"
        return self.request("POST", path, access_token, {})[1]

    def get_agent(self, agent_id: str, access_token: str) -> dict:
        return self.request("GET", f"/agents/{urllib.parse.quote(agent_id)}", access_token)[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("agent_key")
    parser.add_argument("--agent-id", default=f"py-agent-{uuid.uuid4().hex[:8]}")
    parser.add_argument("--alg", default="EdDSA", choices=["EdDSA", "ES256"])
    parser.add_argument("--scheme", default="DPoP", choices=["DPoP", "Bearer"])
    args = parser.parse_args()

    client = DPoPARCPClient(args.base_url, DPoPGenerator(args.alg), args.scheme)
    agent_id = args.agent_id
    try:
        temp = client.request_temp_token(agent_id, "automation", args.agent_key)
        validation = client.validate_compliance(
            temp["temp_token"],
            {
                "agent_id": agent_id,
                "agent_type": "automation",
                "endpoint": "https://agent.example.com",
                "capabilities": ["processing"],
                "communication_mode": "remote",
                "version": "1.0.0",
            },
        )
        registered = client.register_agent(
            validation["validated_token"],
            {
                "agent_id": agent_id,
                "name": "Python Agent",
                "agent_type": "automation",
                "endpoint": "https://agent.example.com",
                "capabilities": ["processing"],
                "context_brief": "An agent written in Python with PyJWT.",
                "owner": "python-example",
                "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHh0ZXN0a2V5dGVzdGtleXRlc3RrZXl0ZXN0a2V5",
                "metadata": {"language": "python"},
                "version": "1.0.0",
                "communication_mode": "remote",
            },
        )
        access = registered["access_token"]
        beat = client.heartbeat(agent_id, access)
        agent = client.get_agent(agent_id, access)
    except ARCPError as error:
        print(json.dumps({"error": str(error), "status": error.status, "problem": error.problem}))
        return 1
    print(
        json.dumps(
            {
                "agent_id": agent["agent_id"],
                "jkt": client.get_dpop_jkt(),
                "token_type": registered.get("token_type"),
                "heartbeat": beat.get("status"),
                "tokens": [temp["temp_token"], validation["validated_token"], access],
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
