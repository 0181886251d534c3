"""What tests/kestra_route_table.py says of Kestra's routes beyond "served": the difference a served route has
(README "API"), and why a route is not served, by Kestra's tag or by route. Each one short and true."""

import re

# A served route that answers otherwise than Kestra's: (METHOD, Kestra's path below /api/v1 and the tenant).
REFUSES_NONSENSE = (
    "refuses what Kestra takes: a `start` after `end`, an `end` in the future, a window with no slot of the cron "
    "(`422`), a range overlapping a running backfill of the trigger (`409`; Kestra replaces the first, losing it)"
)
UNLOCK = 'always `409` (bulk: `{"count": 0}`): the scheduler never holds a trigger locked (it uses conditional writes)'
FLOW_CHECKED = (
    'only the task types, triggers and properties README "Flows" lists are taken; any other is a `422` naming its path'
)
KILL_CASCADE = "`isOnKillCascade=false` is a `422`: a subflow's execution its parent waits for is always killed with it"
LATEST = "a `revision` other than the latest is a `404` (only the latest is kept)"
REPLAY = f"from the first task only (`taskRunId` is a `422`); {LATEST}"
AT_MOST_4_MIB = "at most 4 MiB (Lambda answers at most 6 MB)"
DIFFERENCES: dict[tuple[str, str], str] = {
    ("PUT", "/triggers"): REFUSES_NONSENSE,
    ("PUT", "/triggers/backfill/create"): REFUSES_NONSENSE,
    ("POST", "/triggers/unlock/by-query"): UNLOCK,
    ("POST", "/triggers/unlock/by-triggers"): UNLOCK,
    ("POST", "/triggers/{namespace}/{flowId}/{triggerId}/unlock"): UNLOCK,
    ("POST", "/triggers/{namespace}/{flowId}/{triggerId}/restart"): (
        "the live schedule forgets where it got to and takes the trigger up at its next tick: the slots before it "
        "are not recovered; its disabled flag and backfills stay"
    ),
    ("POST", "/flows"): FLOW_CHECKED,
    ("PUT", "/flows/{namespace}/{id}"): FLOW_CHECKED,
    ("POST", "/flows/validate"): (
        'only the task types, triggers and properties README "Flows" lists are taken; any other is a constraint '
        "naming its path"
    ),
    ("GET", "/flows/{namespace}/{id}/revisions"): (
        "only the latest revision is kept: a list of one; a deleted flow is a `404` even with `allowDelete=true`"
    ),
    ("POST", "/executions/{namespace}/{id}"): (
        "`wait=true`, `breakpoints`, a `kind` other than `NORMAL` and FILE inputs are a `422`; `scheduleDate` at "
        f"most 15 minutes ahead (SQS's delay); {LATEST}"
    ),
    ("GET", "/executions/{executionId}/follow"): (
        "API Gateway answers a Lambda whole: the events are gathered while the execution runs, for at most 20 s, "
        "then answered together; without an `end` event, follow again"
    ),
    (
        "DELETE",
        "/executions/{executionId}",
    ): "a running execution is a `409` (kill it first; Kestra deletes it as it runs)",
    ("DELETE", "/executions/{executionId}/actions/kill"): KILL_CASCADE,
    ("POST", "/executions/{executionId}/replay"): REPLAY,
    ("POST", "/executions/{executionId}/actions/replay"): REPLAY,
    ("POST", "/executions/{executionId}/restart"): LATEST,
    ("POST", "/executions/{executionId}/actions/restart"): LATEST,
    ("GET", "/executions/{executionId}/file"): f"a file of {AT_MOST_4_MIB}; a larger one is a `422`",
    ("GET", "/logs/{executionId}/download"): f"lines of {AT_MOST_4_MIB}; more are a `422`: narrow them",
}

# Kestra's query parameters that a route we serve does not take: refused with a 422 naming it, as any parameter a
# route does not declare; tests/integration/test_kestra_parameters.py keeps this equal to what our routes declare.
REFUSED_PARAMETERS: dict[tuple[str, str], tuple[str, ...]] = {
    ("GET", "/executions/{executionId}/file"): ("format",),
    ("GET", "/logs/search"): ("cursor",),
}

