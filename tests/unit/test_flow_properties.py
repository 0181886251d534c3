"""Nothing accepted and then ignored: every property Kestra documents for each type we support is either
implemented (a flow using it registers) or refused at registration with its path; an unknown one too."""

import pytest

from backfill_core.errors import Invalid
from backfill_core.flows import properties
from backfill_core.flows.model import parse_flow
from backfill_core.flows.task_spec import FOR_EACH, IF, PARALLEL, SEQUENTIAL, SWITCH, WORKING_DIRECTORY
from backfill_core.flows.tasks.aws_types import LAMBDA_INVOKE, SNS_PUBLISH, SQS_PUBLISH
from backfill_core.flows.tasks.control import FAIL, SLEEP
from backfill_core.flows.tasks.core import OUTPUT_VALUES, RETURN
from backfill_core.flows.tasks.http_types import HTTP_DOWNLOAD_TYPES, HTTP_REQUEST
from backfill_core.flows.tasks.s3_types import S3_COPY, S3_DELETE, S3_DOWNLOAD, S3_LIST, S3_TASK_TYPES, S3_UPLOAD
from backfill_core.flows.tasks.subflow import FLOW_LEGACY, SUBFLOW, SUBFLOW_LEGACY
from backfill_core.flows.tasks.task_types import COMMANDS, LOG, PYTHON_COMMANDS, PYTHON_SCRIPT, SHELL_SCRIPT

# Kestra's AWS connection (plugin-aws AbstractConnection), shared by every AWS task.
AWS_CONNECTION = [
    "region", "accessKeyId", "secretKeyId", "sessionToken", "stsRoleArn", "stsRoleExternalId", "stsRoleSessionName",
    "stsRoleSessionDuration", "stsEndpointOverride", "endpointOverride", "compatibilityMode", "forcePathStyle",
]  # fmt: skip

