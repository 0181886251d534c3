"""Kestra's query filter vocabulary: its operations, the fields each of our routes honours with the operations
of each (Kestra's QueryFilter.Field and QueryFilter.Resource, as far as we serve them), and the values a field
takes. Parsing and the operations' meaning are in filters.py."""

from collections.abc import Mapping, Sequence
from enum import StrEnum


class Op(StrEnum):
    """Kestra's QueryFilter.Op."""

    EQUALS = "EQUALS"
    NOT_EQUALS = "NOT_EQUALS"
    GREATER_THAN = "GREATER_THAN"
    LESS_THAN = "LESS_THAN"
    GREATER_THAN_OR_EQUAL_TO = "GREATER_THAN_OR_EQUAL_TO"
    LESS_THAN_OR_EQUAL_TO = "LESS_THAN_OR_EQUAL_TO"
    IN = "IN"
    NOT_IN = "NOT_IN"
    STARTS_WITH = "STARTS_WITH"
    ENDS_WITH = "ENDS_WITH"
    CONTAINS = "CONTAINS"
    REGEX = "REGEX"
    PREFIX = "PREFIX"


# The operations Kestra's QueryFilter.Field lists for each kind of field.
TEXT_OPS = (Op.EQUALS, Op.NOT_EQUALS, Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH, Op.REGEX, Op.IN, Op.NOT_IN, Op.PREFIX)
ID_OPS = (Op.EQUALS, Op.NOT_EQUALS, Op.CONTAINS, Op.STARTS_WITH, Op.ENDS_WITH, Op.IN, Op.NOT_IN)
DATE_OPS = (
    Op.GREATER_THAN_OR_EQUAL_TO,
    Op.GREATER_THAN,
    Op.LESS_THAN_OR_EQUAL_TO,
    Op.LESS_THAN,
    Op.EQUALS,
    Op.NOT_EQUALS,
)
ENUM_OPS = (Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN)
LABEL_OPS = (Op.EQUALS, Op.NOT_EQUALS, Op.IN, Op.NOT_IN, Op.CONTAINS)
EQUALITY_OPS = (Op.EQUALS, Op.NOT_EQUALS)

# Kestra's State.Type, FlowScope and ExecutionKind: a value outside them is refused, one inside matches what it names.
KESTRA_STATES = frozenset(
    {
        *("CREATED", "SUBMITTED", "RUNNING", "PAUSED", "RESTARTED", "KILLING", "SUCCESS", "WARNING", "FAILED"),
        *("KILLED", "CANCELLED", "QUEUED", "RETRYING", "RETRIED", "SKIPPED", "BREAKPOINT", "RESUBMITTED"),
    }
)
SCOPES = frozenset({"USER", "SYSTEM"})
SYSTEM_NAMESPACE = "system"  # Kestra's default kestra.system-flows.namespace: SYSTEM scope is its flows
KINDS = frozenset({"NORMAL", "TEST", "PLAYGROUND", "LOOP"})
CHILD_FILTERS = frozenset({"CHILD", "MAIN"})
TRIGGER_STATES = frozenset({"enabled", "disabled"})
BOOLEANS = frozenset({"true", "false"})


class TriggerDateFilter(StrEnum):
    """Kestra 2.0's dateFilter of the trigger search: which date startDate and endDate bound."""

    NEXT_EXECUTION_DATE = "NEXT_EXECUTION_DATE"
    LAST_TRIGGERED_DATE = "LAST_TRIGGERED_DATE"


class DateFilter(StrEnum):
    """Kestra 2.0's dateFilter of the execution search: which date startDate, endDate and timeRange bound."""

    START_DATE = "START_DATE"
    END_DATE = "END_DATE"
    START_OR_END_DATE = "START_OR_END_DATE"


# Which fields a route honours, with the operations of each (Kestra's QueryFilter.Resource, as far as we serve it).
Fields = Mapping[str, Sequence[Op]]
EXECUTION_FIELDS: Fields = {
    "q": EQUALITY_OPS,
    "scope": EQUALITY_OPS,
    "namespace": TEXT_OPS,
    "flowId": TEXT_OPS,
    "startDate": DATE_OPS,
    "endDate": DATE_OPS,
    "timeRange": (Op.EQUALS,),
    "state": ENUM_OPS,
    "labels": LABEL_OPS,
    "triggerExecutionId": ID_OPS,
    "childFilter": EQUALITY_OPS,
    "kind": ENUM_OPS,
}
TRIGGER_FIELDS: Fields = {
    "q": EQUALITY_OPS,
    "scope": EQUALITY_OPS,
    "namespace": TEXT_OPS,
    "flowId": TEXT_OPS,
    "triggerId": ID_OPS,
    "triggerState": EQUALITY_OPS,
    "startDate": DATE_OPS,  # both bound the trigger's nextExecutionDate, as Kestra's trigger repository does
    "endDate": DATE_OPS,
    "nextExecutionDate": DATE_OPS,  # Kestra 2.0's
    "locked": EQUALITY_OPS,  # Kestra 2.0's: no trigger is ever locked here
}
# GET /backfills (ours): Kestra's trigger filters that name the backfill's trigger.
BACKFILL_FIELDS: Fields = {
    name: ops for name, ops in TRIGGER_FIELDS.items() if name in ("q", "scope", "namespace", "flowId", "triggerId")
}
# Kestra's FLOW resource.
FLOW_FIELDS: Fields = {
    "q": EQUALITY_OPS,
    "scope": EQUALITY_OPS,
    "namespace": TEXT_OPS,
    "flowId": TEXT_OPS,
    "labels": LABEL_OPS,
}
# Kestra's LOG resource, with timeRange as its 2.0 log search takes it.
LOG_FIELDS: Fields = {
    "q": EQUALITY_OPS,
    "scope": EQUALITY_OPS,
    "namespace": TEXT_OPS,
    "flowId": TEXT_OPS,
    "triggerId": ID_OPS,
    "executionId": ID_OPS,
    # Kestra's MIN_LEVEL: EQUALS keeps that level and the more severe ones; its later LEVEL compares, as here
    "level": (*EQUALITY_OPS, Op.GREATER_THAN_OR_EQUAL_TO, Op.LESS_THAN_OR_EQUAL_TO),
    "startDate": DATE_OPS,  # both bound the line's timestamp, as Kestra's log repository does
    "endDate": DATE_OPS,
    "timeRange": (Op.EQUALS,),
}
