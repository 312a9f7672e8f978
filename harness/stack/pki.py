"""A certificate authority that lives for one run, so every TLS name in the stack is real TLS.

Clients in the builder trust `RunCA.ca_pem`; servers (simulated internet, mirror gateway) present
certificates from `RunCA.issue`. Nothing is written to disk here: callers place the PEM bytes where
their container needs them (ServiceSpec.files).
"""

import ipaddress
from dataclasses import dataclass

import trustme


@dataclass(frozen=True)
class CertPair:
    cert_pem: bytes  # the leaf certificate (clients trust the CA itself, so no intermediates)
    key_pem: bytes


class RunCA:
    """A fresh CA per run; `issue` signs leaf certificates for DNS names and IP addresses."""

    def __init__(self, organization: str = "airgap-harness run CA") -> None:
        self._ca = trustme.CA(organization_name=organization)
        self.ca_pem: bytes = self._ca.cert_pem.bytes()

    def issue(self, names: list[str]) -> CertPair:
        """A certificate valid for every name in `names` (DNS names, wildcards like `*.x.y`, or IP literals)."""
        cleaned = [_check_name(name) for name in names]
        if not cleaned:
            raise ValueError("RunCA.issue needs at least one DNS name or IP address")
        leaf = self._ca.issue_cert(*dict.fromkeys(cleaned))
        chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
        return CertPair(cert_pem=chain, key_pem=leaf.private_key_pem.bytes())


def _check_name(name: str) -> str:
    """Reject what is not a host name or IP (a port, a scheme, a path): it would silently never match."""
    name = name.strip()
    try:
        return str(ipaddress.ip_address(name))
    except ValueError:
        pass
    if not name or any(ch in name for ch in ":/ @") or name.startswith(".") or ".." in name:
        raise ValueError(f"not a DNS name or IP address for a certificate: {name!r}")
    return name.lower()