# What Kestra documents, read from its plugin pages (kestra.io/plugins/...) and its flow reference
# (kestra.io/docs/workflow-components/flow); the tables in flows/properties.py must decide each one.
DOCUMENTED = {
    "flow": [
        "id", "namespace", "description", "labels", "inputs", "variables", "tasks", "errors", "finally",
        "afterExecution", "pluginDefaults", "taskDefaults", "disabled", "revision", "concurrency", "outputs",
        "retry", "sla", "triggers", "checks", "workerGroup", "listeners",
    ],
    "task": [
        "id", "type", "description", "disabled", "retry", "timeout", "allowFailure", "allowWarning", "logLevel",
        "logToFile", "runIf", "workerGroup", "taskCache", "version",
    ],
    COMMANDS: [
        "commands", "beforeCommands", "containerImage", "docker", "env", "failFast", "inputFiles", "interpreter",
        "namespaceFiles", "outputFiles", "targetOS", "taskRunner", "warningOnStdErr", "runner", "outputDirectory",
    ],
    SHELL_SCRIPT: [
        "script", "beforeCommands", "containerImage", "docker", "env", "failFast", "inputFiles", "interpreter",
        "namespaceFiles", "outputFiles", "targetOS", "taskRunner", "warningOnStdErr", "runner", "outputDirectory",
    ],
    PYTHON_COMMANDS: [
        "commands", "beforeCommands", "containerImage", "docker", "env", "failFast", "inputFiles", "interpreter",
        "namespaceFiles", "outputFiles", "targetOS", "taskRunner", "warningOnStdErr", "runner", "dependencies",
        "pythonVersion", "packageManager", "dependencyCacheEnabled",
    ],
    PYTHON_SCRIPT: [
        "script", "beforeCommands", "containerImage", "docker", "env", "failFast", "inputFiles", "interpreter",
        "namespaceFiles", "outputFiles", "targetOS", "taskRunner", "warningOnStdErr", "runner", "dependencies",
        "pythonVersion", "packageManager", "dependencyCacheEnabled",
    ],
    LOG: ["message", "level"],
    RETURN: ["format"],
    OUTPUT_VALUES: ["values"],
    SLEEP: ["duration"],
    FAIL: ["condition", "errorMessage"],
    SEQUENTIAL: ["tasks", "errors"],
    PARALLEL: ["tasks", "errors", "concurrent"],
    IF: ["condition", "then", "else", "errors"],
    SWITCH: ["value", "cases", "defaults", "errors"],
    FOR_EACH: ["values", "tasks", "errors", "concurrencyLimit"],
    HTTP_REQUEST: [
        "uri", "method", "body", "formData", "contentType", "headers", "options", "allowFailed", "sslOptions",
        "encryptBody",
    ],
    # kestra.io/plugins/core/http/io.kestra.plugin.core.http.Download (its plugin-fs alias too); allowFailed and
    # sslOptions are the names of its earlier versions, as Request's
    **{
        kind: [
            "uri", "method", "body", "formData", "contentType", "headers", "options", "allowFailed", "sslOptions",
            "failOnEmptyResponse", "saveAs",
        ]
        for kind in HTTP_DOWNLOAD_TYPES
    },
    LAMBDA_INVOKE: ["functionArn", "functionPayload", *AWS_CONNECTION],
    SQS_PUBLISH: ["queueUrl", "from", "maxConcurrency", "connectionAcquisitionTimeout", *AWS_CONNECTION],
    SNS_PUBLISH: ["topicArn", "from", *AWS_CONNECTION],
    **{
        kind: [
            "namespace", "flowId", "inputs", "labels", "wait", "transmitFailed", "inheritLabels", "revision",
            "scheduleDate", "outputs", "restartBehavior",
        ]
        for kind in (SUBFLOW, SUBFLOW_LEGACY, FLOW_LEGACY)
    },
    WORKING_DIRECTORY: ["tasks", "errors", "cache", "namespaceFiles", "inputFiles", "outputFiles"],
    # kestra.io/plugins/plugin-aws/s3: each type's own properties, then the AWS connection's (AWS_CONNECTION)
    S3_UPLOAD: ["from", "key", "metadata", "cacheControl", "contentType", "contentEncoding", "contentDisposition",
        "contentLanguage", "contentLength", "expires", "acl", "storageClass", "serverSideEncryption",
        "bucketKeyEnabled", "checksumAlgorithm", "checksum", "expectedBucketOwner", "objectLockMode",
        "objectLockLegalHoldStatus", "objectLockRetainUntilDate", "tagging", "concurrentUploads", "bucket",
        "requestPayer", *AWS_CONNECTION],
    S3_DOWNLOAD: ["key", "versionId", "compatibilityMode", "prefix", "delimiter", "marker", "maxKeys", "regexp",
        "maxFiles", "expectedBucketOwner", "validateChecksum", "bucket", "requestPayer", *AWS_CONNECTION],
    S3_LIST: ["prefix", "delimiter", "marker", "encodingType", "maxKeys", "expectedBucketOwner", "regexp", "filter",
        "maxFiles", "bucket", "requestPayer", *AWS_CONNECTION],
    S3_COPY: ["from", "to", "delete", *AWS_CONNECTION],
    S3_DELETE: ["key", "bypassGovernanceRetention", "mfa", "requestPayer", "bucket", *AWS_CONNECTION],
    "trigger": ["id", "type", "description", "disabled", "stopAfter", "conditions", "logLevel", "workerGroup"],
    "schedule": [
        "cron", "timezone", "withSeconds", "inputs", "backfill", "lateMaximumDelay", "recoverMissedSchedules",
        "scheduleConditions", "interval",
    ],
    "input": [
        "id", "type", "description", "displayName", "defaults", "required", "values", "dependsOn", "validator",
        "min", "max", "itemType", "allowCustomValue", "expression", "prefill", "name",
    ],
}  # fmt: skip
TABLES = {
    "flow": properties.FLOW,
    "task": properties.TASK,
    COMMANDS: properties.TASK_TYPES[COMMANDS],
    SHELL_SCRIPT: properties.TASK_TYPES[SHELL_SCRIPT],
    PYTHON_COMMANDS: properties.TASK_TYPES[PYTHON_COMMANDS],
    PYTHON_SCRIPT: properties.TASK_TYPES[PYTHON_SCRIPT],
    LOG: properties.TASK_TYPES[LOG],
    RETURN: properties.TASK_TYPES[RETURN],
    OUTPUT_VALUES: properties.TASK_TYPES[OUTPUT_VALUES],
    **{kind: properties.TASK_TYPES[kind] for kind in (SLEEP, FAIL, SEQUENTIAL, PARALLEL, IF, SWITCH, FOR_EACH)},
    **{kind: properties.TASK_TYPES[kind] for kind in (HTTP_REQUEST, LAMBDA_INVOKE, SQS_PUBLISH, SNS_PUBLISH)},
    **{kind: properties.TASK_TYPES[kind] for kind in (SUBFLOW, SUBFLOW_LEGACY, FLOW_LEGACY)},
    **{kind: properties.TASK_TYPES[kind] for kind in S3_TASK_TYPES},
    **{kind: properties.TASK_TYPES[kind] for kind in HTTP_DOWNLOAD_TYPES},
    WORKING_DIRECTORY: properties.TASK_TYPES[WORKING_DIRECTORY],
    "trigger": properties.TRIGGER,
    "schedule": properties.SCHEDULE,
    "input": properties.INPUT,
}
# A valid value for each implemented property, to show a flow using it registers.
VALID = {
    "description": "what it does",
    "labels": {"team": "data"},
    "disabled": False,
    "revision": 3,
    "timeout": "PT1M",
    "env": {"A": "1"},
    "runner": "PROCESS",
    "taskRunner": {"type": properties.PROCESS_RUNNER},
    "level": "WARN",
    "stopAfter": ["FAILED"],
    "timezone": "Europe/Paris",
    "withSeconds": False,
    "inputs": {},
    "lateMaximumDelay": "PT1H",
    "conditions": [{"type": "io.kestra.plugin.core.condition.Weekend"}],
    "recoverMissedSchedules": "NONE",
    "displayName": "Region",
    "required": False,
    "defaults": "eu",
    "values": ["eu", "us"],
}
VALID.update(
    retry={"type": "constant", "maxAttempts": 2, "interval": "PT1S"},
    allowFailure=True,
    allowWarning=True,
    variables={"bucket": "raw"},
    format="{{ trigger.date }}",
    beforeCommands=["echo ready"],
    interpreter=["/bin/sh", "-c"],
    warningOnStdErr=False,
    failFast=False,
    inputFiles={"data/day.csv": "{{ trigger.date }}"},
)
VALID_AT = {
    ("flow", "inputs"): [{"id": "region", "type": "STRING", "required": False}],
    ("flow", "errors"): [{"id": "alert", "type": LOG, "message": "failed"}],
    ("flow", "finally"): [{"id": "done", "type": LOG, "message": "done"}],
    ("flow", "outputs"): [{"id": "day", "type": "STRING", "value": "{{ trigger.date }}"}],
    (OUTPUT_VALUES, "values"): {"rows": 3},
    (SLEEP, "duration"): "PT0.01S",
    (FAIL, "condition"): "{{ 1 > 2 }}",
    (FAIL, "errorMessage"): "no data",
    ("flow", "concurrency"): {"limit": 2, "behavior": "CANCEL"},
    (PARALLEL, "concurrent"): 2,
    (FOR_EACH, "concurrencyLimit"): 0,
    (FOR_EACH, "values"): '["a", "b"]',
    (IF, "else"): [{"id": "e", "type": LOG, "message": "else"}],
    (SWITCH, "cases"): {"a": [{"id": "e", "type": LOG, "message": "a"}]},
    (SWITCH, "defaults"): [{"id": "e", "type": LOG, "message": "other"}],
    **{(kind, "errors"): [{"id": "e", "type": LOG, "message": "failed"}] for kind in (SEQUENTIAL, PARALLEL, IF)},
    (HTTP_REQUEST, "method"): "POST",
    (HTTP_REQUEST, "body"): '{"day": "{{ trigger.date }}"}',
    (HTTP_REQUEST, "formData"): {"day": "{{ trigger.date }}"},
    (HTTP_REQUEST, "contentType"): "text/plain",
    (HTTP_REQUEST, "headers"): {"X-Day": "{{ trigger.date }}"},
    (HTTP_REQUEST, "options"): {"followRedirects": False, "timeout": {"connectTimeout": "PT5S"}},
    (HTTP_REQUEST, "allowFailed"): True,
    (HTTP_REQUEST, "encryptBody"): False,
    (HTTP_REQUEST, "sslOptions"): {"insecureTrustAllCertificates": True},
    **{(kind, "method"): "POST" for kind in HTTP_DOWNLOAD_TYPES},
    **{(kind, "body"): '{"day": "{{ trigger.date }}"}' for kind in HTTP_DOWNLOAD_TYPES},
    **{(kind, "formData"): {"day": "{{ trigger.date }}"} for kind in HTTP_DOWNLOAD_TYPES},
    **{(kind, "contentType"): "text/plain" for kind in HTTP_DOWNLOAD_TYPES},
    **{(kind, "headers"): {"X-Day": "{{ trigger.date }}"} for kind in HTTP_DOWNLOAD_TYPES},
    **{(kind, "options"): {"allowedResponseCodes": [200, 204]} for kind in HTTP_DOWNLOAD_TYPES},
    **{(kind, "allowFailed"): True for kind in HTTP_DOWNLOAD_TYPES},
    **{(kind, "sslOptions"): {"insecureTrustAllCertificates": True} for kind in HTTP_DOWNLOAD_TYPES},
    **{(kind, "failOnEmptyResponse"): False for kind in HTTP_DOWNLOAD_TYPES},
    **{(kind, "saveAs"): "{{ trigger.date | date('yyyy-MM-dd') }}.csv" for kind in HTTP_DOWNLOAD_TYPES},
    (LAMBDA_INVOKE, "functionPayload"): {"day": "{{ trigger.date }}"},
    **{(kind, "region"): "eu-west-1" for kind in (LAMBDA_INVOKE, SQS_PUBLISH, SNS_PUBLISH)},
    (SQS_PUBLISH, "from"): [{"data": "a", "delaySeconds": 5}, {"data": {"n": 1}}],
    (SNS_PUBLISH, "from"): {"data": "a", "subject": "s"},
    **{(kind, "wait"): False for kind in (SUBFLOW, SUBFLOW_LEGACY, FLOW_LEGACY)},
    **{(kind, "transmitFailed"): False for kind in (SUBFLOW, SUBFLOW_LEGACY, FLOW_LEGACY)},
    **{(kind, "inheritLabels"): True for kind in (SUBFLOW, SUBFLOW_LEGACY, FLOW_LEGACY)},
    **{(kind, "inputs"): {"day": "{{ trigger.date }}"} for kind in (SUBFLOW, SUBFLOW_LEGACY, FLOW_LEGACY)},
    (COMMANDS, "outputFiles"): ["*.csv", "out/**"],
    (S3_UPLOAD, "metadata"): {"source": "kestra"},
    (S3_UPLOAD, "tagging"): {"team": "data"},
    (S3_UPLOAD, "expires"): "2030-01-01T00:00:00Z",
    (S3_UPLOAD, "contentType"): "text/csv",
    (S3_UPLOAD, "concurrentUploads"): 4,
    (S3_UPLOAD, "region"): "eu-west-1",
    (S3_DOWNLOAD, "prefix"): "raw/",
    (S3_DOWNLOAD, "maxFiles"): 10,
    (S3_DOWNLOAD, "validateChecksum"): True,
    (S3_LIST, "filter"): "FILES",
    (S3_LIST, "regexp"): ".*\\.csv",
    (S3_COPY, "delete"): True,
    (S3_DELETE, "bypassGovernanceRetention"): False,
}
CHILD = [{"id": "c", "type": LOG, "message": "hi"}]
BASES = {
    LOG: {"message": "hi"},
    SHELL_SCRIPT: {"script": "print(1)"},
    PYTHON_SCRIPT: {"script": "print(1)"},
    PYTHON_COMMANDS: {"commands": ["true"]},
    SLEEP: {"duration": "PT0.01S"},
    SEQUENTIAL: {"tasks": CHILD},
    PARALLEL: {"tasks": CHILD},
    IF: {"condition": "{{ true }}", "then": CHILD},
    SWITCH: {"value": "a", "defaults": CHILD},
    FOR_EACH: {"values": [1], "tasks": CHILD},
    HTTP_REQUEST: {"uri": "https://example.com/api"},
    **{kind: {"uri": "https://example.com/orders.csv"} for kind in HTTP_DOWNLOAD_TYPES},
    LAMBDA_INVOKE: {"functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:f"},
    SQS_PUBLISH: {"queueUrl": "https://sqs.eu-west-1.amazonaws.com/123456789012/q", "from": {"data": "a"}},
    SNS_PUBLISH: {"topicArn": "arn:aws:sns:eu-west-1:123456789012:t", "from": {"data": "a"}},
    **{kind: {"namespace": "tests", "flowId": "child"} for kind in (SUBFLOW, SUBFLOW_LEGACY, FLOW_LEGACY)},
    WORKING_DIRECTORY: {"tasks": CHILD},
    S3_UPLOAD: {"bucket": "b", "key": "k", "from": "{{ outputs.w.outputFiles['a.csv'] }}"},
    S3_DOWNLOAD: {"bucket": "b", "key": "k"},
    S3_LIST: {"bucket": "b"},
    S3_COPY: {"from": {"bucket": "b", "key": "k"}, "to": {"bucket": "b", "key": "k2"}},
    S3_DELETE: {"bucket": "b", "key": "k"},
}
REFUSED_VALUE: dict = {}


