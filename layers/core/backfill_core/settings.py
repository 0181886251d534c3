"""Runtime settings: one validated model, read from the environment once, at a function's cold start.

Each handler module calls `load_settings()` when it is imported, so an invalid value (EXECUTION_MAX_ATTEMPTS=abc,
a lease below zero) fails the cold start with a message naming the variable, never a request later. The domain
calls `settings()`, which answers the model read then (or reads it now, where no handler was imported: unit
tests, scripts). Tests that change a variable after the handlers were loaded call `load_settings()` again.

Defaults live in one place. A variable template.yaml sets for every function (its Globals) has no default here:
the template is its only source, and a missing one fails the cold start like an invalid one. The rest (a
function's own resources, the API's limits the template leaves alone) default here.
tests/unit/test_settings.py fails if the two drift (a default here for a variable the template sets, or a
required one the template does not set).
"""

import os
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field, NonNegativeInt, PositiveInt, ValidationError, model_validator

from backfill_core.ids import MAX_TENANT, TENANT_PATTERN


class SettingsError(ValueError):
    """The environment holds an invalid or missing setting; the message names the variable."""


class Settings(BaseModel):
    """Each field is read from the environment variable its alias names."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    # Set by template.yaml's Globals for every function: required.
    flows_table: str = Field(alias="FLOWS_TABLE", min_length=1)
    triggers_table: str = Field(alias="TRIGGERS_TABLE", min_length=1)
    executions_table: str = Field(alias="EXECUTIONS_TABLE", min_length=1)
    work_queue_url: str = Field(alias="WORK_QUEUE_URL", min_length=1)
    # The tenant of /api/v1/... (a path without one); /api/v1/{tenant}/... names any other.
    tenant: str = Field(alias="KESTRA_TENANT", min_length=1, max_length=MAX_TENANT, pattern=TENANT_PATTERN)
    # An execution is tried this many times when its executor dies mid-run, then FAILED.
    max_attempts: PositiveInt = Field(alias="EXECUTION_MAX_ATTEMPTS")
    # The work queue's maxReceiveCount: a message failing on this receive goes to the dead-letter queue next.
    work_queue_max_receives: PositiveInt = Field(alias="WORK_QUEUE_MAX_RECEIVES")
    # How long a running attempt owns its execution; must not exceed the queue's visibility timeout, so that a
    # redelivered message finds the dead attempt's lease expired (0: at once, for driven test runs).
    lease_seconds: NonNegativeInt = Field(alias="EXECUTION_LEASE_SECONDS")
    task_timeout_seconds: PositiveInt = Field(alias="TASK_TIMEOUT_SECONDS")
    # A slot in flight this long has lost its message (every message is received or dead by then); the
    # watchdog re-sends it (0: every slot in flight, for driven test runs).
    slot_resend_seconds: NonNegativeInt = Field(alias="SLOT_RESEND_SECONDS")
    # How often the scheduler ticks: a slot older than one interval at a tick was missed.
    scheduler_interval_seconds: PositiveInt = Field(alias="SCHEDULER_INTERVAL_SECONDS")
    # The functions' memory (template.yaml's Globals MemorySize): the dry run prices Lambda's GB-seconds by it.
    function_memory_mb: PositiveInt = Field(alias="FUNCTION_MEMORY_MB")

    # A function's own resources (template.yaml sets them where the function uses them); the defaults are
    # the names the local stack gives them.
    # Where Commands tasks run: a function of their own, whose role reaches only the execution-files bucket.
    task_runner_function: str = Field("TaskRunnerFunction", alias="TASK_RUNNER_FUNCTION")
    execution_files_bucket: str = Field("executionfilesbucket", alias="EXECUTION_FILES_BUCKET")
    # The Secrets Manager secret (ARN or name) holding the token every API call must then carry; empty leaves
    # the local stack open on loopback and AWS to AWS_IAM alone.
    api_token_secret: str = Field("", alias="API_TOKEN_SECRET")
    # The EventBridge bus a backfill's lifecycle events go to (backfills/events.py): created, paused, resumed,
    # succeeded, failed, cancelled.
    event_bus_name: str = Field("BackfillEventBus", alias="BACKFILL_EVENT_BUS", min_length=1)

    # Limits the template leaves to their defaults.
    default_concurrency: PositiveInt = Field(1, alias="BACKFILL_DEFAULT_CONCURRENCY")
    max_concurrency: PositiveInt = Field(50, alias="BACKFILL_MAX_CONCURRENCY")
    # Log lines expire (DynamoDB TTL) after this many days; executions are kept.
    log_retention_days: PositiveInt = Field(90, alias="LOG_RETENTION_DAYS")
    # The largest request body the API reads: what it stores must fit DynamoDB's 400 KB item, and a flow item
    # holds its YAML twice (source and parsed), so a body past this is refused (413) unread.
    max_body_bytes: PositiveInt = Field(128 * 1024, alias="API_MAX_BODY_BYTES")
    # Labels per backfill; each execution of the backfill carries them all.
    max_labels: NonNegativeInt = Field(100, alias="BACKFILL_MAX_LABELS")
    # Kestra's kestra.variables.env-vars-prefix: the executor's variables named so are a flow's `envs.*`
    # (lower-cased, less the prefix); no other variable of the function is. Kestra's default since 0.23.
    flow_env_prefix: str = Field("ENV_", alias="FLOW_ENV_PREFIX", pattern=r"^[A-Z][A-Z0-9]*_$")
    # Where a flow's secret('NAME') is read from: the Secrets Manager secret <prefix><tenant>/<namespace>/NAME.
    flow_secrets_prefix: str = Field("kestra-flows/", alias="FLOW_SECRETS_PREFIX", pattern=r"^[A-Za-z0-9_+=.@/-]+/$")
    # A slot QUEUED by its flow's concurrency limit looks for a free place again after this long (SQS allows
    # a delay of 900 s at most; 0 for driven test runs).
    concurrency_recheck_seconds: NonNegativeInt = Field(10, le=900, alias="CONCURRENCY_RECHECK_SECONDS")
    # An execution created before its message was sent (a run by hand, a replay, a restart, a Subflow's child
    # its parent does not wait for) that no executor has taken this long after it was due has lost its message:
    # the watchdog queues it again (0: at its due time, for driven test runs).
    execution_message_grace_seconds: NonNegativeInt = Field(300, alias="EXECUTION_MESSAGE_GRACE_SECONDS")
    # An executor reads the flow it runs at most this often per warm function: a revision stored by the API is run
    # by the executions created this long after (storage/flows_repository.py find_current; 0: read for each one).
    flow_cache_seconds: NonNegativeInt = Field(5, le=300, alias="FLOW_CACHE_SECONDS")

    @model_validator(mode="after")
    def _default_within_max(self) -> "Settings":
        if self.default_concurrency > self.max_concurrency:
            raise ValueError(
                f"BACKFILL_DEFAULT_CONCURRENCY ({self.default_concurrency}) exceeds "
                f"BACKFILL_MAX_CONCURRENCY ({self.max_concurrency})"
            )
        return self

    @model_validator(mode="after")
    def _env_prefix_exposes_no_setting(self) -> "Settings":
        """A prefix such as AWS_ or API_ would hand flows the function's credentials or the engine's settings."""
        engine = [field.alias for field in type(self).model_fields.values() if field.alias]
        engine += ["AWS_", "LAMBDA_", "_HANDLER", "_X_AMZN_TRACE_ID", "PATH", "POWERTOOLS_"]
        for name in engine:
            if name.startswith(self.flow_env_prefix) or self.flow_env_prefix.startswith(name):
                raise ValueError(f"FLOW_ENV_PREFIX ({self.flow_env_prefix}) would expose {name} to flows")
        return self

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> "Settings":
        """The settings the environment holds; SettingsError naming each variable that is missing or invalid."""
        names = {field.alias for field in cls.model_fields.values()}
        try:
            return cls.model_validate({name: value for name, value in environ.items() if name in names})
        except ValidationError as exc:
            problems = []
            for error in exc.errors():
                name = ".".join(str(part) for part in error["loc"])
                if error["type"] == "missing":
                    problems.append(f"{name} is not set")
                elif name:
                    problems.append(f"{name}={error['input']!r}: {error['msg']}")
                else:  # a check across variables names them in its message
                    problems.append(error["msg"].removeprefix("Value error, "))
            raise SettingsError("Invalid settings: " + "; ".join(problems)) from None


_loaded: Settings | None = None


def flow_envs(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """A flow's `envs`: the variables named with FLOW_ENV_PREFIX, as Kestra names them (lower case, no prefix)."""
    prefix = settings().flow_env_prefix
    return {name.removeprefix(prefix).lower(): value for name, value in environ.items() if name.startswith(prefix)}


def load_settings() -> Settings:
    """Read and validate the environment now, and keep the result: a handler's cold start."""
    global _loaded
    _loaded = Settings.from_environment(os.environ)
    return _loaded


def settings() -> Settings:
    """The settings read at cold start (read now if no handler was imported)."""
    return _loaded or load_settings()


def forget_settings() -> None:
    """The next `settings()` reads the environment again (tests, between one environment and the next)."""
    global _loaded
    _loaded = None