IDENTITY = "identity and access are AWS IAM's: API Gateway checks each call's SigV4 signature"
SERVERS = "Kestra's instance administration: the servers here are Lambda functions, run by AWS"
OUTSIDE = "outside a backfill engine"
SECRETS = "secrets are AWS Secrets Manager's, under `FlowSecretsPrefix` (README \"Flows\"): kept with AWS's tools"
SECRETS_AND_ROLE = 'AWS tasks act with the task runner\'s role; other secrets are in Secrets Manager (README "Flows")'
EXPRESSIONS = "expressions are rendered as a task runs, never on request"
GRAPH = "no topology graph: the web UI here draws none"
DEPENDENCIES = "no dependency graph is kept"
BULK = "bulk forms are not built: one execution at a time (a backfill's slots have `cancel` and `retry-failed`)"
NOT_EDITED = (
    "an execution's state and labels are the engine's: set at its creation, then moved only by its run, a kill, "
    "a restart"
)
QUEUE = "a queued execution waits for a place under its flow's `concurrency.limit`, never forced past it"
NO_PAUSE = (
    'nothing pauses an execution here (no Pause task or breakpoint, README "Flows"): it runs to its end or is killed'
)
CSV = "no CSV export: the search answers JSON"
FLOW_BULK = "flows are registered, revised and deleted one at a time, by their YAML"

# By Kestra's tag: the reason for every route of the tag that is not served (ROUTE_REASONS come first).
TAG_REASONS: dict[str, str] = {
    **dict.fromkeys(
        (
            "Auths",
            "Bindings",
            "Groups",
            "Invitations",
            "Roles",
            "SCIM-Configuration",
            "SCIM-Groups",
            "SCIM-Users",
            "SecurityIntegrations",
            "ServiceAccount",
            "Tenant Access",
            "Users",
            "login",
        ),
        IDENTITY,
    ),
    **dict.fromkeys(
        ("Banners", "Cluster", "Services", "Worker Auth", "Worker Groups", "WorkerGroups", "WorkerQueues"), SERVERS
    ),
    **dict.fromkeys(
        (
            "AI",
            "Apps",
            "Assets",
            "Blueprint Tags",
            "Blueprints",
            "Dashboards",
            "Mcp",
            "Notifications",
            "Policies",
            "Quotas",
            "TestSuites",
        ),
        OUTSIDE,
    ),
    "Audit Logs": "no audit log is kept",
    "Credentials": SECRETS_AND_ROLE,
    "Expressions": EXPRESSIONS,
    "Files": 'namespace files are refused in flows (README "Flows"); a task has its `inputFiles` and `outputFiles`',
    "KV": 'no KV store: `kv()` and the KV tasks are refused in flows (README "Flows")',
    "KillSwitches": "Kestra's instance administration: here disable a trigger or a flow, or kill an execution",
    "Metrics": 'tasks emit no metrics here (the `kestra` module offers `Kestra.outputs` only, README "Flows")',
    "Misc": SERVERS,
    "Namespaces": (
        "a namespace is a flow's field only, nothing to create or set (`GET /flows/distinct-namespaces` lists them)"
    ),
    "Outputs": "an execution's outputs are in its JSON (`outputs`, `taskRunList[].outputs`)",
    "Plugins": 'the task types are a fixed set, built in (README "Flows"): none to install or list',
    "Reusable Inputs": "a flow declares its own inputs",
    "Secrets": SECRETS,
    "Tenants": 'a tenant needs no creating: any tenant id of Kestra\'s pattern works, each isolated (README "API")',
}

