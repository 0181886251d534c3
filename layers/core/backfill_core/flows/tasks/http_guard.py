"""The connections an HTTP task may make from the task runner: through the HTTP and HTTPS handlers only, each
connection checked before it is made and again on the address actually connected to (a redirect or a second
DNS answer included): never the Lambda runtime API, which hands out this function's invocations, nor a
link-local address, where metadata and credential endpoints live."""

import http.client
import ipaddress
import os
import socket
import ssl
import urllib.request
from dataclasses import dataclass


class RequestRefused(Exception):
    """The request may not be made (a blocked address, a bad option value): the task fails saying why."""


@dataclass(frozen=True)
class Limits:
    connect_seconds: float
    read_seconds: float
    deadline: float  # time.monotonic() by which the whole task must be done


def _blocked_peer(host: str, port: int) -> str | None:
    """Why a connection to this address is refused, or None: the Lambda runtime API (which hands out the
    invocations of this function) and link-local addresses (instance and container metadata, credentials)."""
    address = ipaddress.ip_address(host.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_link_local:
        return f"{address} is a link-local address (metadata and credential endpoints live there)"
    runtime = os.environ.get("AWS_LAMBDA_RUNTIME_API", "")
    if runtime:
        runtime_host, _, runtime_port = runtime.rpartition(":")
        try:
            runtime_addresses = {info[4][0] for info in socket.getaddrinfo(runtime_host, int(runtime_port or 80))}
        except (OSError, ValueError):
            runtime_addresses = set()
        # Any loopback address reaches it (127.0.0.2, 0.0.0.0 and ::1 included), not only the one it names.
        near = address.is_loopback or address.is_unspecified or str(address) in runtime_addresses
        if port == int(runtime_port or 80) and near:
            return "it is the Lambda runtime API of the task runner"
    return None


def _guarded(base: type[http.client.HTTPConnection], limits: Limits) -> type[http.client.HTTPConnection]:
    class Guarded(base):  # type: ignore[valid-type, misc]
        def connect(self) -> None:
            # Checked before connecting (a blocked address may not answer at all) and on the address connected
            # to (the name may resolve differently the second time).
            for info in socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM):
                why = _blocked_peer(str(info[4][0]), int(info[4][1]))
                if why:
                    raise RequestRefused(f"connection to {self.host}:{self.port} refused: {why}")
            self.timeout = limits.connect_seconds
            super().connect()
            peer = self.sock.getpeername()
            why = _blocked_peer(peer[0], peer[1])
            if why:
                self.sock.close()
                raise RequestRefused(f"connection to {self.host}:{self.port} refused: {why}")
            self.sock.settimeout(limits.read_seconds)

    return Guarded


class GuardedHTTP(urllib.request.HTTPHandler):
    def __init__(self, limits: Limits):
        super().__init__()
        self.connection = _guarded(http.client.HTTPConnection, limits)

    def http_open(self, req):
        return self.do_open(self.connection, req)


class GuardedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, limits: Limits, context: ssl.SSLContext):
        super().__init__(context=context)
        self.connection = _guarded(http.client.HTTPSConnection, limits)
        self.tls = context

    def https_open(self, req):
        return self.do_open(self.connection, req, context=self.tls)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # the 3xx answer is the response
