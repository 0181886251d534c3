"""A tiny HTTP server on loopback for the HTTP task's tests: it records every request it gets and answers by
path: `/status/<code>`, `/slow/<seconds>`, `/redirect` (302 to /echo), `/redirect-to/<quoted URL>`, `/digest` (digest
authentication), `/big` (a body past what a task run keeps), `/binary` (bytes that are no text), `/empty` (no
body), `/attachment` (a Content-Disposition file name that tries to leave its folder), anything else a JSON echo of
the request."""

import hashlib
import ipaddress
import json
import re
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

REALM, NONCE = "kestra", "dcd98b7102dd2f0e8b11d0f600bfb0c093"


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RecordingServer:
    server: ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        scheme = "https" if isinstance(self.server.socket, ssl.SSLSocket) else "http"
        return f"{scheme}://{host}:{port}"

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def self_signed_context(folder) -> ssl.SSLContext:
    """A server TLS context with a certificate for 127.0.0.1 that no authority signed."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


def start_server(tls: ssl.SSLContext | None = None) -> RecordingServer:
    recording: list[Received] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recording.append(Received(self.command, self.path, dict(self.headers.items()), body))
            if self.path.startswith("/slow/"):
                time.sleep(float(self.path.removeprefix("/slow/")))
                self._send(200, b"slow", "text/plain")
            elif self.path == "/digest":
                self._digest()
            elif self.path.startswith("/status/"):
                code = int(self.path.removeprefix("/status/"))
                self._send(code, f"status {code}".encode(), "text/plain")
            elif self.path.startswith("/redirect"):
                self.send_response(302)
                to = self.path.removeprefix("/redirect-to/")
                self.send_header("Location", unquote(to) if to != self.path else "/echo")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/big":
                self._send(200, b"a" * 60_000, "text/plain")
            elif self.path == "/binary":
                self._send(200, b"\xff\xfe\xfd", "application/octet-stream; charset=utf-8")
            elif self.path == "/empty":
                self._send(200, b"", "text/plain")
            elif self.path == "/attachment":
                disposition = {"Content-Disposition": ['attachment; filename="../report 1.csv"']}
                self._send(200, b"a,b\n1,2\n", "text/csv", disposition)
            else:
                echo = {"method": self.command, "path": self.path, "body": body.decode(errors="replace")}
                self._send(200, json.dumps(echo).encode(), "application/json", {"X-Echo": ["one", "two"]})

        def _digest(self) -> None:
            """RFC 7616 with MD5 and qop=auth, for the user `admin` with the password `s3cret`."""
            given = self.headers.get("Authorization", "")
            fields = dict(re.findall(r'(\w+)="?([^",]*)"?', given.removeprefix("Digest "))) if given else {}

            def md5(text: str) -> str:
                return hashlib.md5(text.encode()).hexdigest()

            first, second = md5(f"admin:{REALM}:s3cret"), md5(f"{self.command}:{fields.get('uri')}")
            parts = (first, NONCE, fields.get("nc"), fields.get("cnonce"), fields.get("qop"), second)
            if given.startswith("Digest ") and fields.get("response") == md5(":".join(map(str, parts))):
                self._send(200, b"digest ok", "text/plain")
                return
            challenge = f'Digest realm="{REALM}", nonce="{NONCE}", qop="auth", algorithm=MD5'
            self._send(401, b"who are you", "text/plain", {"WWW-Authenticate": [challenge]})

        def _send(self, code: int, body: bytes, content_type: str, extra: dict | None = None) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, values in (extra or {}).items():
                for value in values:
                    self.send_header(name, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer()

        def do_POST(self) -> None:
            self._answer()

        def do_PUT(self) -> None:
            self._answer()

        def do_DELETE(self) -> None:
            self._answer()

        def do_HEAD(self) -> None:
            self._answer()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return RecordingServer(server, recording)
