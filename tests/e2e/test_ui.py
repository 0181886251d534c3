"""The web UI at /ui/, driven in Chromium through the seed scenario: open the flow, its Triggers tab, fill the
backfill form (dry-run count), watch the progress bar reach 100%, pause and resume a second backfill, cancel
a third, read the slots and an execution's logs; then what each page says (issue 16, part 3) at 1280 and 390 px.
Screenshots of each step go to tests/e2e/screenshots/; `UI_README_SCREENSHOT=1` also refreshes docs/ui-progress.png."""

import contextlib
import json
import os
import re
import shutil
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from playwright.sync_api import Page, expect

from tests.e2e.conftest import start_stack

SHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TOKEN = "ui-test-token"
# Paths that must never serve a file: traversal, the handler's own source, a file that is not there.
PROBES = ("/ui/..%2Fapp.py", "/ui/%2e%2e%2fapp.py", "/ui/app.py", "/ui/%2e%2e", "/ui/.%2e/app.py", "/ui/missing.js")
expect.set_options(timeout=10_000)


@pytest.fixture(scope="module")
def ui_stack(tmp_path_factory):
    # Four executors, so the backfill form's concurrency of 4 runs the seed's 1-5 s slots four at a time.
    stack = start_stack(tmp_path_factory, None, "--executors", "4")
    yield stack
    if stack.process.poll() is None:
        assert stack.interrupt() == 0, stack.output()


class Screens:
    """One page, its console errors, and a numbered screenshot per step."""

    def __init__(self, page: Page, prefix: str):
        self.page, self.prefix, self.count = page, prefix, 0
        self.errors: list[str] = []
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        SHOTS.mkdir(exist_ok=True)

    def shot(self, name: str, full_page: bool = True) -> Path:
        self.count += 1
        path = SHOTS / f"{self.prefix}-{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


def open_trigger_form(page: Page, namespace: str, flow_id: str = "scheduled_flow") -> None:
    """From the flows list: the flow, its Triggers tab, the trigger's Backfill executions button."""
    page.get_by_role("link", name="Flows", exact=True).click()
    page.get_by_role("textbox", name="Namespace").fill(namespace)
    page.get_by_role("button", name="Show flows").click()
    section = page.get_by_role("region", name=f"Namespace {namespace}")
    section.get_by_role("link", name=flow_id).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(flow_id)
    page.get_by_role("link", name="Triggers", exact=True).click()
    page.get_by_role("button", name="Backfill executions").click()
    expect(page.get_by_role("heading", name="Backfill executions")).to_be_visible()


def fill_window(page: Page, start: str, end: str, concurrency: int | None = None) -> None:
    page.get_by_label("Start", exact=True).fill(start)
    page.get_by_label("End", exact=True).fill(end)
    if concurrency:
        page.get_by_text("Advanced").click()
        page.get_by_label("Concurrency").fill(str(concurrency))


def progress(page: Page):
    return page.get_by_role("progressbar")