def flow_with(where: str, name: str, value) -> tuple[str, str]:
    """A flow YAML holding `name: value` at `where`, and the path a refusal names."""
    import yaml

    document = {
        "id": "f",
        "namespace": "tests",
        "tasks": [{"id": "t", "type": COMMANDS, "commands": ["true"]}],
        "inputs": [{"id": "region", "type": "STRING", "defaults": "eu", "required": False}],
        "triggers": [{"id": "s", "type": properties.SCHEDULE_TYPES[0], "cron": "0 * * * *"}],
    }
    if where == "flow":
        document[name] = value
        path = name
    elif where in ("task", COMMANDS):
        document["tasks"][0][name] = value
        path = f"tasks[0].{name}"
    elif where in properties.TASK_TYPES:
        document["tasks"] = [{"id": "t", "type": where, **BASES.get(where, {}), name: value}]
        path = f"tasks[0].{name}"
    elif where in ("trigger", "schedule"):
        document["triggers"][0][name] = value
        path = f"triggers[0].{name}"
    else:
        if name == "values":
            document["inputs"][0]["type"] = "SELECT"
        document["inputs"][0][name] = value
        path = f"inputs[0].{name}"
    return yaml.safe_dump(document, sort_keys=False), path


def test_every_documented_property_is_decided_by_the_tables():
    undecided = [(where, name) for where, names in DOCUMENTED.items() for name in names if name not in TABLES[where]]
    assert undecided == []


