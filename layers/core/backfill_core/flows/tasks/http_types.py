"""Kestra's HTTP Request and Download tasks: their names, the properties of their `options`, and the checks the
engine makes at registration. Only names and checks live here, so the engine and the task runner agree on them
without importing each other; the request itself is made by the task runner (tasks/http_request.py, and
tasks/http_download.py, which keeps the response as a kestra:// file)."""

from typing import Any

from backfill_core.flows.tasks.script_types import flag

HTTP_REQUEST = "io.kestra.plugin.core.http.Request"
HTTP_REQUEST_LEGACY = "io.kestra.plugin.fs.http.Request"  # Kestra's alias of the same task
HTTP_TASK_TYPES = (HTTP_REQUEST, HTTP_REQUEST_LEGACY)
HTTP_DOWNLOAD = "io.kestra.plugin.core.http.Download"
HTTP_DOWNLOAD_LEGACY = "io.kestra.plugin.fs.http.Download"  # Kestra's alias of the same task
HTTP_DOWNLOAD_TYPES = (HTTP_DOWNLOAD, HTTP_DOWNLOAD_LEGACY)
# Kestra task types known and refused, with why (any other unknown type is refused with the supported list).
REFUSED_TASK_TYPES: dict[str, str] = {}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE")
AUTH_TYPES = ("BASIC", "BEARER", "DIGEST")
LOG_KINDS = ("REQUEST_HEADERS", "REQUEST_BODY", "RESPONSE_HEADERS", "RESPONSE_BODY")
# Kestra's deprecated `options.logLevel`, as it maps it onto `options.logs`.
LOG_LEVEL_KINDS = {
    "TRACE": LOG_KINDS,
    "DEBUG": ("REQUEST_HEADERS", "RESPONSE_HEADERS"),
    "INFO": ("RESPONSE_HEADERS",),
    "WARN": (),
    "ERROR": (),
    "OFF": (),
}
NO_PROXY = "not supported: the task runner reaches the network directly, without a proxy"
NO_POOL = "not supported: Kestra ignores it (each task makes its own connection)"
NEEDS_STORAGE = "not supported yet: it needs Kestra's internal storage (kestra:// files)"

# Download's properties: Request's (but encryptBody, which Download has not) and its own.
DOWNLOAD: dict[str, str | None] = {
    "uri": None,
    "method": None,
    "body": None,
    "formData": None,  # fields as text; file parts are refused as for Request
    "contentType": None,
    "headers": None,
    "options": None,
    "allowFailed": None,  # Kestra's deprecated name of options.allowFailed
    "sslOptions": None,  # Kestra's deprecated name of options.ssl
    "failOnEmptyResponse": None,
    "saveAs": None,  # the stored file's name; a plain name, no folder
}
HTTP_DOWNLOAD_PROPERTIES = {kind: DOWNLOAD for kind in HTTP_DOWNLOAD_TYPES}

# `options` (Kestra's HttpConfiguration): name -> None when implemented, else why it is refused.
OPTIONS: dict[str, str | None] = {
    "timeout": None,
    "auth": None,
    "ssl": None,
    "followRedirects": None,
    "allowFailed": None,
    "allowedResponseCodes": None,
    "defaultCharset": None,
    "logs": None,
    "proxy": NO_PROXY,
    # Kestra's deprecated names, mapped as Kestra maps them.
    "connectTimeout": None,
    "readTimeout": None,
    "basicAuthUser": None,
    "basicAuthPassword": None,
    "logLevel": None,
    "maxContentLength": None,  # a bound below this deployment's own (MAX_BODY_BYTES)
    "proxyType": NO_PROXY,
    "proxyAddress": NO_PROXY,
    "proxyPort": NO_PROXY,
    "proxyUsername": NO_PROXY,
    "proxyPassword": NO_PROXY,
    "readIdleTimeout": None,
    "connectionPoolIdleTimeout": NO_POOL,
}
TIMEOUT_OPTIONS = ("connectTimeout", "readIdleTimeout")
SSL_OPTIONS = ("insecureTrustAllCertificates",)
AUTH_OPTIONS = {
    "BASIC": ("type", "username", "password"),
    "BEARER": ("type", "token"),
    "DIGEST": ("type", "username", "password"),
}


