"""The web UI at /ui/, driven in Chromium through the seed scenario: open the flow, its Triggers tab, fill the
backfill form (dry-run count), watch the progress bar reach 100%, pause and resume a second backfill, cancel
a third, read the slots and an execution's logs. Screenshots of each step go to tests/e2e/screenshots/."""

import re
from pathlib import Path

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
    expect(page.locator("#dry-run-dates")).to_contain_text("2024-03-28 06:30:00Z to 2024-03-28 11:30:00Z")
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
    expect(page.locator(".progress-text")).to_have_text("100% · 11 of 11 slots done")
    expect(page.get_by_role("button", name="Pause")).to_be_disabled()
    screens.shot("progress-done")
    backfill_id = page.url.rsplit("/", 1)[1]
    made = ui_stack.backfills(namespace="dev", labels="reason:outage")
    assert len(made) == 11 and all(e["backfillId"] == backfill_id for e in made)

    # 6. Details: every slot with its state and a link to its execution.
    page.get_by_role("link", name="Details").click()
    rows = page.get_by_role("region", name="Slots").locator("tbody tr")
    expect(rows).to_have_count(11)
    expect(rows.first).to_contain_text("2024-03-28 06:30:00Z")
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
    page.get_by_role("button", name="Set").click()
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
    expect(page.get_by_label("Times are in")).to_have_value("UTC")
    page.get_by_label("Times are in").select_option("Europe/Paris")
    fill_window(page, "2024-03-01T00:00", "2024-03-07T23:59")
    region_error = page.locator("#err-inputs-region")
    expect(region_error).to_contain_text("required input 'region' has no value")
    region = page.get_by_role("main").get_by_label("region")  # the flow's input, not the AWS dialog's Region
    expect(region).to_have_attribute("aria-invalid", "true")
    screens.shot("input-error")
    region.fill("eu")
    expect(page.locator("#dry-run")).to_have_text("This will run 7 executions, 0 skipped.")
    expect(page.locator("#dry-run-dates")).to_contain_text("2024-03-01 03:00:00+01:00")
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
