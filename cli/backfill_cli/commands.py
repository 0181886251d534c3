"""The `backfill` commands (README, "Command line"). Each is one or a few calls of the public API; human output by
default, the API's JSON with --json. Exit status: 0 done, 1 the API refused or could not be reached, 2 a usage
error, 3 a watched backfill ended FAILED or CANCELLED, 130 a watch detached by Ctrl-C."""

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import click
from rich.console import Console

from backfill_cli.arguments import (
    BadArgument,
    backfill_body,
    backfill_trigger,
    flow_candidates,
    key_values,
    rate_limit,
)
from backfill_cli.arguments import run_window as window_of
from backfill_cli.client import LOCAL_URL, ApiClient, ApiError, path_of
from backfill_cli.display import (
    SLOT_STATES,
    backfill_table,
    backfills_table,
    dry_run_text,
    slots_table,
)
from backfill_cli.signing import SigningUnavailable, SigV4Signer, is_aws_url
from backfill_cli.watch import Detached, watch_backfill

EXIT_REFUSED, EXIT_USAGE, EXIT_ENDED_BADLY, EXIT_DETACHED = 1, 2, 3, 130
STATUSES = ("QUEUED", "RUNNING", "PAUSED", "WAITING_FOR_WINDOW", "CANCELLING", "CANCELLED", "SUCCEEDED", "FAILED")
PAGE = 1000  # the API's largest page


@dataclass
class Settings:
    """The group's options, read once; the client is made on first use so `--help` needs no credentials."""

    url: str
    tenant: str | None
    token: str | None
    sigv4: bool | None
    region: str | None
    timeout: float
    _client: ApiClient | None = None

    def client(self) -> ApiClient:
        if self._client is None:
            sign = self.sigv4 if self.sigv4 is not None else is_aws_url(self.url)
            try:
                signer = SigV4Signer.from_chain(self.url, self.region) if sign else None
            except SigningUnavailable as error:
                fail(str(error))
            if self.region and not sign:
                usage(f"--region: only SigV4 uses a region, and {self.url} is not signed (add --sigv4)")
            self._client = ApiClient(self.url, self.tenant, self.token, signer, self.timeout)
        return self._client


def fail(message: str, status: int = EXIT_REFUSED) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(status)


def usage(message: str) -> NoReturn:
    fail(message, EXIT_USAGE)


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))


def console() -> Console:
    """Rich's console on stdout; its width is the terminal's (or COLUMNS)."""
    return Console(highlight=False)


json_option = click.option("--json", "as_json", is_flag=True, help="Print the API's JSON answer (for scripts).")


def settings() -> Settings:
    found: Settings = click.get_current_context().find_root().obj
    return found


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option(
    "--url",
    envvar="BACKFILL_URL",
    default=LOCAL_URL,
    show_default=True,
    help="The API: the local stack, or the deployed stage URL (env BACKFILL_URL).",
)
@click.option("--tenant", envvar="BACKFILL_TENANT", help="A Kestra tenant id (default: the API's, main).")
@click.option(
    "--token",
    envvar="BACKFILL_API_TOKEN",
    help="The API token (env BACKFILL_API_TOKEN): a bearer token, or X-Api-Token beside SigV4.",
)
@click.option(
    "--sigv4/--no-sigv4",
    default=None,
    help="Sign with SigV4 from the AWS credential chain (default: for *.amazonaws.com URLs).",
)
@click.option("--region", help="The region to sign for (default: the URL's, else the AWS configuration's).")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=30.0,
    show_default=True,
    help="Seconds to wait for each answer.",
)
@click.pass_context
def cli(
    ctx: click.Context,
    url: str,
    tenant: str | None,
    token: str | None,
    sigv4: bool | None,
    region: str | None,
    timeout: float,
) -> None:
    """Backfills of Kestra Schedule triggers, from the command line."""
    ctx.obj = Settings(url, tenant, token, sigv4, region, timeout)


def find_flow(client: ApiClient, reference: str) -> dict[str, Any]:
    """The flow a NAMESPACE.FLOW_ID names, trying each reading of its dots, the likeliest first."""
    readings = flow_candidates(reference)
    for namespace, flow_id in readings:
        try:
            return dict(client.get(path_of("flows", namespace, flow_id)))
        except ApiError as error:
            if error.status != 404:
                raise
    tried = ", ".join(f"namespace {ns!r} flowId {fid!r}" for ns, fid in readings)
    raise ApiError(404, f"FLOW: no flow {reference} ({tried})")


