"""Ed25519 keys and signed messages between a hub and its region nodes.

A message is a JSON body; its signature covers the HTTP method, the path and the
exact body bytes (``POST /api/v1/counts/node/x/evaluate\\n{...}``), so a signed
request cannot be replayed to another endpoint. Every request carries a fresh nonce
and the time it was issued; a node refuses a request outside the clock window or
with a nonce it has seen (``services.nonce_accept``). A node's answer repeats the
request's id and nonce and is signed with the node's own key.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

SIGNATURE_HEADER = "X-Trialnode-Signature"
KEY_HEADER = "X-Trialnode-Key"
CLOCK_WINDOW_SECONDS = 120
MAX_MESSAGE_BYTES = 600 * 1024


class SignatureError(ValueError):
    pass


def key_dir() -> Path:
    from django.conf import settings

    folder = Path(settings.DATA_DIR) / "counts" / "keys"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def private_key(name: str) -> Ed25519PrivateKey:
    """The private key called ``name`` in the data directory, made on first use."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise ValueError(f"invalid key name {name!r}")
    path = key_dir() / f"{name}.pem"
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise SignatureError(f"{path} is not an Ed25519 key")
        return loaded
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    return key


def public_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def load_public(pem: str) -> Ed25519PublicKey:
    try:
        loaded = serialization.load_pem_public_key(pem.strip().encode())
    except ValueError:
        raise SignatureError("not a PEM public key") from None
    if not isinstance(loaded, Ed25519PublicKey):
        raise SignatureError("not an Ed25519 public key")
    return loaded


def key_id(pem: str) -> str:
    """A short fingerprint of a public key, sent beside signatures."""
    raw = load_public(pem).public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:32]


def _signed_bytes(method: str, path: str, body: bytes) -> bytes:
    return f"{method.upper()} {path}\n".encode() + body


def sign(key: Ed25519PrivateKey, method: str, path: str, body: bytes) -> str:
    return base64.b64encode(key.sign(_signed_bytes(method, path, body))).decode()


def verify(public: Ed25519PublicKey, signature: str, method: str, path: str, body: bytes) -> None:
    try:
        raw = base64.b64decode(signature.encode(), validate=True)
        public.verify(raw, _signed_bytes(method, path, body))
    except (InvalidSignature, ValueError):
        raise SignatureError("the signature does not match") from None


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message, sort_keys=True, separators=(",", ":")).encode()


def decode(body: bytes) -> dict[str, Any]:
    if len(body) > MAX_MESSAGE_BYTES:
        raise SignatureError("the message is too large")
    try:
        message = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise SignatureError("the message is not JSON") from None
    if not isinstance(message, dict):
        raise SignatureError("the message is not a JSON object")
    return message