def test_the_seed_scenario_through_the_ui(ui_stack, browser):
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    screens = Screens(page, "desktop")
    page.set_default_timeout(15_000)

    for probe in PROBES:
        assert requests.get(ui_stack.url + probe, timeout=10).status_code == 404, probe

    # 1. Flows, by namespace.
    page.goto(f"{ui_stack.url}/ui/")
    expect(page.get_by_role("heading", name="Flows", level=1)).to_be_visible()
    dev = page.get_by_role("region", name="Namespace dev")
    expect(dev.get_by_role("link", name="scheduled_flow")).to_be_visible()
    expect(page.get_by_role("region", name="Namespace company.team")).to_be_visible()
    screens.shot("flows")

    # 2. The flow: its YAML, read-only.
    dev.get_by_role("link", name="scheduled_flow").click()
    source = page.get_by_label("Flow YAML (read-only)")
    expect(source).to_contain_text('cron: "*/30 * * * *"')
    expect(source).to_contain_text("namespace: dev")
    screens.shot("flow-source")

    # 3. Triggers tab: cron, timezone, next date; the enabled toggle round-trips through PUT /triggers.
    page.get_by_role("link", name="Triggers", exact=True).click()
    trigger = page.get_by_role("article", name=re.compile("^schedule"))
    expect(trigger).to_contain_text("*/30 * * * *")
    expect(trigger).to_contain_text("UTC")
    expect(trigger.locator("dd").nth(2)).to_have_text(re.compile(r"\d{4}-\d\d-\d\d \d\d:(00|30):00"))
    enabled = trigger.get_by_role("switch", name="Enabled")
    expect(enabled).to_be_checked()
    enabled.uncheck()
    expect(trigger).to_contain_text("off: nothing runs")
    triggers = ui_stack.get("/api/v1/triggers/search", namespace="dev", flowId="scheduled_flow")["results"]
    assert triggers[0]["triggerContext"]["disabled"] is True
    screens.shot("trigger-disabled")
    enabled.focus()  # the keyboard: Space flips the switch, and the live refresh keeps the focus on it
    page.keyboard.press("Space")
    expect(trigger).to_contain_text("on: runs on its cron")
    page.wait_for_timeout(3500)  # one refresh of the tab, with the trigger changed
    assert page.evaluate("document.activeElement.id") == "enabled-schedule"
    triggers = ui_stack.get("/api/v1/triggers/search", namespace="dev", flowId="scheduled_flow")["results"]
    assert triggers[0]["triggerContext"]["disabled"] is False
    screens.shot("triggers")

    # 4. The form: an error from the API shows next to the field it names, then the dry-run count.
    trigger.get_by_role("button", name="Backfill executions").click()
    expect(page.get_by_text("This flow declares no inputs.")).to_be_visible()
    fill_window(page, "2024-03-28T11:30", "2024-03-28T06:30")
    start_error = page.locator("#err-start")
    expect(start_error).to_contain_text("backfill.start")
    expect(start_error).to_contain_text("is after backfill.end")
    expect(page.get_by_label("Start", exact=True)).to_have_attribute("aria-invalid", "true")
    screens.shot("form-error")
    fill_window(page, "2024-03-28T06:30", "2024-03-28T11:30", concurrency=4)
    page.get_by_label("Label 1 key").fill("reason")
    page.get_by_label("Label 1 value").fill("outage")
    dry_run = page.locator("#dry-run")
    expect(dry_run).to_have_text("This will run 11 executions, 0 skipped.")
    expect(start_error).to_be_hidden()
    expect(page.locator("#dry-run-dates")).to_contain_text("2024-03-28 06:30:00 UTC to 2024-03-28 11:30:00 UTC")
    screens.shot("form")
    page.get_by_role("button", name="Start backfill").click()

    # 5. Progress, live, to 100%.
    expect(page.get_by_role("heading", name="Backfill of scheduled_flow")).to_be_visible()
    first_url = page.url
    expect(page.get_by_role("button", name="Pause")).to_be_visible()
    page.wait_for_function(
        "() => { const b = document.querySelector('#progress-bar');"
        " return b && Number(b.getAttribute('aria-valuenow')) > 0; }",
        timeout=60_000,
    )
    screens.shot("progress-running")
    expect(progress(page)).to_have_attribute("aria-valuenow", "100", timeout=90_000)
    expect(page.locator(".status-line")).to_contain_text("SUCCEEDED")
    expect(page.locator("#counts li[data-state=SUCCEEDED] strong")).to_have_text("11")
    expect(page.locator(".progress-text")).to_have_text("100% · 11 of 11 ran, succeeded")
    expect(page.get_by_role("button", name="Pause")).to_be_disabled()
    screens.shot("progress-done")
    backfill_id = page.url.rsplit("/", 1)[1]
    made = ui_stack.backfills(namespace="dev", labels="reason:outage")
    assert len(made) == 11 and all(e["backfillId"] == backfill_id for e in made)

    # 6. Details: every slot with its state and a link to its execution.
    page.get_by_role("link", name="Details").click()
    rows = page.get_by_role("region", name="Slots").locator("tbody tr")
    expect(rows).to_have_count(11)
    expect(rows.first).to_contain_text("2024-03-28 06:30:00 UTC")
    expect(rows.first).to_contain_text("SUCCEEDED")
    expect(page.get_by_text("Page 1 of 1 · 11 slots")).to_be_visible()
    screens.shot("details")

    # 7. An execution: state history, inputs, labels, trigger variables, logs.
    rows.first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="State history")).to_be_visible()
    history = page.get_by_role("region", name="State history").first
    expect(history).to_contain_text("CREATED")
    expect(history).to_contain_text("SUCCESS")
    expect(page.get_by_role("list", name="Labels")).to_contain_text("reason=outage")
    expect(page.locator("p.muted").filter(has_text="· revision 1 · backfill ·")).to_have_count(1)  # its label
    expect(page.get_by_text("No inputs.")).to_be_visible()
    expect(page.locator(".pairs").first).to_contain_text("2024-03-28T06:30:00Z")
    expect(page.locator("#logs")).to_contain_text("processing data for 2024-03-28T06:30:00Z")
    screens.shot("execution")

    # 8. A second backfill: pause, then resume.
    open_trigger_form(page, "dev")
    fill_window(page, "2024-03-27T00:00", "2024-03-27T02:00")
    expect(page.locator("#dry-run")).to_have_text("This will run 5 executions, 0 skipped.")
    page.get_by_role("button", name="Start backfill").click()
    expect(page.get_by_role("heading", name="Backfill of scheduled_flow")).to_be_visible()
    assert page.url != first_url
    page.get_by_role("button", name="Pause").click()
    expect(page.locator(".status-line")).to_contain_text("PAUSED")
    expect(page.get_by_role("button", name="Resume")).to_be_enabled()
    expect(page.get_by_role("button", name="Pause")).to_be_disabled()
    screens.shot("paused")
    page.get_by_role("button", name="Resume").click()
    expect(page.locator(".status-line")).not_to_contain_text("PAUSED")
    expect(page.get_by_role("button", name="Pause")).to_be_enabled()
    expect(page.locator(".status-line")).to_contain_text("RUNNING")
    page.get_by_label("Concurrency").fill("3")
    page.get_by_role("button", name="Set", exact=True).click()
    expect(page.locator(".facts")).to_contain_text("Concurrency3")
    second_id = page.url.rsplit("/", 1)[-1]
    assert requests.get(f"{ui_stack.url}/api/v1/backfills/{second_id}", timeout=10).json()["concurrency"] == 3
    screens.shot("resumed")

    # 9. A third: cancel.
    open_trigger_form(page, "dev")
    fill_window(page, "2024-03-26T00:00", "2024-03-26T23:30")
    expect(page.locator("#dry-run")).to_have_text("This will run 48 executions, 0 skipped.")
    page.get_by_role("button", name="Start backfill").click()
    expect(page.get_by_role("heading", name="Backfill of scheduled_flow")).to_be_visible()
    page.get_by_role("button", name="Cancel").click()
    page.get_by_role("button", name="Yes, cancel the backfill").click()
    expect(page.locator(".status-line")).to_contain_text("CANCELLED", timeout=30_000)
    expect(page.get_by_role("button", name="Cancel")).to_be_disabled()
    cancelled = int(page.locator("#counts li[data-state=CANCELLED] strong").inner_text())
    assert cancelled >= 40
    ran = 48 - cancelled  # what ran before the cancel, never "100%" done
    expect(page.locator(".progress-text")).to_have_text(re.compile(rf"^[\d.<]+% · {ran} of 48 ran, cancelled$"))
    expect(progress(page)).not_to_have_attribute("aria-valuenow", "100")
    screens.shot("cancelled")
    page.get_by_role("link", name="Details").click()
    expect(page.get_by_role("region", name="Slots").locator("tbody tr").last).to_contain_text("CANCELLED")
    screens.shot("cancelled-details")

    # No script error; the only failed load is the 422 of the form's deliberate error.
    assert [e for e in screens.errors if "Failed to load resource" not in e] == [], screens.errors
    assert sum("422" in e for e in screens.errors) == len(screens.errors), screens.errors
    context.close()

    # The same pages at a phone's width.
    phone = browser.new_context(viewport=PHONE)
    page = phone.new_page()
    small = Screens(page, "phone")
    page.goto(f"{ui_stack.url}/ui/")
    expect(page.get_by_role("region", name="Namespace dev")).to_be_visible()
    small.shot("flows")
    page.goto(first_url)
    expect(progress(page)).to_have_attribute("aria-valuenow", "100")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    small.shot("progress")
    open_trigger_form(page, "dev")
    page.get_by_text("Advanced").click()
    small.shot("form")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.goto(f"{first_url}/details")
    page.get_by_role("region", name="Slots").locator("tbody tr").first.get_by_role("link").click()
    expect(page.locator("#logs")).to_contain_text("processing data for")
    small.shot("execution")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    assert small.errors == [], small.errors
    phone.close()