@cli.command()
@click.argument("flow", metavar="NAMESPACE.FLOW_ID")
@click.argument("trigger", required=False)
@click.option("--start", required=True, help="The first date of the window (ISO 8601 with its offset).")
@click.option("--end", help="The last date, included (default: now, fixed when the backfill is created).")
@click.option("--label", "labels", multiple=True, metavar="KEY=VALUE", help="A label of every execution.")
@click.option("--input", "inputs", multiple=True, metavar="KEY=VALUE", help="A flow input (a string).")
@click.option("--concurrency", type=click.IntRange(min=1), help="Slots in flight at once (API default 1).")
@click.option("--order", type=click.Choice(["oldest_first", "newest_first"]), help="Slot order (oldest_first).")
@click.option("--reprocess", type=click.Choice(["all", "failed", "missing"]), help="What to replay (all).")
@click.option("--max-failures", type=click.IntRange(min=1), help="Pause once this many slots failed.")
@click.option(
    "--max-slots-per-minute", type=click.IntRange(min=1), help="A rate limit: slots started in any minute, at most."
)
@click.option("--run-window", metavar="FROM-TO", help="Start slots only between these local times, e.g. 01:00-06:00.")
@click.option("--run-days", metavar="DAYS", help="The days the run window opens, e.g. MON,TUE (default every day).")
@click.option("--run-zone", metavar="ZONE", help="The run window's time zone (default the trigger's).")
@click.option(
    "--live-first/--no-live-first",
    default=True,
    help="Step aside while a slot of the trigger's live schedule starts (default), or compete with it.",
)
@click.option("--dry-run", is_flag=True, help="Count and list the slots; start nothing.")
@click.option("--watch", "then_watch", is_flag=True, help="Then watch it until it ends (as `backfill watch`).")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.1),
    default=1.0,
    show_default=True,
    help="Seconds between polls when watching.",
)
@json_option
def create(
    flow: str,
    trigger: str | None,
    start: str,
    end: str | None,
    labels: tuple[str, ...],
    inputs: tuple[str, ...],
    concurrency: int | None,
    order: str | None,
    reprocess: str | None,
    max_failures: int | None,
    max_slots_per_minute: int | None,
    run_window: str | None,
    run_days: str | None,
    run_zone: str | None,
    live_first: bool,
    dry_run: bool,
    then_watch: bool,
    interval: float,
    as_json: bool,
) -> None:
    """Backfill the flow's Schedule TRIGGER (its only one when not named) from --start to --end."""
    if dry_run and then_watch:
        usage("--watch: a dry run starts nothing to watch")
    try:
        body = backfill_body(
            start,
            end,
            key_values(labels, "--label"),
            key_values(inputs, "--input"),
            concurrency,
            order,
            reprocess,
            max_failures,
            max_slots_per_minute,
            window_of(run_window, run_days, run_zone),
            live_first,
        )
    except BadArgument as error:
        usage(str(error))
    client = settings().client()
    found = find_flow(client, flow)
    try:
        trigger_id = backfill_trigger(found, trigger)
    except BadArgument as error:
        usage(str(error))
    request = {"namespace": found["namespace"], "flowId": found["id"], "triggerId": trigger_id, "backfill": body}
    if dry_run:
        plan = client.call("POST", "/backfills/dry-run", {"size": 5}, body=request)
        if as_json:
            print_json(plan)
        else:
            click.echo(dry_run_text(plan))
        return
    answer = client.call("PUT", "/triggers", body=request)
    created = answer["backfill"]
    if then_watch:
        follow(client, str(created["id"]), as_json, interval)
    elif as_json:
        print_json(answer)
    else:
        click.echo(
            f"Backfill {created['id']} {created['status']}: {created['total']} slots of "
            f"{request['namespace']}.{request['flowId']}:{trigger_id} from {created['start']} to "
            f"{created['end']}"
        )


