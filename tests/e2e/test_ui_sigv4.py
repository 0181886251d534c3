"""The UI on AWS, where every API route needs IAM: its SigV4 signer (functions/api/ui/sigv4.js, run in Chromium)
signs as botocore does, and the credentials dialog lets a person in. API Gateway is played by a Playwright route
on a made-up execute-api host: it answers 403 as the gateway does unless botocore finds the same signature,
then hands the call to the local stack."""

import datetime
import json
from email.utils import formatdate
from unittest import mock
from urllib.parse import urlsplit

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from playwright.sync_api import Route, expect

from tests.e2e.conftest import start_stack
from tests.e2e.test_ui import DESKTOP, Screens, fill_window, open_trigger_form

REGION = "eu-west-1"
GATEWAY = f"https://a1b2c3d4e5.execute-api.{REGION}.amazonaws.com"
STAGE = "/prod"
ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLE//////////wEaCWV1LXdlc3QtMSJHMEUCIQ+example/token=="
FIXED = datetime.datetime(2024, 3, 28, 6, 30, 5, tzinfo=datetime.UTC)
SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access"
    " Key and signing method. Consult the service documentation for details."
)
expect.set_options(timeout=15_000)


def botocore_headers(method, url, body=b"", headers=None, params=None, token=None, secret=SECRET_KEY, when=FIXED):
    """What botocore adds to sign this request at `when`: its Authorization, X-Amz-Date, X-Amz-Security-Token."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}), params=params or {})
    # add_auth stamps the request with get_current_datetime(); pinned so both signers use one instant.
    with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
        SigV4Auth(Credentials(ACCESS_KEY, secret, token), "execute-api", REGION).add_auth(request)
    return {k: v for k, v in request.headers.items() if k.lower().startswith(("authorization", "x-amz-"))}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    running = start_stack(tmp_path_factory, None)
    yield running
    if running.process.poll() is None:
        assert running.interrupt() == 0, running.output()


# (what it checks, method, URL as the UI fetches it, botocore's query params (None: the URL's own), body, headers
# to sign besides host and x-amz-date, session token)
CASES = [
    ("plain GET", "GET", f"{GATEWAY}/prod/api/v1/triggers/search?size=10000", None, "", {}, None),
    (
        "query needing encoding, raw as typed",
        "GET",
        f"{GATEWAY}/prod/api/v1/backfills?start=2024-03-28T06:30:00Z&namespace=my team&flowId=a.b-c_d~e",
        [("start", "2024-03-28T06:30:00Z"), ("namespace", "my team"), ("flowId", "a.b-c_d~e")],
        "",
        {},
        None,
    ),
    (
        "query needing encoding, as encodeURIComponent writes it",
        "GET",
        f"{GATEWAY}/prod/api/v1/backfills?start=2024-03-28T06%3A30%3A00Z&namespace=my%20team&note=a%2Bb%26c%3D*!'()",
        [("start", "2024-03-28T06:30:00Z"), ("namespace", "my team"), ("note", "a+b&c=*!'()")],
        "",
        {},
        None,
    ),
    (
        "repeated and empty parameters, sorted by name then value",
        "GET",
        f"{GATEWAY}/prod/api/v1/executions/search?state=SUCCESS&labels=b&labels=a&flowId=&size=5",
        [("state", "SUCCESS"), ("labels", "b"), ("labels", "a"), ("flowId", ""), ("size", "5")],
        "",
        {},
        None,
    ),
    (
        "non-ASCII path and query",
        "GET",
        f"{GATEWAY}/prod/api/v1/flows/%C3%A9quipe/vol%C3%A9?q=%C3%A9t%C3%A9",
        [("q", "été")],
        "",
        {},
        SESSION_TOKEN,
    ),
    (
        "path with . - _ ~ and encoded segments (encoded twice)",
        "GET",
        f"{GATEWAY}/prod/api/v1/flows/company.team/my-flow_1~x/triggers/a%20b%3Ac%2Fd",
        None,
        "",
        {},
        None,
    ),
    ("trailing slash, doubled slash", "GET", f"{GATEWAY}/prod//api/v1/flows/dev/", None, "", {}, None),
    (
        "POST with a JSON body",
        "POST",
        f"{GATEWAY}/prod/api/v1/backfills/dry-run?size=1",
        None,
        json.dumps({"start": "2024-03-28T06:30:00Z", "labels": [{"key": "reason", "value": "outage é"}]}),
        {},
        None,
    ),
    (
        "POST with a session token",
        "POST",
        f"{GATEWAY}/prod/api/v1/backfills/0f8e/cancel",
        None,
        json.dumps({"kill": True}),
        {},
        SESSION_TOKEN,
    ),
    (
        "PUT with content-type signed, its spaces folded",
        "PUT",
        f"{GATEWAY}/prod/api/v1/triggers",
        None,
        '{"disabled": false}',
        {"Content-Type": "  application/json;   charset=utf-8 "},
        SESSION_TOKEN,
    ),
    ("a port that is not the default one", "DELETE", "http://127.0.0.1:3000/api/v1/flows/dev/x", None, "", {}, None),
]


@pytest.mark.parametrize(
    ("what", "method", "url", "params", "body", "headers", "token"), CASES, ids=[c[0] for c in CASES]
)
def test_the_ui_signs_as_botocore_does(stack, browser, what, method, url, params, body, headers, token):
    page = browser.new_page()
    try:
        page.goto(f"{stack.url}/ui/")  # localhost: a secure context, so Web Crypto is there
        credentials = {"accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY}
        if token:
            credentials["sessionToken"] = token
        signed = page.evaluate(
            """async (a) => window.signSigV4({...a, service: "execute-api", date: new Date(a.date)})""",
            {
                "method": method,
                "url": url,
                "headers": headers,
                "body": body,
                "credentials": credentials,
                "region": REGION,
                "date": FIXED.isoformat(),
            },
        )
        # botocore gets the URL the browser puts on the wire, and the query as decoded pairs when given.
        wire = page.evaluate("(u) => new URL(u).href", url)
        if params is not None:
            wire = wire.split("?")[0]
        expected = botocore_headers(method, wire, body.encode(), headers, params, token)
        assert signed == expected
    finally:
        page.close()


class Gateway:
    """API Gateway with AWS_IAM on the API routes and none on /ui, in front of the local stack: a call is let
    through when botocore, given the same request, finds the same signature, with the gateway's own answers
    otherwise. Its clock is the machine's; a signature more than 5 minutes off is refused as AWS does."""

    def __init__(self, stack):
        self.stack = stack
        self.refused: list[tuple[str, str]] = []
        self.signed = 0

    def __call__(self, route: Route):
        request = route.request
        parts = urlsplit(request.url)
        if f"{parts.scheme}://{parts.netloc}" != GATEWAY or not parts.path.startswith(STAGE + "/"):
            return route.abort()  # nothing leaves the machine
        path = parts.path[len(STAGE) :] + (f"?{parts.query}" if parts.query else "")
        if not (path == "/ui" or path.startswith("/ui/")):
            refusal = self.refusal(request)
            if refusal:
                self.refused.append((path, refusal))
                return route.fulfill(
                    status=403,
                    headers={"x-amzn-ErrorType": "AccessDeniedException", "Date": formatdate(usegmt=True)},
                    content_type="application/json",
                    body=json.dumps({"message": refusal}),
                )
            self.signed += 1
        route.fulfill(response=route.fetch(url=self.stack.url + path))

    @staticmethod
    def refusal(request) -> str | None:
        given = request.headers.get("authorization", "")
        if not given.startswith("AWS4-HMAC-SHA256 "):
            return "Missing Authentication Token"
        fields = dict(part.strip().split("=", 1) for part in given.removeprefix("AWS4-HMAC-SHA256 ").split(","))
        token = request.headers.get("x-amz-security-token")
        if not fields["Credential"].startswith(f"{ACCESS_KEY}/") or token != SESSION_TOKEN:
            return "The security token included in the request is invalid."
        when = datetime.datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.UTC)
        now = datetime.datetime.now(datetime.UTC)
        if abs(now - when) > datetime.timedelta(minutes=5):
            stamp = "%Y%m%dT%H%M%SZ"
            return (
                f"Signature expired: {when:{stamp}} is now earlier than {now - datetime.timedelta(minutes=5):{stamp}}"
            )
        names = fields["SignedHeaders"].split(";")
        headers = {n: request.headers[n] for n in names if n not in ("host", "x-amz-date", "x-amz-security-token")}
        body = request.post_data_buffer or b""
        expected = botocore_headers(request.method, request.url, body, headers, None, SESSION_TOKEN, when=when)
        return None if expected["Authorization"] == given else SIGNATURE_MISMATCH


