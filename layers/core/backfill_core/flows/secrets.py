"""A flow's `secret('NAME')`: read from AWS Secrets Manager, scoped by tenant and namespace as Kestra scopes
secrets, and masked in the execution's logs as Kestra masks them.

A flow of namespace `company.team` reads the secret `<prefix><tenant>/company.team/NAME`, else the one its
parent namespace holds (`<prefix><tenant>/company/NAME`), as Kestra's namespaces inherit their parents'
secrets; never another tenant's or a sibling namespace's. The executor's role may read only names under the
prefix (template.yaml). A value the execution used is replaced in each of its log lines by as many `*`, the
first nine of which read `**masked*` (Kestra's RunContextLogger); task outputs are not masked, nor are they in
Kestra.
"""

import re
from contextvars import ContextVar
from dataclasses import dataclass, field

from backfill_core import aws_clients
from backfill_core.settings import settings

KEY = re.compile(r"^[A-Za-z0-9_.+=@-]{1,256}$")  # no `/`: a key never reaches outside its namespace
MAX_AGE_SECONDS = 60  # how long a read value serves the executor's later renders (Powertools' cache)


class SecretProblem(ValueError):
    """A secret that cannot be read; the message names the secret, never a value."""


@dataclass
class SecretScope:
    """The secrets one execution may read and the values it has read (to mask them)."""

    tenant: str
    namespace: str
    used: set[str] = field(default_factory=set)

    def names(self, key: str) -> list[str]:
        parts = self.namespace.split(".")
        prefix = settings().flow_secrets_prefix
        return [f"{prefix}{self.tenant}/{'.'.join(parts[:n])}/{key}" for n in range(len(parts), 0, -1)]

    def read(self, key: object) -> str:
        if not isinstance(key, str) or not KEY.match(key):
            raise SecretProblem(f"secret(): '{str(key)[:100]}' is not a secret name (letters, digits, _ . + = @ -)")
        # Here, not at the top: Powertools' parameters import boto3, which only a flow reading a secret needs.
        from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

        for name in self.names(key):
            try:
                value = aws_clients.secrets().get(name, max_age=MAX_AGE_SECONDS)
            except GetParameterError as exc:
                if "ResourceNotFoundException" in str(exc):
                    continue
                raise SecretProblem(f"Cannot read secret '{key}' of namespace '{self.namespace}'") from None
            if not isinstance(value, str):
                raise SecretProblem(f"secret '{key}' holds binary data, not text")
            if value:
                self.used.add(value)
            return value
        raise SecretProblem(f"Cannot find secret for key '{key}' in namespace '{self.namespace}'")

    def mask(self, text: str) -> str:
        for value in sorted(self.used, key=len, reverse=True):
            if value in text:
                text = text.replace(value, "*" * len(value)).replace("*" * 9, "**masked*", 1)
        return text


current_scope: ContextVar[SecretScope | None] = ContextVar("secret_scope", default=None)