INPUTS_FLOW = """
id: with_inputs
namespace: ui.inputs
inputs:
  - id: region
    type: STRING
  - id: batch
    type: INT
    defaults: 100
  - id: mode
    type: SELECT
    values: [fast, full]
    defaults: full
  - id: strict
    type: BOOLEAN
    defaults: false
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "{{ inputs.region }} {{ inputs.batch }} {{ inputs.mode }} {{ inputs.strict }}"
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 3 * * *"
    timezone: Europe/Paris
"""


def test_the_form_types_the_flow_inputs_and_places_their_errors(ui_stack, browser):
    registered = requests.post(
        f"{ui_stack.url}/api/v1/flows", data=INPUTS_FLOW, headers={"Content-Type": "application/x-yaml"}, timeout=10
    )
    assert registered.status_code == 200, registered.text
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    screens = Screens(page, "inputs")
    page.goto(f"{ui_stack.url}/ui/")
    open_trigger_form(page, "ui.inputs", "with_inputs")
    expect(page.get_by_label("batch")).to_have_value("100")
    expect(page.get_by_label("batch")).to_have_attribute("type", "number")
    expect(page.get_by_label("mode")).to_have_value("full")
    expect(page.get_by_label("strict")).to_have_value("false")
    expect(page.get_by_label("Times are in")).to_have_value("Europe/Paris")  # the trigger's zone, by default
    expect(page.get_by_label("Times are in").locator("option:checked")).to_have_text("Europe/Paris (the trigger's)")
    fill_window(page, "2024-03-01T00:00", "2024-03-07T23:59")
    region_error = page.locator("#err-inputs-region")
    expect(region_error).to_contain_text("required input 'region' has no value")
    region = page.get_by_role("main").get_by_label("region")  # the flow's input, not the AWS dialog's Region
    expect(region).to_have_attribute("aria-invalid", "true")
    screens.shot("input-error")
    region.fill("eu")
    expect(page.locator("#dry-run")).to_have_text("This will run 7 executions, 0 skipped.")
    expect(page.locator("#dry-run-dates")).to_contain_text("2024-03-01 03:00:00 +01:00 Europe/Paris")
    screens.shot("inputs")
    page.get_by_role("button", name="Start backfill").click()
    expect(progress(page)).to_have_attribute("aria-valuenow", "100", timeout=60_000)
    page.get_by_role("link", name="Details").click()
    page.get_by_role("region", name="Slots").locator("tbody tr").first.get_by_role("link").click()
    inputs = page.get_by_role("region", name="Inputs")
    expect(inputs).to_contain_text("region")
    expect(page.locator("#logs")).to_contain_text("eu 100 full false")
    screens.shot("execution")
    assert [e for e in screens.errors if "Failed to load resource" not in e] == [], screens.errors
    context.close()


