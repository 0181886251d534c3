"""Runtime settings, read from the environment each time so tests and the local stack can set them."""

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    flows_table: str
    triggers_table: str
    executions_table: str
    work_queue_url: str
    task_runner_function: str
    execution_files_bucket: str
    tenant: str
    default_concurrency: int
    max_concurrency: int
    max_attempts: int
    lease_seconds: int
    slot_resend_seconds: int
    task_timeout_seconds: int
    log_retention_days: int
    scheduler_interval_seconds: int
    api_token_secret: str
    work_queue_max_receives: int
    max_body_bytes: int
    max_labels: int


def settings() -> Settings:
    env = os.environ
    return Settings(
        flows_table=env.get("FLOWS_TABLE", "FlowsTable"),
        triggers_table=env.get("TRIGGERS_TABLE", "TriggersTable"),
        executions_table=env.get("EXECUTIONS_TABLE", "ExecutionsTable"),
        work_queue_url=env.get("WORK_QUEUE_URL", ""),
        # Where Commands tasks run: a function of their own, whose role reaches only the execution-files bucket.
        task_runner_function=env.get("TASK_RUNNER_FUNCTION", "TaskRunnerFunction"),
        execution_files_bucket=env.get("EXECUTION_FILES_BUCKET", "executionfilesbucket"),
        tenant=env.get("KESTRA_TENANT", "main"),
        default_concurrency=int(env.get("BACKFILL_DEFAULT_CONCURRENCY", "1")),
        max_concurrency=int(env.get("BACKFILL_MAX_CONCURRENCY", "50")),
        # An execution is tried this many times when its executor dies mid-run, then FAILED.
        max_attempts=int(env.get("EXECUTION_MAX_ATTEMPTS", "3")),
        # How long a running attempt owns its execution; must not exceed the queue's visibility
        # timeout, so that a redelivered message finds the dead attempt's lease expired.
        lease_seconds=int(env.get("EXECUTION_LEASE_SECONDS", "300")),
        # A slot in flight this long has lost its message (every message is received or dead by then);
        # the watchdog re-sends it.
        slot_resend_seconds=int(env.get("SLOT_RESEND_SECONDS", "900")),
        task_timeout_seconds=int(env.get("TASK_TIMEOUT_SECONDS", "240")),
        # Log lines expire (DynamoDB TTL) after this many days; executions are kept.
        log_retention_days=int(env.get("LOG_RETENTION_DAYS", "90")),
        # How often the scheduler ticks: a slot older than one interval at a tick was missed.
        scheduler_interval_seconds=int(env.get("SCHEDULER_INTERVAL_SECONDS", "60")),
        # The Secrets Manager secret (ARN or name) holding the token every API call must then carry; empty
        # leaves the local stack open on loopback and AWS to AWS_IAM alone.
        api_token_secret=env.get("API_TOKEN_SECRET", ""),
        # The work queue's maxReceiveCount: a message failing on this receive goes to the dead-letter queue next.
        work_queue_max_receives=int(env.get("WORK_QUEUE_MAX_RECEIVES", "5")),
        # The largest request body the API reads: what it stores must fit DynamoDB's 400 KB item, and a flow
        # item holds its YAML twice (source and parsed), so a body past this is refused (413) unread.
        max_body_bytes=int(env.get("API_MAX_BODY_BYTES", str(128 * 1024))),
        # Labels per backfill; each execution of the backfill carries them all.
        max_labels=int(env.get("BACKFILL_MAX_LABELS", "100")),
    )
