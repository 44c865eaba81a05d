"""Encryption at rest and keyed hashes for personal data (phone numbers, message texts, names)."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask, current_app

EXTENSION_KEY = "hotline.pii"


class PiiCipher:
    """Encrypts with the newest key, decrypts with any, and hashes for exact look-ups.

    ``keys`` is newest first, as in ``HOTLINE_PII_KEY``; older keys stay readable
    so a rotation can re-encrypt rows at its own pace.
    """

    def __init__(self, keys: list[str]):
        if not keys:
            raise ValueError("at least one key is needed")
        try:
            self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
        except (ValueError, TypeError) as error:
            raise ValueError(
                "HOTLINE_PII_KEY must hold Fernet keys (32 url-safe base64 bytes), comma separated"
            ) from error
        # A separate key per Fernet key for hashing, so a hash never reveals the encryption key.
        self._hash_keys = [
            hmac.new(key.encode(), b"hotline lookup hash v1", hashlib.sha256).digest() for key in keys
        ]

    @classmethod
    def from_setting(cls, setting: str) -> PiiCipher:
        return cls([key.strip() for key in setting.split(",") if key.strip()])

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except InvalidToken as error:
            raise ValueError("personal data could not be decrypted with any configured key") from error

    def rotate(self, token: str) -> str:
        """Re-encrypt ``token`` under the newest key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def lookup_hash(self, value: str) -> str:
        """The keyed hash stored beside an encrypted value, computed with the newest key."""
        return self.lookup_hashes(value)[0]

    def lookup_hashes(self, value: str) -> list[str]:
        """The value's hash under every key, newest first, to find rows written before a rotation."""
        data = value.encode("utf-8")
        return [hmac.new(key, data, hashlib.sha256).hexdigest() for key in self._hash_keys]


def development_key_file(instance_path: str) -> str:
    """Return the development key kept under ``instance/``, creating it on first use."""
    path = Path(instance_path) / "pii.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Fernet.generate_key().decode("ascii") + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


def init_app(app: Flask) -> None:
    """Attach the cipher built from ``HOTLINE_PII_KEY`` (or the development key file)."""
    setting = app.config.get("HOTLINE_PII_KEY") or development_key_file(app.instance_path)
    app.extensions[EXTENSION_KEY] = PiiCipher.from_setting(setting)


def cipher() -> PiiCipher:
    """The cipher of the current application."""
    return current_app.extensions[EXTENSION_KEY]
