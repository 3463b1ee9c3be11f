"""Development signing keys: created once in ``.rivet/keys`` so tokens survive restarts."""

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)


def generate() -> tuple[str, str]:
    """A new Ed25519 key pair as (private PEM, public PEM)."""
    key = Ed25519PrivateKey.generate()
    private = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()).decode()
    public = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return private, public.decode()


def ensure_keys(folder: Path) -> tuple[Path, Path]:
    """Paths of the private and public key, creating the pair on first use."""
    folder.mkdir(parents=True, exist_ok=True)
    private_path, public_path = folder / "jwt-private.pem", folder / "jwt-public.pem"
    if not private_path.exists() or not public_path.exists():
        private, public = generate()
        private_path.touch(mode=0o600)
        private_path.write_text(private)
        public_path.write_text(public)
    return private_path, public_path