def sign_in(page, secret: str = SECRET_KEY):
    dialog = page.get_by_role("dialog", name="AWS credentials")
    dialog.get_by_label("Access key ID").fill(ACCESS_KEY)
    dialog.get_by_label("Secret access key").fill(secret)
    dialog.get_by_label("Session token (optional)").fill(SESSION_TOKEN)
    dialog.get_by_role("button", name="Sign requests").click()


def test_the_ui_asks_for_aws_credentials_and_signs_every_call(stack, browser):
    seen = Gateway(stack)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    screens = Screens(page, "sigv4")
    context.route("**/*", seen)
    try:
        page.goto(f"{GATEWAY}{STAGE}/ui/")
        dialog = page.get_by_role("dialog", name="AWS credentials")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("aws sts get-session-token")
        expect(dialog.get_by_label("Region")).to_have_value(REGION)  # read from the API's host name
        assert seen.refused[0][1] == "Missing Authentication Token"
        screens.shot("asks", full_page=False)

        # A wrong secret: the gateway's message, and the dialog again.
        sign_in(page, "not-the-secret")
        expect(dialog.get_by_role("alert")).to_contain_text("AWS refused these credentials: The request signature")
        expect(dialog.get_by_label("Access key ID")).to_have_value(ACCESS_KEY)  # kept; the secret is typed again
        dialog.get_by_label("Secret access key").fill(SECRET_KEY)
        dialog.get_by_label("Session token (optional)").fill(SESSION_TOKEN)
        dialog.get_by_role("button", name="Sign requests").click()

        dev = page.get_by_role("region", name="Namespace dev")
        expect(dev.get_by_role("link", name="scheduled_flow")).to_be_visible()
        expect(dialog).to_be_hidden()
        stored = json.loads(page.evaluate("sessionStorage.getItem('backfill-aws-credentials')"))
        assert stored == {
            "accessKeyId": ACCESS_KEY,
            "secretAccessKey": SECRET_KEY,
            "sessionToken": SESSION_TOKEN,
            "region": REGION,
        }
        assert page.evaluate("localStorage.length") == 0
        screens.shot("flows")

        # Reloaded, the tab still has them: nothing is asked, nothing refused.
        refusals = len(seen.refused)
        page.reload()
        expect(dev.get_by_role("link", name="scheduled_flow")).to_be_visible()
        expect(dialog).to_be_hidden()

        # Signed POSTs with a body too: the form's dry run counts the slots.
        open_trigger_form(page, "dev")
        fill_window(page, "2024-03-28T06:30", "2024-03-28T11:30")
        expect(page.locator("#dry-run")).to_have_text("This will run 11 executions, 0 skipped.")
        assert len(seen.refused) == refusals, seen.refused[refusals:]
        assert seen.signed >= 5
        screens.shot("form")
        # Only the refused calls were errors (Chromium logs each 403).
        assert all("403" in error for error in screens.errors), screens.errors
    finally:
        context.close()


