"""Certificates for the Python projects' TLS tests, made by openssl for the run: a CA, and server
certificates from it, as cert-manager issues them from the cluster's internal CA."""

from __future__ import annotations

import subprocess
from pathlib import Path

_KEY = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")


def _openssl(folder: Path, *args: str) -> None:
    subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)


def certificate_authority(folder: Path, name: str) -> Path:
    """A CA valid for two days: `<name>.key` and `<name>.crt` in `folder`; returns the certificate."""
    _openssl(folder, "req", "-x509", *_KEY, "-keyout", f"{name}.key", "-out", f"{name}.crt", "-days", "2", "-subj", f"/CN={name}")
    return folder / f"{name}.crt"


def issue(folder: Path, ca: str, name: str, subject_alt_name: str) -> Path:
    """A server certificate from the CA `ca` for `subject_alt_name` (e.g. `DNS:localhost`):
    `<name>.key` and `<name>.crt` in `folder`; returns the certificate."""
    (folder / f"{name}.ext").write_text(f"subjectAltName={subject_alt_name}\nextendedKeyUsage=serverAuth\n")
    _openssl(folder, "req", *_KEY, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
    signed_by = ("-CA", f"{ca}.crt", "-CAkey", f"{ca}.key", "-CAcreateserial")
    _openssl(folder, "x509", "-req", "-in", f"{name}.csr", *signed_by, "-out", f"{name}.crt", "-days", "1", "-extfile", f"{name}.ext")
    return folder / f"{name}.crt"