def test_static_files_load_without_the_token_and_the_ui_asks_for_it(tmp_path_factory, browser):
    stack = start_stack(tmp_path_factory, None, "--set", f"BACKFILL_API_TOKEN={TOKEN}")
    try:
        for name, kind in (("", "text/html"), ("app.js", "text/javascript"), ("style.css", "text/css")):
            answer = requests.get(f"{stack.url}/ui/{name}", timeout=10)
            assert answer.status_code == 200 and answer.headers["Content-Type"].startswith(kind), name
        assert requests.get(f"{stack.url}/api/v1/flows/dev", timeout=10).status_code == 401
        for probe in PROBES:  # never served: 401 (not a UI file name: the token is asked for) or 404
            assert requests.get(stack.url + probe, timeout=10).status_code in (401, 404), probe
        moved = requests.get(f"{stack.url}/ui", allow_redirects=False, timeout=10)
        assert moved.status_code == 302 and moved.headers["Location"] == "ui/"

        context = browser.new_context(viewport=DESKTOP)
        page = context.new_page()
        screens = Screens(page, "token")
        page.goto(f"{stack.url}/ui")
        dialog = page.get_by_role("dialog", name="API token")
        expect(dialog).to_be_visible()
        screens.shot("asks", full_page=False)
        dialog.get_by_label("Token").fill("wrong")
        dialog.get_by_role("button", name="Use this token").click()
        expect(dialog.get_by_text("That token was refused")).to_be_visible()
        dialog.get_by_label("Token").fill(TOKEN)
        dialog.get_by_role("button", name="Use this token").click()
        expect(page.get_by_role("region", name="Namespace dev")).to_be_visible()
        assert page.evaluate("sessionStorage.getItem('backfill-api-token')") == TOKEN
        page.reload()  # once per tab: the token is kept in sessionStorage
        expect(page.get_by_role("region", name="Namespace dev")).to_be_visible()
        expect(dialog).to_be_hidden()
        screens.shot("flows")
        # Only the refused calls were errors (Chromium logs each 401).
        assert all("401" in error for error in screens.errors), screens.errors
        context.close()
    finally:
        if stack.process.poll() is None:
            stack.interrupt()


def test_a_progress_screenshot_fits_the_readme():
    """docs/ui-progress.png, the README's picture of this page, stays small."""
    picture = Path(__file__).resolve().parents[2] / "docs" / "ui-progress.png"
    assert picture.is_file() and picture.stat().st_size < 400_000


# Issue 16, part 3: what a page says, on both widths. A namespace of its own: a daily flow in Europe/Paris that
# logs, and one that fails; their backfills are made once through the API, and each test reads them in the UI.
REVIEW_FLOWS = (
    """
id: quick
namespace: ui.review
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "slot {{ trigger.date }}"
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 0 * * *"
    timezone: Europe/Paris
""",
    """
id: failing
namespace: ui.review
tasks:
  - id: export
    type: io.kestra.plugin.core.execution.Fail
    errorMessage: "no export for {{ trigger.date }}"
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 0 * * *"
    timezone: Europe/Paris
""",
)
UNTIMED_FLOW = """
id: untimed
namespace: ui.review
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "never run by these tests"
triggers:
  - id: daily
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 0 * * *"
    timezone: Europe/Paris
"""
BIG_WINDOW = ("1990-01-01T00:00", "2023-12-31T00:00")  # more than 10,000 daily slots
WIDTHS = pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
HUMAN_DATE = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (UTC|[+-]\d\d:\d\d [A-Za-z_/]+)"


def backfill_body(flow_id: str, start: str, end: str, **extra) -> dict:
    return {
        "namespace": "ui.review",
        "flowId": flow_id,
        "triggerId": "daily",
        "backfill": {"start": start, "end": end, **extra},
    }


@pytest.fixture(scope="module")
def review(ui_stack):
    """The backfills the review tests read: three finished slots of `quick` labelled reason=review, two FAILED
    slots of `failing`, and a `quick` backfill of more than 10,000 slots cancelled once a few had run."""
    for source in (*REVIEW_FLOWS, UNTIMED_FLOW):
        answer = requests.post(
            f"{ui_stack.url}/api/v1/flows", data=source, headers={"Content-Type": "application/x-yaml"}, timeout=10
        )
        assert answer.status_code == 200, answer.text

    def start(body: dict) -> str:
        answer = requests.put(f"{ui_stack.url}/api/v1/triggers", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        return answer.json()["backfill"]["id"]

    def settled(backfill_id: str, statuses: tuple[str, ...]) -> dict:
        return ui_stack.wait_for(
            lambda: (b := ui_stack.get(f"/api/v1/backfills/{backfill_id}"))["status"] in statuses and b,
            90,
            f"backfill {backfill_id} {statuses}",
        )

    small = start(
        backfill_body(
            "quick",
            "2024-03-01T00:00:00+01:00",
            "2024-03-03T00:00:00+01:00",
            labels=[{"key": "reason", "value": "review"}],
        )
    )
    failing = start(backfill_body("failing", "2024-03-01T00:00:00+01:00", "2024-03-02T00:00:00+01:00"))
    settled(small, ("SUCCEEDED",))
    settled(failing, ("FAILED", "SUCCEEDED"))
    big = start(backfill_body("quick", "1990-01-01T00:00:00+01:00", "2023-12-31T00:00:00+01:00"))
    ui_stack.wait_for(lambda: ui_stack.get(f"/api/v1/backfills/{big}")["succeeded"] >= 2, 60, "two slots run")
    cancelled = requests.post(f"{ui_stack.url}/api/v1/backfills/{big}/cancel", json={}, timeout=30)
    assert cancelled.status_code == 200, cancelled.text
    return {"small": small, "failing": failing, "big": settled(big, ("CANCELLED",))}


def review_page(browser, viewport: dict, prefix: str):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(15_000)
    width = "1280" if viewport is DESKTOP else "390"
    return context, page, Screens(page, f"review-{prefix}-{width}")


def fits(page: Page, viewport: dict) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]


