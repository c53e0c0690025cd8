"""Callbacks with broken TLS: a delivery is never made over a connection we could not verify.

Slow, resetting, redirecting and huge-bodied callbacks are in tests/integration/test_deliver_http.py
(each retried with its error class, redirects never followed, bodies read up to 64 KiB). Here a
real TLS receiver on loopback presents certificates made for the test: one from a CA the test
trusts (the control: delivered over TLS, name checked against the pinned address), and three
that must fail verification.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bcevents.aws import event_log
from callbacks import CallbackReceiver
from tests.integration.conftest import Deliveries

MakeInstance = Callable[..., dict[str, Any]]
Notify = Callable[..., list[Any]]
HOST = "hooks.example"


@dataclass(frozen=True)
class Pki:
    """A test CA and the files a TLS server needs."""

    directory: Path
    ca_key: ec.EllipticCurvePrivateKey
    ca_cert: x509.Certificate

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    def server_context(
        self, *, name: str = HOST, self_signed: bool = False, expired: bool = False
    ) -> ssl.SSLContext:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.UTC)
        not_after = now - dt.timedelta(days=1) if expired else now + dt.timedelta(days=1)
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        issuer, signer = (subject, key) if self_signed else (self.ca_cert.subject, self.ca_key)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=2))
            .not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
            )
            .sign(signer, hashes.SHA256())
        )
        stem = self.directory / f"{name}-{self_signed}-{expired}"
        cert_file, key_file = stem.with_suffix(".crt"), stem.with_suffix(".key")
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context


@pytest.fixture
def pki(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pki:
    """A CA that the service's HTTP client trusts for this test (as a public CA would be)."""
    import requests.adapters

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "reliability test CA")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=2))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    pki = Pki(tmp_path, key, cert)
    pki.ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(pki.ca_file))
    return pki


class TlsReceiver(CallbackReceiver):
    """The callback receiver behind TLS: a failed handshake never reaches the HTTP handler."""

    def __init__(self, context: ssl.SSLContext) -> None:
        super().__init__()
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)

    def https_url(self) -> str:
        return f"https://{HOST}:{self.port}/hook"


@pytest.fixture
def tls_receiver(pki: Pki, fake_dns: dict[str, str]) -> Iterator[Callable[..., TlsReceiver]]:
    fake_dns[HOST] = "127.0.0.1"
    started: list[TlsReceiver] = []

    def start(**certificate: Any) -> TlsReceiver:
        server = TlsReceiver(pki.server_context(**certificate))
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def test_a_callback_with_a_valid_certificate_is_delivered_over_tls(
    deliveries: Deliveries,
    tls_receiver: Callable[..., TlsReceiver],
    make_instance: MakeInstance,
    notify: Notify,
) -> None:
    """The control: TLS to a pinned loopback address still checks the certificate against the
    callback's host name, and succeeds when it matches."""
    server = tls_receiver()
    item = make_instance(server.https_url())
    deliveries.enqueue(*notify(item, 1))

    _, response = deliveries.run()

    assert response == {"batchItemFailures": []}
    [request] = server.requests
    assert request.header("Host") == f"{HOST}:{server.port}"


@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize(
    "certificate",
    [{"self_signed": True}, {"name": "someone-else.example"}, {"expired": True}],
    ids=["self-signed", "wrong-host-name", "expired"],
)
def test_a_callback_with_an_invalid_certificate_is_retried_and_never_delivered(
    deliveries: Deliveries,
    tls_receiver: Callable[..., TlsReceiver],
    make_instance: MakeInstance,
    notify: Notify,
    certificate: dict[str, Any],
) -> None:
    """Invariant: a certificate that does not verify fails the attempt as SSLError (retried like
    any transport failure, then dead-lettered); no request is ever sent over that connection."""
    server = tls_receiver(**certificate)
    item = make_instance(server.https_url())
    [n] = notify(item, 1)
    deliveries.enqueue(n)

    deliveries.run_until_empty()

    assert server.requests == []
    attempts = event_log.list_attempts(n.instance_id, n.id)
    assert [a["error"] for a in attempts] == ["SSLError"] * 4
    state = event_log.get_notification(n.instance_id, n.id)
    assert state is not None
    assert state["status"] == "FAILED"
    assert len(deliveries.dead_letters()) == 1