@cli.command(name="list")
@click.option("--namespace", help="Backfills of this namespace (and those below it).")
@click.option("--flow-id", help="Backfills of this flow id.")
@click.option("--trigger-id", help="Backfills of this trigger id.")
@click.option("--status", type=click.Choice(STATUSES), help="Backfills in this status.")
@click.option("--page", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--size", type=click.IntRange(1, PAGE), default=25, show_default=True)
@json_option
def list_backfills(
    namespace: str | None,
    flow_id: str | None,
    trigger_id: str | None,
    status: str | None,
    page: int,
    size: int,
    as_json: bool,
) -> None:
    """Backfills, running or ended, newest first."""
    params = {
        "namespace": namespace,
        "flowId": flow_id,
        "triggerId": trigger_id,
        "status": status,
        "page": page,
        "size": size,
    }
    answer = settings().client().get("/backfills", **params)
    if as_json:
        print_json(answer)
        return
    console().print(backfills_table(answer["results"]))
    click.echo(f"{len(answer['results'])} of {answer['total']} backfills (page {page})")


@cli.command()
@click.argument("backfill_id")
@json_option
def show(backfill_id: str, as_json: bool) -> None:
    """One backfill with its progress."""
    backfill = settings().client().get(path_of("backfills", backfill_id))
    if as_json:
        print_json(backfill)
    else:
        console().print(backfill_table(backfill))


def follow(client: ApiClient, backfill_id: str, as_json: bool, interval: float) -> NoReturn:
    """Watch to the end and exit with the backfill's outcome."""
    try:
        ended = watch_backfill(client, backfill_id, None if as_json else console(), interval)
    except Detached as detached:
        click.echo(
            f"Detached: backfill {backfill_id} carries on ({detached.backfill.get('status')}); "
            f"`backfill watch {backfill_id}` follows it again.",
            err=True,
        )
        sys.exit(EXIT_DETACHED)
    if as_json:
        print_json(ended)
    sys.exit(0 if ended["status"] == "SUCCEEDED" else EXIT_ENDED_BADLY)


@cli.command()
@click.argument("backfill_id")
@click.option(
    "--interval", type=click.FloatRange(min=0.1), default=1.0, show_default=True, help="Seconds between polls."
)
@json_option
def watch(backfill_id: str, interval: float, as_json: bool) -> None:
    """A live progress bar until the backfill ends; exits 3 if it ends FAILED or CANCELLED. Ctrl-C detaches
    (the backfill carries on)."""
    follow(settings().client(), backfill_id, as_json, interval)


def change(backfill_id: str, as_json: bool, method: str, action: str, body: dict[str, Any] | None) -> None:
    answer = settings().client().call(method, path_of("backfills", backfill_id, *action.split("/")), body=body)
    if as_json:
        print_json(answer)
        return
    backfill = answer.get("backfill", answer)
    retried = f"{answer['retried']} failed slots run again; " if "retried" in answer else ""
    click.echo(f"{retried}Backfill {backfill['id']} {backfill['status']}")


@cli.command()
@click.argument("backfill_id")
@json_option
def pause(backfill_id: str, as_json: bool) -> None:
    """Pause this backfill: no new slot starts (running ones finish)."""
    change(backfill_id, as_json, "PATCH", "", {"paused": True})


@cli.command()
@click.argument("backfill_id")
@json_option
def resume(backfill_id: str, as_json: bool) -> None:
    """Resume a paused backfill (the held slots first)."""
    change(backfill_id, as_json, "PATCH", "", {"paused": False})


@cli.command(name="set")
@click.argument("backfill_id")
@click.option("--concurrency", type=click.IntRange(min=1), help="A new window: slots in flight at once.")
@click.option("--max-slots-per-minute", "rate", metavar="N|none", help="A new rate limit; none removes it.")
@json_option
def set_limits(backfill_id: str, concurrency: int | None, rate: str | None, as_json: bool) -> None:
    """Change a running backfill's concurrency or rate limit; the slots dispatched next follow them."""
    body: dict[str, Any] = {} if concurrency is None else {"concurrency": concurrency}
    if rate is not None:
        try:
            body["maxSlotsPerMinute"] = rate_limit(rate)
        except BadArgument as error:
            usage(str(error))
    if not body:
        usage("give --concurrency, --max-slots-per-minute or both")
    changed = settings().client().call("PATCH", path_of("backfills", backfill_id), body=body)
    if as_json:
        print_json(changed)
        return
    click.echo(
        f"Backfill {changed['id']} {changed['status']}: concurrency {changed['concurrency']}, "
        f"maxSlotsPerMinute {changed.get('maxSlotsPerMinute') or 'none'}"
    )


@cli.command()
@click.argument("backfill_id")
@click.option("--kill", is_flag=True, help="Kill its running executions too (else they finish).")
@json_option
def cancel(backfill_id: str, kill: bool, as_json: bool) -> None:
    """Cancel a backfill: nothing further runs."""
    change(backfill_id, as_json, "POST", "cancel", {"kill": kill})


@cli.command(name="retry-failed")
@click.argument("backfill_id")
@json_option
def retry_failed(backfill_id: str, as_json: bool) -> None:
    """Run the backfill's failed slots again, as new executions."""
    change(backfill_id, as_json, "POST", "retry-failed", None)


@cli.command()
@click.argument("backfill_id")
@click.option(
    "--state", "states", multiple=True, type=click.Choice(SLOT_STATES), help="Only slots in this state (repeatable)."
)
@click.option(
    "--limit", type=click.IntRange(min=0), default=100, show_default=True, help="Show at most this many slots (0: all)."
)
@json_option
def slots(backfill_id: str, states: tuple[str, ...], limit: int, as_json: bool) -> None:
    """The backfill's slots in its order, with their state, execution and skip reason."""
    client, found, page, total = settings().client(), [], 1, 0
    size = min(limit, PAGE) if limit else PAGE
    while True:  # the API filters by state: `total` counts the slots in those states
        answer = client.get(path_of("backfills", backfill_id, "slots"), page=page, size=size, state=list(states))
        total = answer["total"]
        found += answer["results"]
        if (limit and len(found) >= limit) or page * size >= total or not answer["results"]:
            break
        page += 1
    shown = found[:limit] if limit else found
    if as_json:
        print_json(shown)
        return
    console().print(slots_table(shown))
    which = f" in {', '.join(states)}" if states else ""
    click.echo(f"{len(shown)} of the backfill's {total} slots{which} shown")


@cli.command()
@click.argument("execution_id")
@click.option(
    "--min-level",
    type=click.Choice(["TRACE", "DEBUG", "INFO", "WARN", "ERROR"]),
    help="This level and the more severe.",
)
@json_option
def logs(execution_id: str, min_level: str | None, as_json: bool) -> None:
    """An execution's log lines."""
    client, lines, page = settings().client(), [], 1
    while True:
        batch = client.get(path_of("logs", execution_id), minLevel=min_level, page=page, size=PAGE)
        lines += batch
        if len(batch) < PAGE:
            break
        page += 1
    if as_json:
        print_json(lines)
        return
    for line in lines:
        click.echo(f"{line['timestamp']} {line['level']:<5} {line.get('taskId') or '-'} {line['message']}")


@cli.group()
def flows() -> None:
    """Flows (Kestra YAML)."""


@flows.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@json_option
def push(files: tuple[Path, ...], as_json: bool) -> None:
    """Register each flow, or revise it when it exists."""
    import yaml

    client, answers = settings().client(), []
    for file in files:
        source = file.read_text()
        try:
            flow = yaml.safe_load(source)
        except yaml.YAMLError as error:
            usage(f"{file}: not YAML ({' '.join(str(error).split())})")
        if not isinstance(flow, dict) or not flow.get("namespace") or not flow.get("id"):
            usage(f"{file}: a flow needs `id` and `namespace`")
        path = path_of("flows", str(flow["namespace"]), str(flow["id"]))
        try:
            client.get(path)
            method, url, verb = "PUT", path, "revised"
        except ApiError as error:
            if error.status != 404:
                raise
            method, url, verb = "POST", "/flows", "created"
        saved = client.call(method, url, text=source, content_type="application/x-yaml")
        answers.append(saved)
        if not as_json:
            click.echo(f"{file}: {saved['namespace']}.{saved['id']} {verb}, revision {saved.get('revision')}")
    if as_json:
        print_json(answers)


def main() -> None:
    """The console script: API refusals as one line naming the field, exit 1."""
    try:
        cli.main(prog_name="backfill", standalone_mode=True)
    except ApiError as error:
        fail(error.one_line())
    except BadArgument as error:
        usage(str(error))
