"""A Schedule's TimeBetween and DateTimeBetween leave out the same slots in the dry run and in the backfill."""

from tests.flows import backfill_body

FLOW = """id: weekday-office-hours
namespace: tests
tasks:
  - id: hello
    type: io.kestra.plugin.core.log.Log
    message: "{{ trigger.date }}"
triggers:
  - id: every_hour
    type: io.kestra.plugin.core.trigger.Schedule
    cron: "0 * * * *"
    timezone: Europe/Paris
    conditions:
      - type: io.kestra.plugin.core.condition.Not
        conditions:
          - type: io.kestra.plugin.core.condition.Weekend
      - type: io.kestra.plugin.core.condition.TimeBetween
        after: "08:00:00+01:00"
        before: "11:00:00+01:00"
      - type: io.kestra.plugin.core.condition.DateTimeBetween
        before: "2024-03-05T09:30:00+01:00"
"""
# Paris is at +01:00 until 31 March: 09:00 and 10:00 local on weekdays, up to Tuesday 5 March 09:00.
KEPT = ["2024-03-01T09:00:00+01:00", "2024-03-01T10:00:00+01:00", "2024-03-04T09:00:00+01:00",
        "2024-03-04T10:00:00+01:00", "2024-03-05T09:00:00+01:00"]  # fmt: skip


def test_the_dry_run_and_the_backfill_keep_the_same_slots(stack):
    assert stack.call("POST", "/api/v1/flows", FLOW, "application/x-yaml").status == 200
    body = backfill_body("weekday-office-hours", "2024-02-29T12:00:00Z", "2024-03-31T00:00:00Z")
    plan = stack.call("POST", "/api/v1/backfills/dry-run?size=10", body).body
    assert (plan["total"], plan["firstPage"]) == (len(KEPT), KEPT)
    assert stack.call("PUT", "/api/v1/triggers", body).status == 200
    stack.drain()
    executions = stack.executions(namespace="tests", flowId="weekday-office-hours")
    assert sorted(e["trigger"]["variables"]["date"] for e in executions) == KEPT