CASES = [(where, name) for where, names in DOCUMENTED.items() for name in names]


@pytest.mark.parametrize(("where", "name"), CASES, ids=[f"{w}.{n}" for w, n in CASES])
def test_a_documented_property_is_implemented_or_refused_with_its_path(where, name):
    reason = TABLES[where][name]
    value = VALID_AT.get((where, name), VALID.get(name, REFUSED_VALUE.get(name, "x")))
    if reason is None and (where, name) not in VALID_AT and name not in VALID:
        return  # the structure itself (id, type, tasks, commands...): every other test registers flows with it
    source, path = flow_with(where, name, value)
    if reason is None:
        parse_flow(source)
    else:
        with pytest.raises(Invalid) as refused:
            parse_flow(source)
        assert f"{path}: {reason}" in refused.value.message


@pytest.mark.parametrize("where", ["flow", "task", "trigger", "input"])
def test_a_property_kestra_does_not_know_is_refused_with_its_path(where):
    source, path = flow_with(where, "colour", "blue")
    with pytest.raises(Invalid) as refused:
        parse_flow(source)
    assert f"{path}: not a property of" in refused.value.message


def test_every_refusal_of_a_flow_is_named_at_once():
    source, _ = flow_with("flow", "sla", [{"id": "late", "type": "MAX_DURATION", "duration": "PT1H"}])
    source += "checks: []\n"
    with pytest.raises(Invalid) as refused:
        parse_flow(source)
    assert "sla: not supported yet" in refused.value.message
    assert "checks: not supported yet" in refused.value.message


