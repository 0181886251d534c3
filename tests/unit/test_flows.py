"""parse_flow: flows are validated at registration, and every refusal is an Invalid naming the field."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from backfill_core.errors import Invalid
from backfill_core.flows.model import parse_flow
from backfill_core.flows.tasks.task_types import COMMANDS, LOG, LOG_LEGACY, SUPPORTED_TASK_TYPES

SEED_FLOWS = sorted((Path(__file__).resolve().parents[2] / "examples" / "flows").glob("*.yaml"))
SCHEDULE = "io.kestra.plugin.core.trigger.Schedule"
LEGACY_SCHEDULE = "io.kestra.core.models.triggers.types.Schedule"

HEAD = """\
id: my_flow
namespace: company.team
"""
COMMANDS_TASK = f"""\
tasks:
  - id: run
    type: {COMMANDS}
    commands:
      - echo hi
"""


def flow_yaml(tasks: str = COMMANDS_TASK, triggers: str = "", head: str = HEAD) -> str:
    return head + tasks + triggers


def schedule_trigger(extra: str = "    cron: '0 * * * *'\n", trigger_id: str = "schedule", kind=SCHEDULE) -> str:
    return f"  - id: {trigger_id}\n    type: {kind}\n" + extra


def refusal(source: str) -> str:
    with pytest.raises(Invalid) as caught:
        parse_flow(source)
    assert type(caught.value) is Invalid  # the kind the API answers with 422 (the domain knows no HTTP codes)
    return caught.value.message


# --- accepted flows ---------------------------------------------------------------------------------


def test_there_are_seed_flows():
    assert SEED_FLOWS


@pytest.mark.parametrize("path", SEED_FLOWS, ids=lambda p: p.name)
def test_seed_flows_parse(path):
    flow = parse_flow(path.read_text())

    assert flow.id == "scheduled_flow"
    assert flow.tasks[0].id == "external_system_export"
    trigger = flow.trigger("schedule")
    assert trigger is not None and trigger.is_schedule
    assert trigger.cron == "*/30 * * * *"
    assert trigger.timezone == "UTC"
    assert "{{trigger.date ?? execution.startDate}}" in flow.tasks[0].properties()["commands"][0]


def test_minimal_flow_parses():
    flow = parse_flow(flow_yaml())

    assert (flow.id, flow.namespace) == ("my_flow", "company.team")
    assert flow.tasks[0].properties() == {"commands": ["echo hi"]}
    assert flow.triggers == []


def test_legacy_schedule_alias_is_a_schedule():
    flow = parse_flow(flow_yaml(triggers="triggers:\n" + schedule_trigger(kind=LEGACY_SCHEDULE)))

    assert flow.trigger("schedule").is_schedule


def test_legacy_schedule_alias_is_validated_like_the_new_one():
    message = refusal(flow_yaml(triggers="triggers:\n" + schedule_trigger("    cron: nope\n", kind=LEGACY_SCHEDULE)))

    assert "triggers[schedule].cron" in message


def test_legacy_runner_process_is_accepted():
    flow = parse_flow(flow_yaml(COMMANDS_TASK + "    runner: PROCESS\n"))

    assert flow.tasks[0].properties()["runner"] == "PROCESS"


def test_process_task_runner_is_accepted():
    parse_flow(flow_yaml(COMMANDS_TASK + "    taskRunner:\n      type: io.kestra.plugin.core.runner.Process\n"))


@pytest.mark.parametrize("log_type", [LOG, LOG_LEGACY])
def test_log_tasks_are_accepted(log_type):
    flow = parse_flow(flow_yaml(f"tasks:\n  - id: say\n    type: {log_type}\n    message: hello\n    level: WARN\n"))

    assert flow.tasks[0].properties() == {"message": "hello", "level": "WARN"}


def test_with_seconds_cron_is_accepted_with_with_seconds():
    flow = parse_flow(
        flow_yaml(triggers="triggers:\n" + schedule_trigger("    cron: '0 0 * * * *'\n    withSeconds: true\n"))
    )

    assert flow.trigger("schedule").with_seconds is True
    assert flow.trigger("schedule").to_kestra()["withSeconds"] is True


def test_timezone_is_kept():
    flow = parse_flow(
        flow_yaml(triggers="triggers:\n" + schedule_trigger("    cron: '0 9 * * *'\n    timezone: Europe/Paris\n"))
    )

    assert flow.trigger("schedule").timezone == "Europe/Paris"


def test_a_flow_setting_not_implemented_is_refused_not_kept():
    """A concurrency limit of 1 used to be kept and ignored, letting executions overlap (issue 13); what is still
    not run, a flow-level retry, is refused."""
    assert "retry: not supported yet" in refusal(
        flow_yaml(head=HEAD + "description: hi\nretry:\n  type: constant\n  interval: PT1M\n  maxAttempts: 2\n")
    )


# --- refusals ---------------------------------------------------------------------------------------


def test_yaml_that_does_not_parse():
    assert "does not parse" in refusal("id: [unclosed\n")


@pytest.mark.parametrize("source", ["", "just a string", "- a\n- b\n"])
def test_yaml_that_is_not_a_mapping(source):
    assert "mapping" in refusal(source)


def test_missing_id():
    assert refusal(flow_yaml(head="namespace: company.team\n")).startswith("id:")


def test_missing_namespace():
    assert refusal(flow_yaml(head="id: my_flow\n")).startswith("namespace:")


def test_missing_tasks():
    assert refusal(HEAD).startswith("tasks:")


def test_empty_tasks():
    assert refusal(flow_yaml("tasks: []\n")).startswith("tasks:")


def test_bad_id_and_namespace_patterns():
    assert refusal(flow_yaml(head="id: 'my flow'\nnamespace: company.team\n")).startswith("id:")
    assert refusal(flow_yaml(head="id: my_flow\nnamespace: Company Team\n")).startswith("namespace:")


def test_unsupported_task_type_names_the_task_and_lists_the_supported_types():
    message = refusal(flow_yaml("tasks:\n  - id: fan\n    type: io.kestra.plugin.core.flow.Pause\n"))

    assert "tasks[fan].type" in message
    assert "io.kestra.plugin.core.flow.Pause" in message
    for supported in SUPPORTED_TASK_TYPES:
        assert supported in message


def test_task_without_type():
    assert "type" in refusal(flow_yaml("tasks:\n  - id: run\n    commands: [echo]\n"))


def test_docker_task_runner_is_refused():
    message = refusal(
        flow_yaml(COMMANDS_TASK + "    taskRunner:\n      type: io.kestra.plugin.scripts.runner.docker.Docker\n")
    )

    assert message.startswith("tasks[run].taskRunner.type")


def test_legacy_docker_runner_is_refused():
    assert refusal(flow_yaml(COMMANDS_TASK + "    runner: DOCKER\n")).startswith("tasks[run].runner")


@pytest.mark.parametrize("commands", ["", "    commands: []\n", "    commands: echo hi\n", "    commands: [1]\n"])
def test_commands_task_without_commands(commands):
    message = refusal(flow_yaml(f"tasks:\n  - id: run\n    type: {COMMANDS}\n{commands}"))

    assert message.startswith("tasks[run].commands")


def test_commands_env_must_be_a_map():
    assert refusal(flow_yaml(COMMANDS_TASK + "    env: [A]\n")).startswith("tasks[run].env")


def test_log_task_without_message():
    assert refusal(flow_yaml(f"tasks:\n  - id: say\n    type: {LOG}\n")).startswith("tasks[say].message")


def test_log_task_with_an_unknown_level():
    message = refusal(flow_yaml(f"tasks:\n  - id: say\n    type: {LOG}\n    message: hi\n    level: LOUD\n"))

    assert message.startswith("tasks[say].level")


def test_task_with_a_bad_timeout():
    message = refusal(flow_yaml(COMMANDS_TASK + "    timeout: 5 minutes\n"))

    assert message.startswith("tasks[run].timeout")
    assert "5 minutes" in message


def test_bad_cron():
    message = refusal(flow_yaml(triggers="triggers:\n" + schedule_trigger("    cron: '61 * * * *'\n")))

    assert message.startswith("triggers[schedule].cron")
    assert "61 * * * *" in message


def test_six_field_cron_without_with_seconds_hints_at_it():
    message = refusal(flow_yaml(triggers="triggers:\n" + schedule_trigger("    cron: '0 0 * * * *'\n")))

    assert message.startswith("triggers[schedule].cron")
    assert "withSeconds" in message


def test_bad_timezone():
    message = refusal(
        flow_yaml(triggers="triggers:\n" + schedule_trigger("    cron: '0 * * * *'\n    timezone: Mars/Olympus\n"))
    )

    assert message.startswith("triggers[schedule].timezone")
    assert "Mars/Olympus" in message


def test_schedule_without_cron():
    assert refusal(flow_yaml(triggers="triggers:\n" + schedule_trigger(""))).startswith("triggers[schedule].cron")


def test_duplicate_task_ids():
    tasks = COMMANDS_TASK + f"  - id: run\n    type: {LOG}\n    message: again\n"

    message = refusal(flow_yaml(tasks))

    assert message.startswith("tasks")
    assert "'run'" in message and "twice" in message


def test_duplicate_trigger_ids():
    triggers = "triggers:\n" + schedule_trigger() + schedule_trigger("    cron: '@daily'\n")

    message = refusal(flow_yaml(triggers=triggers))

    assert message.startswith("triggers[schedule].id")
    assert "twice" in message


def test_the_first_problem_is_reported_for_the_task_it_belongs_to():
    tasks = COMMANDS_TASK + f"  - id: second\n    type: {LOG}\n"

    assert refusal(flow_yaml(tasks)).startswith("tasks[second].message")


# --- Flow helpers -----------------------------------------------------------------------------------


def test_trigger_lookup_by_id():
    triggers = "triggers:\n" + schedule_trigger(trigger_id="hourly") + schedule_trigger("    cron: '@daily'\n", "daily")
    flow = parse_flow(flow_yaml(triggers=triggers))

    assert flow.trigger("daily").cron == "@daily"
    assert flow.trigger("hourly").cron == "0 * * * *"
    assert flow.trigger("missing") is None


def test_trigger_schedule_gives_slots_in_its_timezone():
    flow = parse_flow(
        flow_yaml(triggers="triggers:\n" + schedule_trigger("    cron: '0 9 * * *'\n    timezone: Europe/Paris\n"))
    )

    slots = (
        flow.trigger("schedule")
        .schedule()
        .slots(datetime(2024, 1, 10, tzinfo=UTC), datetime(2024, 1, 11, tzinfo=UTC), 5)
    )

    assert slots == [datetime(2024, 1, 10, 8, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("extra", "needle"),
    [
        ("    recoverMissedSchedules: SOME\n", "recoverMissedSchedules"),
        ("    stopAfter: [DONE]\n", "triggers[s].stopAfter"),
        ("    lateMaximumDelay: five minutes\n", "triggers[s].lateMaximumDelay"),
    ],
)
def test_schedule_options_are_checked_at_registration(extra, needle):
    source = (
        "id: f\nnamespace: tests\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
        "triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n" + extra
    )
    with pytest.raises(Invalid) as caught:
        parse_flow(source)
    assert needle in caught.value.message


def test_schedule_options_are_read():
    source = (
        "id: f\nnamespace: tests\ntasks:\n  - id: a\n    type: io.kestra.plugin.core.log.Log\n    message: m\n"
        "triggers:\n  - id: s\n    type: io.kestra.plugin.core.trigger.Schedule\n    cron: '@daily'\n"
        "    recoverMissedSchedules: LAST\n    stopAfter: [FAILED, KILLED]\n    lateMaximumDelay: PT10M\n"
    )
    trigger = parse_flow(source).trigger("s")
    assert trigger.recover_missed_schedules == "LAST"
    assert trigger.stop_after == ["FAILED", "KILLED"]
    assert trigger.late_limit().total_seconds() == 600


def test_an_unquoted_date_is_text_as_kestra_reads_it():
    """Was: PyYAML made `defaults: 2024-01-01T00:00:00Z` a datetime, and the DATETIME input refused its own
    default ('2024-01-01 00:00:00+00:00' is not an ISO-8601 date-time); Kestra's parser keeps the text."""
    flow = parse_flow(
        flow_yaml(head=HEAD + "inputs:\n  - id: since\n    type: DATETIME\n    defaults: 2024-01-01T00:00:00Z\n")
    )
    assert flow.inputs[0].defaults == "2024-01-01T00:00:00Z"