@WIDTHS
def test_a_cancelled_backfill_says_how_many_ran_and_the_list_shows_done_of_total(ui_stack, review, browser, viewport):
    big = review["big"]
    ran = big["counts"]["SUCCEEDED"] + big["counts"]["FAILED"]
    total = big["total"]
    assert 2 <= ran < total and total > 10_000
    context, page, screens = review_page(browser, viewport, "progress")
    page.goto(f"{ui_stack.url}/ui/#/backfills/{big['id']}")
    text = page.locator(".progress-text")
    expect(text).to_have_text(re.compile(rf"^[\d.<]+% · {ran:,} of {total:,} ran, cancelled$"))
    expect(text).not_to_contain_text("100%")
    bar = progress(page)
    expect(bar).to_have_attribute("aria-valuetext", re.compile(rf"{ran:,} of {total:,} ran, cancelled"))
    assert float(bar.get_attribute("aria-valuenow")) < 1
    # Window and slots in the trigger's zone, named; the execution's times in UTC, named.
    expect(page.locator(".facts")).to_contain_text("1990-01-01 00:00:00 +01:00 Europe/Paris")
    expect(page.locator(".facts")).to_contain_text(re.compile(r"Created\s*" + HUMAN_DATE))
    fits(page, viewport)
    shot = screens.shot("cancelled", full_page=False)
    if viewport is DESKTOP and os.environ.get("UI_README_SCREENSHOT"):  # refresh the README's picture on demand
        shutil.copyfile(shot, Path(__file__).resolve().parents[2] / "docs" / "ui-progress.png")

    page.goto(f"{ui_stack.url}/ui/#/backfills?namespace=ui.review&flowId=quick")
    row = page.get_by_role("row").filter(has=page.locator(f"#backfill-link-{big['id']}"))
    expect(row).to_contain_text(f"{ran:,} / {total:,}")
    expect(row).to_contain_text("CANCELLED")
    expect(row.locator(".mini-bar .seg-cancelled")).to_have_count(1)
    fits(page, viewport)
    screens.shot("list")
    assert screens.errors == [], screens.errors
    context.close()


@WIDTHS
def test_tables_scroll_sideways_with_the_key_columns_first_or_become_cards(ui_stack, review, browser, viewport):
    context, page, screens = review_page(browser, viewport, "tables")
    page.goto(f"{ui_stack.url}/ui/#/backfills?namespace=ui.review")
    table = page.get_by_role("region", name="Backfills")
    expect(table.locator("tbody tr")).to_have_count(3)
    head = [th.inner_text() for th in table.locator("th").all()]
    assert head[:4] == ["Backfill", "Flow", "Status", "Done"], head
    first = table.locator("tbody tr").first
    if viewport is DESKTOP:
        # Wider than the page: it scrolls in its own box, says so, and the key columns are in view.
        assert table.evaluate("el => el.scrollWidth > el.clientWidth")
        expect(page.get_by_text("Scroll sideways for more columns")).to_be_visible()
        expect(table).to_have_class(re.compile("overflows"))
        done = first.locator("td").nth(3).bounding_box()
        assert done and done["x"] + done["width"] <= viewport["width"]
        screens.shot("backfills-scroll-cue")
        table.evaluate("el => { el.scrollLeft = el.scrollWidth; el.dispatchEvent(new Event('scroll')); }")
        expect(table).not_to_have_class(re.compile("overflows"))
    else:
        # A card a row: every cell, each under its column's name, within the phone's width.
        expect(page.get_by_text("Scroll sideways for more columns")).to_be_hidden()
        assert first.evaluate("el => getComputedStyle(el).display") == "block"
        expect(first.locator("td[data-label=Window]")).to_be_visible()
        label = first.locator("td[data-label=Created]").evaluate("el => getComputedStyle(el, '::before').content")
        assert label == '"Created"'
        for cell in first.locator("td").all():
            box = cell.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    fits(page, viewport)
    screens.shot("backfills")
    assert screens.errors == [], screens.errors
    context.close()


@WIDTHS
def test_the_lists_filter_and_show_dates_with_their_zone_and_human_durations(ui_stack, review, browser, viewport):
    context, page, screens = review_page(browser, viewport, "filters")
    page.goto(f"{ui_stack.url}/ui/#/backfills")
    filters = page.get_by_role("search", name="Filter backfills")
    filters.get_by_label("Status").select_option("FAILED")
    filters.get_by_label("Namespace").fill("ui.review")
    filters.get_by_role("button", name="Filter").click()
    table = page.get_by_role("region", name="Backfills")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table.locator(f"#backfill-link-{review['failing']}")).to_be_visible()
    assert "status=FAILED" in page.url and "namespace=ui.review" in page.url
    filters.get_by_label("Status").select_option("")
    filters.get_by_label("Flow").fill("quick")
    filters.get_by_role("button", name="Filter").click()
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).not_to_contain_text("ui.review.failing")
    screens.shot("backfills")

    # A flow's executions, by label then by state; each date with its zone, each duration as a person says it.
    page.goto(f"{ui_stack.url}/ui/#/flows/ui.review/quick/executions")
    executions = page.get_by_role("region", name="Executions of quick")
    labelled = ui_stack.executions(namespace="ui.review", flowId="quick", labels="reason:review")
    assert len(labelled) == 3
    search = page.get_by_role("search", name="Filter executions")
    search.get_by_label("Label").fill("reason:review")
    search.get_by_role("button", name="Filter").click()
    expect(executions.locator("tbody tr")).to_have_count(3)
    for row in executions.locator("tbody tr").all():
        expect(row.locator("td[data-label=Started]")).to_have_text(re.compile(rf"^{HUMAN_DATE}$"))
        expect(row.locator("td[data-label=Slot]")).to_have_text(
            re.compile(r"^2024-03-0[123] 00:00:00 \+01:00 Europe/Paris$")  # in its trigger's zone
        )
        expect(row.locator("td[data-label=Duration]")).to_have_text(
            re.compile(r"^(<0\.1|\d+(\.\d)?) s$|^\d+ min( \d+ s)?$")
        )
        expect(row).to_contain_text("reason=review")
    fits(page, viewport)
    screens.shot("executions")
    search.get_by_label("State").select_option("FAILED")
    search.get_by_role("button", name="Filter").click()
    expect(page.get_by_text("No execution matches these filters.")).to_be_visible()
    search.get_by_label("Label").fill("no colon")
    search.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("alert")).to_contain_text("labels")

    # The execution's own page: its duration human, its history's dates with their zone.
    page.goto(f"{ui_stack.url}/ui/#/executions/{labelled[0]['id']}")
    expect(page.locator(".status-line")).to_have_text(re.compile(r"SUCCESS · (<0\.1|\d+(\.\d)?) s$"))
    expect(page.get_by_role("region", name="State history").first.locator("td").nth(1)).to_have_text(
        re.compile(rf"^{HUMAN_DATE}$")
    )
    fits(page, viewport)
    # Only the refused label filter failed to load.
    assert all("422" in e or "400" in e for e in screens.errors), screens.errors
    context.close()


