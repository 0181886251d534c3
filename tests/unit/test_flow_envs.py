"""`envs.*` is Kestra's prefix-filtered environment: ENV_ variables only, named in lower case without the prefix;
a prefix that would hand flows the function's credentials or the engine's settings fails the cold start."""

import pytest

from backfill_core.settings import SettingsError, flow_envs, load_settings

ENVIRON = {
    "ENV_WAREHOUSE": "analytics",
    "ENV_My_Region": "eu",
    "AWS_SECRET_ACCESS_KEY": "secret",
    "AWS_SESSION_TOKEN": "token",
    "FLOWS_TABLE": "FlowsTable",
    "API_TOKEN_SECRET": "arn:aws:secretsmanager:...",
    "MY_ENV_THING": "not prefixed",
}


def test_only_the_prefixed_variables_reach_flows_named_as_kestra_names_them():
    assert flow_envs(ENVIRON) == {"warehouse": "analytics", "my_region": "eu"}


def test_a_prefix_of_another_name_is_kestras_setting_changed(set_setting):
    set_setting("FLOW_ENV_PREFIX", "TEAM_")
    assert flow_envs({**ENVIRON, "TEAM_OWNER": "data"}) == {"owner": "data"}


@pytest.mark.parametrize("prefix", ["AWS_", "API_", "FLOWS_", "EXECUTION_", "LAMBDA_", "POWERTOOLS_", "", "env_"])
def test_a_prefix_that_would_expose_the_engine_fails_the_cold_start(monkeypatch, prefix):
    monkeypatch.setenv("FLOW_ENV_PREFIX", prefix)
    with pytest.raises(SettingsError) as refused:
        load_settings()
    assert "FLOW_ENV_PREFIX" in str(refused.value)