def _templated(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _flag_problem(where: str, value: Any) -> str | None:
    if value is None or isinstance(value, bool) or _templated(value):
        return None
    if str(value).strip().lower() in ("true", "false"):
        return None
    return f"{where}: true or false (or an expression giving one) is required"


def _map_problem(where: str, value: Any, known: tuple[str, ...]) -> str | None:
    if not isinstance(value, dict):
        return f"{where}: a map is required"
    for name in value:
        if name not in known:
            return f"{where}.{name}: not a property of {where.rsplit('.', 1)[-1]} (known: {', '.join(known)})"
    return None


def _auth_problem(auth: Any) -> str | None:
    if not isinstance(auth, dict):
        return f"options.auth: a map with a type ({', '.join(AUTH_TYPES)}) is required"
    kind = str(auth.get("type", "")).upper()
    if kind not in AUTH_TYPES:
        return f"options.auth.type: one of {', '.join(AUTH_TYPES)} is required"
    return _map_problem("options.auth", auth, AUTH_OPTIONS[kind])


def options_problem(options: Any) -> str | None:
    """The first problem with a Request's `options` as `options.x: problem`, or None."""
    if not isinstance(options, dict):
        return "options: a map is required"
    for name, value in options.items():
        if name not in OPTIONS:
            return f"options.{name}: not a property of the HTTP options"
        if OPTIONS[name] is not None:
            return f"options.{name}: {OPTIONS[name]}"
        problem = None
        if name == "timeout":
            problem = _map_problem("options.timeout", value, TIMEOUT_OPTIONS)
        elif name == "ssl":
            problem = _map_problem("options.ssl", value, SSL_OPTIONS)
            problem = problem or _flag_problem("options.ssl.insecureTrustAllCertificates", value.get(SSL_OPTIONS[0]))
        elif name == "auth":
            problem = _auth_problem(value)
        elif name in ("followRedirects", "allowFailed"):
            problem = _flag_problem(f"options.{name}", value)
        elif name == "logs":
            if not isinstance(value, list) or any(str(kind) not in LOG_KINDS for kind in value):
                problem = f"options.logs: a list of {', '.join(LOG_KINDS)} is required"
        elif name == "logLevel" and str(value).upper() not in LOG_LEVEL_KINDS:
            problem = f"options.logLevel: one of {', '.join(LOG_LEVEL_KINDS)} is required"
        elif name == "allowedResponseCodes" and not (
            _templated(value) or (isinstance(value, list) and all(isinstance(code, int) for code in value))
        ):
            problem = "options.allowedResponseCodes: a list of status codes is required"
        elif name == "maxContentLength" and not (_templated(value) or isinstance(value, int)):
            problem = "options.maxContentLength: a number of bytes is required"
        if problem:
            return problem
    return None


def _form_problem(form: Any) -> str | None:
    if not isinstance(form, dict):
        return "formData: a map of field names to values is required"
    for name, value in form.items():
        if isinstance(value, dict) and ("content" in value or "url" in value):
            return f"formData.{name}: a file part {NEEDS_STORAGE}"
        if isinstance(value, str) and value.startswith("kestra://"):
            return f"formData.{name}: a kestra:// file {NEEDS_STORAGE}"
    return None


def validate_http_task(props: dict[str, Any]) -> str | None:
    """The first problem with a Request's properties as `field: problem`, or None."""
    uri = props.get("uri")
    if not isinstance(uri, str) or not uri.strip():
        return "uri: the URL to call is required"
    if not _templated(uri) and not uri.strip().lower().startswith(("http://", "https://")):
        return "uri: an http:// or https:// URL is required"
    method = props.get("method", "GET")
    if not isinstance(method, str) or (not _templated(method) and method.upper() not in METHODS):
        return f"method: one of {', '.join(METHODS)} is required"
    for name in ("body", "contentType"):
        if name in props and not isinstance(props[name], str):
            return f"{name}: a string (which may hold expressions) is required"
    if "headers" in props and not (
        isinstance(props["headers"], dict) and all(not isinstance(v, (dict, list)) for v in props["headers"].values())
    ):
        return "headers: a map of header names to values is required"
    if "formData" in props:
        problem = _form_problem(props["formData"])
        if problem:
            return problem
    if "sslOptions" in props:
        problem = _map_problem("sslOptions", props["sslOptions"], SSL_OPTIONS)
        if problem:
            return problem
    if "options" in props:
        problem = options_problem(props["options"])
        if problem:
            return problem
    if props.get("encryptBody") not in (None, False, "false"):
        return "encryptBody: only false is supported: this deployment has no Kestra encryption key to encrypt with"
    return _flag_problem("allowFailed", props.get("allowFailed"))


def save_as_problem(name: Any) -> str | None:
    """Why `saveAs` cannot name the stored file (a folder, `.` or `..`, a character a kestra:// path may not
    hold), or None. Checked at registration (unless an expression) and again on the rendered value."""
    if not isinstance(name, str) or name in ("", ".", "..") or any(char in name for char in "/\\?#\0"):
        return "saveAs: a file name is required (no folder, not '.' or '..', no '?' or '#')"
    return None


def validate_download_task(props: dict[str, Any]) -> str | None:
    """The first problem with a Download's properties as `field: problem`, or None."""
    problem = validate_http_task(props) or _flag_problem("failOnEmptyResponse", props.get("failOnEmptyResponse"))
    if problem is None and "saveAs" in props and not _templated(props["saveAs"]):
        problem = save_as_problem(props["saveAs"])
    return problem


def http_flag(value: Any, name: str, default: bool) -> bool:
    """A rendered boolean option (Property<Boolean>)."""
    return flag({name: value} if value is not None else {}, name, default)