@WIDTHS
def test_a_failed_slot_shows_why(ui_stack, review, browser, viewport):
    context, page, screens = review_page(browser, viewport, "failed")
    page.goto(f"{ui_stack.url}/ui/#/backfills/{review['failing']}/details")
    rows = page.get_by_role("region", name="Slots").locator("tbody tr")
    expect(rows).to_have_count(2)
    first = rows.first
    expect(first).to_contain_text("2024-03-01 00:00:00 +01:00 Europe/Paris")
    expect(first.locator("td[data-label=State]")).to_have_text("FAILED")
    # The execution's last ERROR line, as its logs hold it, and a link to them.
    execution_id = first.locator("td[data-label=Execution] a").inner_text()
    logs = requests.get(f"{ui_stack.url}/api/v1/logs/{execution_id}", timeout=10).json()
    last_error = [line["message"] for line in logs if line["level"] == "ERROR"][-1]
    assert "no export for" in last_error
    expect(first.locator("td[data-label=Reason]")).to_contain_text(last_error)
    screens.shot("slots")
    first.get_by_role("link", name="its logs").click()
    expect(page.locator("#logs")).to_contain_text(last_error)
    fits(page, viewport)
    # Was: a label chip never broke, so an id wide in the font (system.correlationId=6oM8lm...) widened a phone's
    # page by a pixel or two, now and then. The widest id there is still fits.
    page.locator(".chip", has_text="system.correlationId=").evaluate(
        "(chip) => { chip.textContent = 'system.correlationId=' + 'W'.repeat(22); }"
    )
    fits(page, viewport)
    screens.shot("execution")
    assert screens.errors == [], screens.errors
    context.close()