def test_a_browser_clock_an_hour_late_is_corrected_from_the_gateway_answer(stack, browser):
    gateway = Gateway(stack)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    context.route("**/*", gateway)
    page.clock.install(time=datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1))
    try:
        page.goto(f"{GATEWAY}{STAGE}/ui/")
        sign_in(page)
        # The first signed call is refused as expired; the UI takes the gateway's Date and signs again, unasked.
        expect(
            page.get_by_role("region", name="Namespace dev").get_by_role("link", name="scheduled_flow")
        ).to_be_visible()
        expect(page.get_by_role("dialog", name="AWS credentials")).to_be_hidden()
        assert [why for _, why in gateway.refused if why.startswith("Signature expired")], gateway.refused
        assert gateway.signed >= 1
    finally:
        context.close()


def test_an_api_wanting_both_iam_and_its_token_is_usable_from_the_ui(tmp_path_factory, browser):
    """The defect: SigV4 and the token both took `Authorization`, so with both required the UI could not call.
    Now the UI signs, and the token rides in X-Api-Token beside the signature."""
    token = "both-token"
    guarded = start_stack(tmp_path_factory, None, "--set", f"BACKFILL_API_TOKEN={token}")
    gateway = Gateway(guarded)
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    context.route("**/*", gateway)
    try:
        page.goto(f"{GATEWAY}{STAGE}/ui/")
        sign_in(page)
        dialog = page.get_by_role("dialog", name="API token")
        expect(dialog).to_be_visible()  # signed, then refused by the API itself for want of its token
        dialog.get_by_label("Token").fill(token)
        dialog.get_by_role("button", name="Use this token").click()
        dev = page.get_by_role("region", name="Namespace dev")
        expect(dev.get_by_role("link", name="scheduled_flow")).to_be_visible()
        expect(page.get_by_role("dialog", name="AWS credentials")).to_be_hidden()
        assert gateway.signed >= 2 and page.evaluate("sessionStorage.getItem('backfill-api-token')") == token
    finally:
        context.close()
        if guarded.process.poll() is None:
            guarded.interrupt()
