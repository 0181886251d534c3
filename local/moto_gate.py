"""moto on loopback answers whoever connects to it, flow commands included (they can find its port in
/proc/net/tcp), and the local task runner's Invoke API likewise. So the stack's own requests carry a secret
key in a header, and both refuse anything without it: a flow can no more write the tables or forge queue
messages locally than on AWS, where IAM refuses it. The one exception is the task runner's kill check, a
presigned GET of a kill marker (its URL is all the runner knows)."""

import re
import secrets
from urllib.parse import parse_qs

import boto3
from botocore import handlers
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import make_server

HEADER = "X-Local-Stack-Key"
ENVIRON_KEY = "HTTP_X_LOCAL_STACK_KEY"


def new_key() -> str:
    return secrets.token_urlsafe(32)


def is_presigned_kill_check(environ: dict) -> bool:
    query = parse_qs(environ.get("QUERY_STRING", ""))
    return (
        environ.get("REQUEST_METHOD") == "GET"
        and "/kill/" in environ.get("PATH_INFO", "")
        and ("X-Amz-Signature" in query)
    )


def is_flow_s3_request(environ: dict) -> bool:
    """What the task runner's role may do on AWS: S3 (its flows' buckets, the internal storage's files/*), never
    the engine's tables or queue, nor its kill markers. The service is the one the request is signed for."""
    scope = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    kill_marker = re.match(r"^(/[^/]+)?/kill/", environ.get("PATH_INFO", ""))  # path- or host-style
    return bool(scope) and scope.group(1) == "s3" and not kill_marker


class Gate:
    """WSGI middleware: the key, or 403. The task runner's key (`runner_key`) opens only its role's S3 calls."""

    def __init__(self, app, key: str, allow=is_presigned_kill_check, runner_key: str = ""):
        self.app, self.key, self.allow, self.runner_key = app, key, allow, runner_key

    def _runner_allowed(self, environ: dict) -> bool:
        given = environ.get(ENVIRON_KEY, "")
        return bool(self.runner_key) and secrets.compare_digest(given, self.runner_key) and is_flow_s3_request(environ)

    def __call__(self, environ: dict, start_response):
        allowed = secrets.compare_digest(environ.get(ENVIRON_KEY, ""), self.key) or self.allow(environ)
        if allowed or self._runner_allowed(environ):
            return self.app(environ, start_response)
        body = b'{"message": "the local stack answers only its own requests"}'
        start_response("403 Forbidden", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]


class GatedMotoServer(ThreadedMotoServer):
    def __init__(self, ip_address: str, port: int, key: str, runner_key: str = ""):
        super().__init__(ip_address=ip_address, port=port, verbose=False)
        self.key, self.runner_key = key, runner_key

    def _server_entry(self) -> None:
        app = Gate(DomainDispatcherApplication(create_backend_app), self.key, runner_key=self.runner_key)
        self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
        self._server_ready_event.set()
        self._server.serve_forever()


def send_key_with_every_request(key: str) -> None:
    """Every AWS client this process makes from now on (the handlers' included, and through any session: the
    tests' moto mocks make new ones) carries the key."""

    def add_key(request, **_) -> None:
        request.headers[HEADER] = key

    handlers.BUILTIN_HANDLERS[:] = [
        h for h in handlers.BUILTIN_HANDLERS if getattr(h[1], "local_stack_key", False) is False
    ]
    add_key.local_stack_key = True  # type: ignore[attr-defined]
    handlers.BUILTIN_HANDLERS.append(("before-send", add_key))
    default = boto3.DEFAULT_SESSION
    if default is not None:
        default._session.register("before-send", add_key)


def carry_key(client, key: str) -> None:
    """One client (a tool's, reading a running stack's moto) sends the stack's key."""
    client.meta.events.register("before-send", lambda request, **_: request.headers.update({HEADER: key}))