@WIDTHS
def test_the_slots_filter_by_state_with_the_routes_own_pages_and_total(ui_stack, review, browser, viewport):
    """The cancelled backfill's slots: its few that ran, then its thousands cancelled, each with the count the API
    gives for that state."""
    context, page, screens = review_page(browser, viewport, "slot-states")
    big = ui_stack.get(f"/api/v1/backfills/{review['big']['id']}")
    page.goto(f"{ui_stack.url}/ui/#/backfills/{review['big']['id']}/details")
    rows = page.get_by_role("region", name="Slots").locator("tbody tr")
    search = page.get_by_role("search", name="Filter slots")
    search.get_by_label("State").select_option("SUCCEEDED")
    expect(page.locator("#slots-total")).to_have_text(f"Page 1 of 1 · {big['succeeded']} succeeded slots")
    expect(rows).to_have_count(big["succeeded"])
    for state in rows.locator("td[data-label=State]").all():
        expect(state).to_have_text("SUCCEEDED")
    search.get_by_label("State").select_option("CANCELLED")
    pages = -(-big["cancelled"] // 100)
    expect(page.locator("#slots-total")).to_have_text(f"Page 1 of {pages:,} · {big['cancelled']:,} cancelled slots")
    expect(rows.locator("td[data-label=State]", has_text="CANCELLED")).to_have_count(100)
    page.get_by_role("link", name="Next").click()
    expect(page.locator("#slots-total")).to_have_text(f"Page 2 of {pages:,} · {big['cancelled']:,} cancelled slots")
    screens.shot("cancelled")
    search.get_by_label("State").select_option("FAILED")
    expect(page.get_by_text("No failed slots.")).to_be_visible()
    fits(page, viewport)
    assert screens.errors == [], screens.errors
    context.close()


@WIDTHS
def test_the_form_debounces_its_dry_run_aborts_stale_ones_and_confirms_a_big_backfill(
    ui_stack, review, browser, viewport
):
    context, page, screens = review_page(browser, viewport, "form")
    page.goto(f"{ui_stack.url}/ui/#/flows/ui.review/quick/triggers/daily/backfill")
    zone = page.get_by_label("Times are in")
    expect(zone).to_have_value("Europe/Paris")  # the trigger's zone, said so
    expect(zone.locator("option:checked")).to_have_text("Europe/Paris (the trigger's)")
    expect(page.locator("#hint-zone")).to_contain_text("Europe/Paris")

    sent, aborted, held = [], [], []
    page.on("request", lambda r: sent.append(r) if "dry-run" in r.url else None)
    page.on("requestfailed", lambda r: aborted.append(r) if "dry-run" in r.url else None)

    def hold_first(route):  # the first count answers slowly: the next keystroke makes it stale
        if not held:
            held.append(route)
        else:
            route.continue_()

    page.route("**/backfills/dry-run*", hold_first)
    end = page.get_by_label("End", exact=True)
    end.fill("1990-01-31T00:00")  # no start yet: nothing to count
    with page.expect_request("**/backfills/dry-run*"):
        page.get_by_label("Start", exact=True).fill(BIG_WINDOW[0])
    expect(page.locator("#dry-run")).to_have_text("Counting…")
    end.fill(BIG_WINDOW[1])
    expected = requests.post(
        f"{ui_stack.url}/api/v1/backfills/dry-run",
        json=backfill_body("quick", "1990-01-01T00:00:00+01:00", "2023-12-31T00:00:00+01:00"),
        timeout=30,
    ).json()["run"]
    dry_run = page.locator("#dry-run")
    expect(dry_run).to_have_text(f"This will run {expected:,} executions, 0 skipped.")
    assert [r.failure for r in aborted] == ["net::ERR_ABORTED"] and aborted[0] is sent[0]
    with contextlib.suppress(Exception):  # Playwright refuses to continue an aborted request, as it should
        held[0].continue_()

    # Typing a number key by key: one dry run once typing pauses, not one a key.
    sent.clear()
    page.get_by_text("Advanced").click()
    with page.expect_request("**/backfills/dry-run*"):
        page.get_by_label("Concurrency").press_sequentially("25", delay=60)
    expect(dry_run).to_have_text(f"This will run {expected:,} executions, 0 skipped.")
    page.wait_for_timeout(800)
    assert len(sent) == 1 and json.loads(sent[0].post_data)["backfill"]["concurrency"] == 25
    screens.shot("counted")

    # Above 10,000 executions: the count and the time, asked before anything starts.
    # Out of the number field first, as a person would: clicking straight from it, headless Chromium at 390 px
    # scrolls the focused field back into view between the button's mousedown and mouseup.
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Start backfill").click()
    confirm = page.get_by_role("group", name=f"Start {expected:,} executions of quick?")
    expect(confirm).to_be_visible()
    # Timed by the server's forecast, which names what it is worked out from, and priced.
    expect(confirm).to_contain_text(
        re.compile(
            r"Estimated time: about .+ at concurrency 25 \((this trigger's last backfill \(\w+\) ran [\d,]+ slots in "
            r".+ at concurrency \d+: [\d.]+ s a slot per lane|the mean duration of this flow's last \d+ finished "
            r"executions, .+)\)\. Estimated AWS cost: \$\d+\.\d{4}\."
        )
    )
    fits(page, viewport)
    screens.shot("confirm")
    before = len(ui_stack.get("/api/v1/backfills", namespace="ui.review", flowId="quick")["results"])
    confirm.get_by_role("button", name="Go back").click()
    expect(confirm).to_be_hidden()
    if viewport is DESKTOP:  # once: confirming starts it, then it is cancelled
        page.get_by_role("button", name="Start backfill").click()
        confirm.get_by_role("button", name=f"Yes, start {expected:,} executions").click()
        expect(page.get_by_role("heading", name="Backfill of quick")).to_be_visible()
        page.get_by_role("button", name="Cancel").click()
        page.get_by_role("button", name="Yes, cancel the backfill").click()
        expect(page.locator(".progress-text")).to_have_text(re.compile(r"ran, (cancelling|cancelled)$"), timeout=30_000)
        assert len(ui_stack.get("/api/v1/backfills", namespace="ui.review", flowId="quick")["results"]) == before + 1
    else:
        assert len(ui_stack.get("/api/v1/backfills", namespace="ui.review", flowId="quick")["results"]) == before
    assert screens.errors == [], screens.errors
    context.close()


@WIDTHS
def test_a_big_backfill_of_a_flow_that_never_ran_says_its_time_is_unknown(ui_stack, review, browser, viewport):
    context, page, screens = review_page(browser, viewport, "untimed")
    page.goto(f"{ui_stack.url}/ui/#/flows/ui.review/untimed/triggers/daily/backfill")
    fill_window(page, *BIG_WINDOW)
    expect(page.locator("#dry-run")).to_have_text(re.compile(r"^This will run \d{2},\d{3} executions"))
    run = page.locator("#dry-run").get_attribute("data-run")
    page.keyboard.press("Tab")
    page.get_by_role("button", name="Start backfill").click()
    confirm = page.get_by_role("group", name=f"Start {int(run):,} executions of untimed?")
    expect(confirm).to_contain_text("Estimated time: unknown, as nothing of this flow has finished yet to time it")
    assert ui_stack.executions(namespace="ui.review", flowId="untimed") == []
    fits(page, viewport)
    screens.shot("confirm")
    confirm.get_by_role("button", name="Go back").click()
    assert ui_stack.get("/api/v1/backfills", namespace="ui.review", flowId="untimed")["results"] == []
    assert screens.errors == [], screens.errors
    context.close()


def test_a_small_backfill_needs_no_confirmation(ui_stack, review, browser):
    context, page, screens = review_page(browser, DESKTOP, "small")
    page.goto(f"{ui_stack.url}/ui/#/flows/ui.review/quick/triggers/daily/backfill")
    fill_window(page, "2024-04-01T00:00", "2024-04-02T00:00")
    expect(page.locator("#dry-run")).to_have_text("This will run 2 executions, 0 skipped.")
    page.get_by_role("button", name="Start backfill").click()
    expect(page.get_by_role("heading", name="Backfill of quick")).to_be_visible()
    expect(progress(page)).to_have_attribute("aria-valuenow", "100", timeout=60_000)
    expect(page.locator(".progress-text")).to_have_text("100% · 2 of 2 ran, succeeded")
    assert screens.errors == [], screens.errors
    context.close()


def test_a_rate_limit_is_asked_in_the_form_shown_on_the_progress_page_and_lifted_there(ui_stack, review, browser):
    context, page, screens = review_page(browser, DESKTOP, "rate-limit")
    page.goto(f"{ui_stack.url}/ui/#/flows/ui.review/untimed/triggers/daily/backfill")
    fill_window(page, *BIG_WINDOW)
    page.locator("details.advanced summary").click()
    page.get_by_label("Rate limit (slots per minute)").fill("600")
    expect(page.locator("#dry-run")).to_have_text(re.compile(r"^This will run \d{2},\d{3} executions"))
    page.get_by_role("button", name="Start backfill").click()
    confirm = page.get_by_role("group", name=re.compile(r"^Start [\d,]+ executions of untimed\?$"))
    expect(confirm).to_contain_text(
        re.compile(r"Estimated time: unknown.*; the rate limit of 600 a minute sets the pace: 20 min for [\d,]+ slots")
    )
    confirm.get_by_role("button", name="Go back").click()
    assert screens.errors == [], screens.errors

    page = context.new_page()  # a fresh page: the form of another flow
    screens = Screens(page, "review-rate-limit-1280-quick")
    page.goto(f"{ui_stack.url}/ui/#/flows/ui.review/quick/triggers/daily/backfill")
    fill_window(page, "2024-05-01T00:00", "2024-05-04T00:00")
    page.locator("details.advanced summary").click()
    page.get_by_label("Rate limit (slots per minute)").fill("6")
    expect(page.locator("#dry-run")).to_have_text("This will run 4 executions, 0 skipped.")
    forecast = page.locator("#forecast")
    expect(forecast.locator("#forecast-text")).to_contain_text(re.compile(r"Estimated AWS cost: \$\d+\.\d{4}\.$"))
    forecast.get_by_text("How the cost is worked out").click()
    expect(forecast).to_contain_text(
        "DynamoDB writes: 4 slots x 7.2 units = 28.8 write request units x $0.625 per million"
    )
    page.get_by_role("button", name="Start backfill").click()
    expect(page.get_by_role("heading", name="Backfill of quick")).to_be_visible()
    expect(page.locator("#rate")).to_contain_text("(limit 6 a minute)")
    expect(page.locator("#forecast-at-start")).to_have_text(re.compile(r"^(about .+ on AWS \(.+\)|unknown \(.+\))$"))
    expect(page.locator("#rate-limit")).to_have_value("6")
    expect(page.locator(".progress-text")).to_contain_text(re.compile(r"[01] of 4"))  # one in 10 s: not all at once
    page.locator("#rate-limit").fill("")
    page.locator("#set-rate-limit").click()
    expect(page.locator("#rate")).not_to_contain_text("limit")
    expect(progress(page)).to_have_attribute(
        "aria-valuenow", "100", timeout=60_000
    )  # the slot already sent keeps its time
    assert screens.errors == [], screens.errors
    context.close()


def test_a_run_window_is_asked_in_the_form_and_the_progress_page_says_it_waits_for_it(ui_stack, review, browser):
    paris_hour = datetime.now(ZoneInfo("Europe/Paris")).hour
    opens, closes = f"{(paris_hour + 2) % 24:02d}:00", f"{(paris_hour + 3) % 24:02d}:00"  # closed now
    context, page, screens = review_page(browser, DESKTOP, "run-window")
    page.goto(f"{ui_stack.url}/ui/#/flows/ui.review/quick/triggers/daily/backfill")
    fill_window(page, "2024-06-01T00:00", "2024-06-03T00:00")
    page.locator("details.advanced summary").click()
    page.get_by_label("Run window: from").fill(opens)
    page.get_by_label("Run window: to").fill(closes)
    page.get_by_label("SAT").uncheck()
    page.get_by_label("SUN").uncheck()
    page.get_by_label("Live runs first").uncheck()
    expect(page.locator("#dry-run")).to_have_text("This will run 3 executions, 0 skipped.")
    page.get_by_role("button", name="Start backfill").click()
    expect(page.get_by_role("heading", name="Backfill of quick")).to_be_visible()
    expect(page.locator(".badge").first).to_have_text("WAITING_FOR_WINDOW")
    expect(page.locator("#next-opening")).to_contain_text("carries on at")
    expect(page.locator("#run-window")).to_have_text(
        f"{opens} to {closes} Europe/Paris, Monday, Tuesday, Wednesday, Thursday, Friday"
    )
    expect(page.locator("#live-first")).to_have_text("compete with it")
    backfill_id = page.url.rsplit("/", 1)[-1]
    shown = ui_stack.get(f"/api/v1/backfills/{backfill_id}")
    assert shown["counts"]["PENDING"] == 3 and shown["liveFirst"] is False  # nothing sent; as asked
    requests.post(f"{ui_stack.url}/api/v1/backfills/{backfill_id}/cancel", json={}, timeout=30)
    assert screens.errors == [], screens.errors
    context.close()
