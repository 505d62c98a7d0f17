"""Key material and the primitives built on it: sealed secrets, keyed MACs, opaque tokens.

One 32-byte master key (``WARDWATCH_SECRET_KEY`` or ``<data>/keys/secret.key``) is split
with HKDF into independent subkeys, so the key that seals camera passwords is never the
key that authenticates the audit log.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from wardwatch.kernel.errors import ConfigError
from wardwatch.kernel.fastmac import keyed_state, mac_with

MASTER_KEY_BYTES = 32
_SEAL_VERSION = 1


def derive_key(master: bytes, purpose: str) -> bytes:
    """An independent 32-byte subkey of ``master`` for one named purpose."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=b"wardwatch/v1", info=purpose.encode()).derive(
        master
    )


def write_private_file(path: Path, content: bytes) -> None:
    """Create ``path`` readable by its owner only; never overwrites existing key material."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
        handle.flush()
        os.fsync(handle.fileno())


def load_master_key(keys_dir: Path, configured: str | None, create: bool = False) -> bytes:
    """The master key from configuration, else from ``keys_dir/secret.key`` (made if asked)."""
    if configured:
        try:
            key = base64.b64decode(configured, validate=True)
        except ValueError as exc:
            raise ConfigError("secret_key: not valid base64") from exc
        if len(key) != MASTER_KEY_BYTES:
            raise ConfigError(f"secret_key: must decode to {MASTER_KEY_BYTES} bytes")
        return key
    path = keys_dir / "secret.key"
    if not path.exists():
        if not create:
            raise ConfigError(f"{path}: secret key missing; run 'wardwatch init' first")
        write_private_file(path, base64.b64encode(os.urandom(MASTER_KEY_BYTES)) + b"\n")
    try:
        key = base64.b64decode(path.read_bytes().strip(), validate=True)
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid base64") from exc
    if len(key) != MASTER_KEY_BYTES:
        raise ConfigError(f"{path}: must decode to {MASTER_KEY_BYTES} bytes")
    return key


class SecretBox:
    """AES-256-GCM sealing of small secrets (camera credentials, TOTP seeds).

    The associated data binds a ciphertext to the record it belongs to, so a sealed
    password copied from one camera row to another no longer opens.
    """

    def __init__(self, master: bytes) -> None:
        key = derive_key(master, "secret-box")
        self._aead = AESGCM(key)
        self._key_id = hashlib.sha256(key).digest()[:4]

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext, context.encode())
        return bytes([_SEAL_VERSION]) + self._key_id + nonce + sealed

    def open(self, blob: bytes, context: str) -> bytes:
        if len(blob) < 1 + 4 + 12 + 16 or blob[0] != _SEAL_VERSION:
            raise ValueError("not a sealed secret")
        if blob[1:5] != self._key_id:
            raise ValueError("sealed with a different key")
        try:
            return self._aead.decrypt(blob[5:17], blob[17:], context.encode())
        except InvalidTag as exc:
            raise ValueError("sealed secret does not authenticate") from exc


class Mac:
    """Keyed BLAKE2s-256 under a derived key; authenticates records an attacker could rewrite."""

    def __init__(self, master: bytes, purpose: str) -> None:
        self.key = derive_key(master, purpose)
        self._state = keyed_state(self.key)

    def tag(self, message: bytes) -> bytes:
        return mac_with(self._state, message)

    def check(self, message: bytes, tag: bytes) -> bool:
        return hmac.compare_digest(self.tag(message), tag)


def new_token(prefix: str) -> tuple[str, str]:
    """A bearer secret ``<prefix>_<lookup>_<secret>`` and its lookup id.

    Only the SHA-256 of the whole token is stored: tokens carry 256 bits of entropy, so a
    slow password hash would add cost without adding safety.
    """
    lookup = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{prefix}_{lookup}_{secret}", lookup


def token_lookup(token: str) -> str | None:
    parts = token.split("_", 2)
    if len(parts) != 3 or not parts[1]:
        return None
    return parts[1]


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()
