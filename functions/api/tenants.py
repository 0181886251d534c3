"""Which tenant a request is for, read from its path as Kestra's clients write it: `/api/v1/{tenant}/flows/...`
names one; `/api/v1/flows/...` is the default tenant (KESTRA_TENANT, `main`).

A first segment is a tenant only when a route root follows it, and a route root is never a tenant: so
`/api/v1/flows/executions/x` could be tenant `flows` or main's namespace `executions`, and is refused rather than
guessed (`/api/v1/main/flows/executions/x` reaches the namespace). The web UI calls `/api/v1/...`: it shows main.
"""

import re

from backfill_core.ids import MAX_TENANT, TENANT_PATTERN
from backfill_core.settings import settings

# The first segment of every route under /api/v1 (tests/integration/test_tenants.py checks the document's paths).
ROUTE_ROOTS = ("flows", "executions", "triggers", "logs", "backfills", "swagger", "openapi.json")
_ROOT_NAME = "(?:" + "|".join(re.escape(root) for root in ROUTE_ROOTS) + ")"
_ROOT = _ROOT_NAME + "(?:/|$)"
# What Powertools strips before it matches a route: /api/v1, and the tenant segment when there is one.
API_PREFIX = re.compile(rf"^/api/v1(?:/(?!{_ROOT})(?P<tenant>[^/]+))?(?=/{_ROOT})")
_TWO_ROOTS = re.compile(rf"^/api/v1/(?P<first>{_ROOT_NAME})/{_ROOT}")
_TENANT = re.compile(TENANT_PATTERN)


def tenant_of(path: str) -> str:
    """The tenant the path names, else the default one."""
    found = API_PREFIX.match(path)
    return (found.group("tenant") if found else None) or settings().tenant


def refusal(path: str) -> str | None:
    """Why the path's tenant segment is refused (the message names it), or None."""
    ambiguous = _TWO_ROOTS.match(path)
    if ambiguous:
        first = ambiguous.group("first")
        return (
            f"tenant: '{first}' is the name of a route, not a tenant id; to reach a namespace or id named like a "
            f"route, give the tenant: /api/v1/{settings().tenant}/{path.removeprefix('/api/v1/')}"
        )
    found = API_PREFIX.match(path)
    named = found.group("tenant") if found else None
    if named is not None and (len(named) > MAX_TENANT or not _TENANT.match(named)):
        return (
            f"tenant: '{named[:MAX_TENANT]}' is not a tenant id: lowercase letters, digits, '_' and '-', starting "
            f"with a letter or digit, at most {MAX_TENANT} characters"
        )
    return None