# By route ("METHOD /path", Kestra's path below /api/v1 and the tenant): the first pattern that matches wins.
ROUTE_REASONS: list[tuple[str, str]] = [
    (
        r"\w+ /executions/webhook/.*",
        'a flow\'s triggers are `Schedule`s: a Webhook trigger is refused (README "Flows")',
    ),
    (r"\w+ /executions/(delete|kill|replay|restart)?/?by-(ids|query)", BULK),
    (r"POST /executions/(labels|change-status)/by-(ids|query)", NOT_EDITED),
    (r"POST /executions/\{executionId\}/(actions/)?(labels|change-status|state)", NOT_EDITED),
    (r"POST /executions/(force-run|unqueue)/by-(ids|query)", QUEUE),
    (r"POST /executions/\{executionId\}/(actions/)?(force-run|unqueue)", QUEUE),
    (r"POST /executions/(pause|resume)/by-(ids|query)", NO_PAUSE),
    (r"POST /executions/\{executionId\}/(actions/)?(pause|resume.*)", NO_PAUSE),
    (
        r"POST /executions/\{executionId\}/(actions/)?replay-with-inputs",
        "a replay keeps the inputs of the one replayed",
    ),
    (r"POST /executions/\{executionId\}/actions/eval.*", EXPRESSIONS),
    (r"GET /executions/\{executionId\}/graph", GRAPH),
    (r"GET /executions/\{executionId\}/follow-dependencies", "not built: follow each subflow's execution by its id"),
    (
        r"GET /executions/\{executionId\}/file/(metas|preview)",
        "not built: `GET /executions/{executionId}/file` answers the file",
    ),
    (r"GET /executions/export/.*", CSV),
    (r"GET /executions", "`GET /executions/search` with `namespace` and `flowId` answers it"),
    (
        r"(GET /executions/(distinct-field-values|namespaces.*|flows/.*|\{executionId\}/flow)|POST /executions/latest)",
        "Kestra's UI helpers, not built: `/flows/distinct-namespaces`, `/flows/{namespace}/{id}`, `/executions/search`",
    ),
    (
        r"POST /executions/\{namespace\}/\{id\}/validate",
        "not built: a run by hand checks its inputs, a `422` naming one",
    ),
    (
        r"(GET|PUT) /concurrency-limit/.*",
        "a flow's `concurrency.limit` is its YAML's; its places are not edited by hand",
    ),
    (r"\w+ /flows/(bulk|delete/.*|disable/.*|enable/.*)", FLOW_BULK),
    (r"POST /flows/\{namespace\}", FLOW_BULK),
    (r"\w+ /flows/(export/.*|import)", "no export or import: a flow's YAML is its source (`POST /flows`)"),
    (r"POST /flows/expressions", EXPRESSIONS),
    (r"\w+ /flows/(graph|\{namespace\}/\{id\}/graph)", GRAPH),
    (r"\w+ /(flows/\{namespace\}/\{id\}|namespaces/\{namespace\}|)/?dependencies", DEPENDENCIES),
    (r"DELETE /flows/\{namespace\}/\{id\}/revisions", "only a flow's latest revision is kept: none to delete"),
    (r"POST /flows/validate/(task|trigger)", "`POST /flows/validate` checks a whole flow"),
    (r"GET /flows/source", "not built: `GET /flows/search` finds flows by namespace and id"),
    (r"GET /flows/deprecated", "not built"),
    (r"POST /flows/policies/preview", OUTSIDE),
    (r"(GET|PATCH) /flows/\{namespace\}/\{id\}/(tasks/)?\{taskId\}", "a flow is read and revised whole, by its YAML"),
    (r"DELETE /logs/.*", "log lines go with their execution (`DELETE /executions/{executionId}`, `deleteLogs`)"),
    (r"GET /logs/\{executionId\}/follow", "not built: `GET /logs/{executionId}` answers the lines so far"),
    (r"GET /triggers/export/.*", CSV),
    (r"\w+ /namespaces/\{(id|namespace)\}/(inherited-)?secrets.*", SECRETS),
    (
        r"\w+ /namespaces/\{id\}/(inherited-)?(variables|plugindefaults.*)",
        "a flow declares its own variables and plugin defaults",
    ),
    (r"\w+ /tenants/\{id\}/(apps-catalog.*|logo|settings/.*)", OUTSIDE),
    (r"\w+ /(acls/.*|basicAuth.*|login|logout|setup)", IDENTITY),
    (r"GET /pebble/.*", 'the expressions taken are listed in README "Flows"'),
]


def route_reason(method: str, route: str) -> str | None:
    for pattern, reason in ROUTE_REASONS:
        if re.fullmatch(pattern, f"{method} {route}"):
            return reason
    return None
