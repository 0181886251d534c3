"""The HTTP side of the command line: one request at a time to the public API, with its authentication, and
the API's refusals turned into one line that names the field (the API's `{"message"}` already does)."""

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import requests

from backfill_cli.signing import SigV4Signer

LOCAL_URL = "http://127.0.0.1:8080"


class ApiError(Exception):
    """The API refused the call (4xx/5xx), or could not be reached (status None)."""

    def __init__(self, status: int | None, message: str):
        super().__init__(message)
        self.status = status
        self.message = message

    def passing(self) -> bool:
        """Worth asking again: the API was unreachable or failed on its side (a 4xx will not change)."""
        return self.status is None or self.status >= 500

    def one_line(self) -> str:
        text = " ".join(self.message.split())
        return f"{self.status}: {text}" if self.status else text


def path_of(*segments: str) -> str:
    """A path from ids, each quoted whole, so an id never adds a segment."""
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


@dataclass
class ApiClient:
    """The API at `url` (the local stack, or a deployed stage such as https://id.execute-api.region.amazonaws.com/prod),
    for `tenant` (None: Kestra's default tenant, `/api/v1/...`). `token` goes in `Authorization: Bearer` unless
    the calls are signed with SigV4, which owns that header; then it goes in the API's own `X-Api-Token`."""

    url: str = LOCAL_URL
    tenant: str | None = None
    token: str | None = None
    signer: SigV4Signer | None = None
    timeout: float = 30.0
    session: requests.Session = field(default_factory=requests.Session)

    def api_url(self, path: str, params: dict[str, Any] | None = None) -> str:
        prefix = "/api/v1" + (path_of(self.tenant) if self.tenant else "")
        query = {k: v for k, v in (params or {}).items() if v is not None}
        # %20 rather than +: SigV4's canonical query is percent-encoded, and the gateway reads + as itself.
        encoded = urlencode(query, doseq=True, quote_via=quote) if query else ""
        return self.url.rstrip("/") + prefix + path + (f"?{encoded}" if encoded else "")

    def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: Any = None,
        text: str | None = None,
        content_type: str | None = None,
    ) -> Any:
        """The answer's JSON (None for an empty answer); `body` is sent as JSON, `text` as it is."""
        url = self.api_url(path, params)
        data: bytes | None = None
        if body is not None:
            data, content_type = json.dumps(body).encode(), "application/json"
        elif text is not None:
            data = text.encode()
        headers = {"Accept": "application/json"}
        if content_type:
            headers["Content-Type"] = content_type
        if self.signer:
            headers.update(self.signer.headers_for(method, url, data, content_type))
            if self.token:
                headers["X-Api-Token"] = self.token
        elif self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        try:
            response = self.session.request(method, url, data=data, headers=headers, timeout=self.timeout)
        except requests.RequestException as error:
            raise ApiError(None, f"cannot reach {self.url}: {type(error).__name__}") from error
        if response.status_code >= 400:
            raise ApiError(response.status_code, refusal_message(response))
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise ApiError(response.status_code, f"{url} answered something that is not JSON") from error

    def get(self, path: str, **params: Any) -> Any:
        return self.call("GET", path, params)


def refusal_message(response: requests.Response) -> str:
    """The API's `{"message"}` (API Gateway's refusals have one too), else the status's reason."""
    try:
        answer = response.json()
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("message"), str):
        return str(answer["message"])
    return response.reason or "error"