def test_a_webhook_trigger_is_refused_naming_its_type():
    source, _ = flow_with("flow", "description", "d")
    source = source.replace(properties.SCHEDULE_TYPES[0], "io.kestra.plugin.core.trigger.Webhook")
    with pytest.raises(Invalid) as refused:
        parse_flow(source)
    assert "triggers[0].type: trigger type 'io.kestra.plugin.core.trigger.Webhook' is not supported" in (
        refused.value.message
    )


def test_an_expression_that_could_never_render_is_refused_with_its_path_unless_its_task_is_disabled():
    source, _ = flow_with("task", "description", "d")
    broken = source.replace("- 'true'", "- echo {{ trigger.date | no_such_filter }}")
    assert broken != source
    with pytest.raises(Invalid) as refused:
        parse_flow(broken)
    assert "tasks[0].commands[0]: cannot render" in refused.value.message
    assert "no_such_filter" in refused.value.message
    disabled, _ = flow_with("task", "disabled", True)
    parse_flow(disabled.replace("- 'true'", "- echo {{ trigger.date | no_such_filter }}"))


@pytest.mark.parametrize(
    ("name", "value", "refusal"),
    [
        ("saveAs", "../other.csv", ".saveAs: a file name is required"),
        ("saveAs", "day/orders.csv", ".saveAs: a file name is required"),
        ("failOnEmptyResponse", "sometimes", ".failOnEmptyResponse: true or false"),
        ("options", {"proxy": {"address": "10.0.0.1"}}, ".options.proxy: not supported"),
        ("encryptBody", True, ".encryptBody: not a property of"),  # Request's, not Download's
    ],
)
def test_a_download_refuses_a_save_as_outside_its_own_file_a_proxy_and_requests_own_properties(name, value, refusal):
    for kind in HTTP_DOWNLOAD_TYPES:
        source, _ = flow_with(kind, name, value)
        with pytest.raises(Invalid) as refused:
            parse_flow(source)
        assert refusal in refused.value.message
