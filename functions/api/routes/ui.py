"""The web UI: static files from ../ui, shipped with this function (CodeUri functions/api). They hold no data and
load without the token; every call they make goes through the API routes, token and all. Not part of the API, so
registered with route and left out of the OpenAPI document."""

import re
from http import HTTPStatus
from pathlib import Path

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from errors import message

router = Router()

UI_DIR = Path(__file__).resolve().parent.parent / "ui"
UI_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
UI_ASSET = re.compile(r"[A-Za-z0-9_-]+\.(html|js|css|svg)")  # a plain file name: no slash, no dot-dot
UI_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
}


def is_ui_asset(path: str) -> bool:
    return path in ("/ui", "/ui/") or (path.startswith("/ui/") and bool(UI_ASSET.fullmatch(path[4:])))


@router.route("/ui", method="GET", include_in_schema=False)  # matches /ui/ too
def ui_index():
    if not router.current_event.path.endswith(
        "/"
    ):  # relative links need the slash; a relative Location keeps the stage
        return Response(status_code=HTTPStatus.FOUND, headers={"Location": "ui/"}, body="")
    return ui_asset("index.html")


@router.route("/ui/<asset>", method="GET", include_in_schema=False)
def ui_asset(asset: str):
    path = UI_DIR / asset
    if not UI_ASSET.fullmatch(asset) or path.resolve().parent != UI_DIR or not path.is_file():
        return message(HTTPStatus.NOT_FOUND, f"No UI file {asset}")
    return Response(
        status_code=HTTPStatus.OK,
        content_type=UI_TYPES[path.suffix],
        body=path.read_text(encoding="utf-8"),
        headers=dict(UI_HEADERS),
    )
