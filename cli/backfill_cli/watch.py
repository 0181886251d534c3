"""`watch`: the backfill's progress, polled and drawn in place until it ends. Ctrl-C only stops the drawing: the
backfill runs on the server and carries on."""

import time
from typing import Any

from rich.console import Console
from rich.live import Live

from backfill_cli.client import ApiClient, ApiError, path_of
from backfill_cli.display import ENDED, progress_view

# Polls in a row that may fail for a passing reason (unreachable, 5xx such as a throttled 503) before the watch
# gives up: a long watch outlives a network blip or a redeploy.
MAX_MISSED_POLLS = 10


class Detached(Exception):
    """Ctrl-C during a watch: the person left, the backfill did not stop."""

    def __init__(self, backfill: dict[str, Any]):
        super().__init__(backfill.get("id"))
        self.backfill = backfill


def watch_backfill(client: ApiClient, backfill_id: str, console: Console | None, interval: float) -> dict[str, Any]:
    """Polls the backfill every `interval` seconds until it ends and answers its last state. With a console,
    draws it live (a terminal redraws in place; a file or pipe gets the final view only)."""
    path = path_of("backfills", backfill_id)
    backfill = client.get(path)
    live = Live(progress_view(backfill), console=console, auto_refresh=False) if console else None
    try:
        if live:
            live.start()
        missed = 0
        while backfill.get("status") not in ENDED:
            time.sleep(interval)
            try:
                backfill = client.get(path)
                missed = 0
            except ApiError as error:
                missed += 1
                if missed >= MAX_MISSED_POLLS or not error.passing():
                    raise
                continue
            if live:
                live.update(progress_view(backfill), refresh=True)
    except KeyboardInterrupt:
        raise Detached(backfill) from None
    finally:
        if live:
            live.stop()
            if console and not console.is_terminal:
                console.line()  # a terminal gets its line from Live; a file or pipe ends the view here
    return backfill
