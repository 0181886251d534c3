"""Kestra (Pebble) expressions in task properties: `??`, strict unknown variables, printing, sandbox."""

import contextlib
import json

import pytest

from backfill_core.flows.pebble.syntax import translate
from backfill_core.flows.templating import TemplateRenderError, render, render_properties

SLOT = "2024-03-28T06:30:00Z"
STARTED = "2024-05-01T12:00:00.123Z"


def variables(**overrides):
    base = {
        "trigger": {"date": SLOT, "next": "2024-03-28T07:00:00Z", "previous": "2024-03-28T06:00:00Z"},
        "execution": {"id": "exec1", "startDate": STARTED},
        "flow": {"id": "scheduled_flow", "namespace": "company.team"},
        "inputs": {"name": "world", "count": 3, "flag": True, "off": False, "map": {"a": 1, "b": [1, 2]}},
        "labels": {"team": "data"},
    }
    base.update(overrides)
    return base


# --- the seed flow's expression ---------------------------------------------------------------------


def test_seed_expression_uses_trigger_date_when_there_is_one():
    assert render("processing data for {{trigger.date ?? execution.startDate}}", variables()) == (
        f"processing data for {SLOT}"
    )


def test_seed_expression_falls_back_to_execution_start_without_trigger_date():
    assert render("{{trigger.date ?? execution.startDate}}", variables(trigger={})) == STARTED


def test_seed_expression_falls_back_when_there_is_no_trigger_at_all():
    context = variables()
    del context["trigger"]

    assert render("{{trigger.date ?? execution.startDate}}", context) == STARTED


def test_seed_expression_falls_back_when_trigger_date_is_null():
    assert render("{{trigger.date ?? execution.startDate}}", variables(trigger={"date": None})) == STARTED


def test_fallback_spacing_does_not_matter():
    assert render("{{ trigger.date??execution.startDate }}", variables(trigger={})) == STARTED


# --- chains and literals ----------------------------------------------------------------------------


def test_chain_takes_the_first_defined_value():
    assert render("{{ inputs.nope ?? inputs.name ?? 'c' }}", variables()) == "world"


def test_chain_reaches_the_last_fallback():
    assert render("{{ inputs.nope ?? inputs.nada ?? 'c' }}", variables()) == "c"


def test_chain_stops_at_the_first_value_even_if_later_ones_are_unknown():
    assert render("{{ inputs.name ?? inputs.nope ?? nothing.at.all }}", variables()) == "world"


def test_a_false_value_is_kept_by_the_fallback():
    assert render("{{ inputs.off ?? 'fallback' }}", variables()) == "false"


def test_fallback_in_single_quoted_string_is_left_alone():
    assert render("{{ 'a ?? b' }}", variables()) == "a ?? b"


def test_fallback_in_double_quoted_string_is_left_alone():
    assert render('{{ "x??y" }}', variables()) == "x??y"


def test_fallback_outside_an_expression_is_plain_text():
    assert render("plain ?? text {{ flow.id }}", variables()) == "plain ?? text scheduled_flow"


def test_quoted_fallback_next_to_a_real_one():
    assert render("{{ inputs.nope ?? 'a ?? b' }}", variables()) == "a ?? b"


def test_translate_turns_fallbacks_into_coalesce_and_leaves_strings():
    assert "coalesce" in translate("{{ a ?? b ?? c }}")
    assert translate("{{ a ?? b ?? c }}").count("coalesce") == 2
    assert translate("x {{ 'a??b' }} y") == "x {{ 'a??b' }} y"
    assert translate("no expression ?? here") == "no expression ?? here"


def test_several_expressions_in_one_property():
    rendered = render("{{ flow.namespace }}.{{ flow.id }} at {{ trigger.date }}", variables())

    assert rendered == f"company.team.scheduled_flow at {SLOT}"


def test_text_without_expressions_is_returned_unchanged():
    text = "echo 'nothing to render here' {not jinja}"

    assert render(text, {}) == text


# --- unknown variables ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "path"),
    [
        ("{{ inputs.nope }}", "inputs.nope"),
        ("{{ nothing }}", "nothing"),
        ("{{ trigger.x.y }}", "trigger.x.y"),
        ("{{ inputs.map.zzz }}", "inputs.map.zzz"),
        ("{{ inputs['nope'] }}", "inputs.nope"),
        ("echo {{ inputs.nope | upper }}", "inputs.nope"),
    ],
)
def test_unknown_variable_fails_naming_its_full_dotted_path(template, path):
    with pytest.raises(TemplateRenderError) as caught:
        render(template, variables())

    assert f"'{path}'" in str(caught.value)


def test_unknown_variable_message_quotes_the_template():
    with pytest.raises(TemplateRenderError, match=r"inputs\.nope"):
        render("echo {{ inputs.nope }}", variables())


def test_syntax_error_is_a_template_render_error():
    with pytest.raises(TemplateRenderError, match="cannot render"):
        render("{{ inputs.name + }}", variables())


def test_unclosed_expression_is_a_template_render_error():
    with pytest.raises(TemplateRenderError):
        render("{{ inputs.name", variables())


# --- Pebble printing --------------------------------------------------------------------------------


def test_booleans_render_lowercase():
    assert render("{{ inputs.flag }} {{ inputs.off }}", variables()) == "true false"


def test_maps_render_as_json():
    rendered = render("{{ inputs.map }}", variables())

    assert json.loads(rendered) == {"a": 1, "b": [1, 2]}
    assert "'" not in rendered


def test_lists_render_as_json():
    assert json.loads(render("{{ inputs.map.b }}", variables())) == [1, 2]


def test_numbers_render_as_numbers():
    assert render("{{ inputs.count }}", variables()) == "3"


def test_labels_are_reachable():
    assert render("{{ labels.team }}", variables()) == "data"


def test_html_is_not_escaped():
    assert render("{{ inputs.name }}", variables(inputs={"name": "<a & b>"})) == "<a & b>"


# --- sandbox ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ inputs.__class__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ flow.id.__class__.__base__ }}",
    ],
)
def test_sandbox_does_not_leak_python_internals(template):
    try:
        rendered = render(template, variables())
    except Exception:  # noqa: BLE001 - refusing, in any way, is fine; leaking is not
        return
    for leak in ("class", "object", "module", "function", "builtins", "subclasses", "<"):
        assert leak not in rendered


@pytest.mark.parametrize(
    "template",
    ["{{ ''.__class__.__mro__ }}", "{{ flow.id.__class__.__base__ }}", "{{ inputs.nope.__x ?? 'd' }}"],
)
def test_any_refusal_is_a_template_render_error(template):
    with contextlib.suppress(TemplateRenderError):
        render(template, variables())


def test_sandbox_single_dunder_is_a_template_render_error():
    with pytest.raises(TemplateRenderError):
        render("{{ ''.__class__ }}", variables())


# --- render_properties ------------------------------------------------------------------------------


def test_render_properties_walks_lists_and_dicts_and_keeps_other_values():
    properties = {
        "commands": ["echo {{ flow.id }}", "echo {{ trigger.date ?? execution.startDate }}"],
        "env": {"WHO": "{{ inputs.name }}", "NESTED": {"deep": ["{{ execution.id }}"]}},
        "timeout": None,
        "retries": 3,
        "enabled": True,
    }

    rendered = render_properties(properties, variables())

    assert rendered == {
        "commands": ["echo scheduled_flow", f"echo {SLOT}"],
        "env": {"WHO": "world", "NESTED": {"deep": ["exec1"]}},
        "timeout": None,
        "retries": 3,
        "enabled": True,
    }


def test_render_properties_does_not_mutate_its_input():
    properties = {"commands": ["echo {{ flow.id }}"]}

    render_properties(properties, variables())

    assert properties == {"commands": ["echo {{ flow.id }}"]}


def test_render_properties_does_not_render_keys():
    assert render_properties({"{{ flow.id }}": "x"}, variables()) == {"{{ flow.id }}": "x"}


def test_render_properties_fails_on_an_unknown_variable_deep_inside():
    with pytest.raises(TemplateRenderError, match=r"inputs\.nope"):
        render_properties({"env": {"A": ["ok", "{{ inputs.nope }}"]}}, variables())


@pytest.mark.parametrize(
    "template",
    ["{{ 'x' * 10000000000 }}", "{{ 10000000000 * 'x' }}", "{{ [1] * 10000000000 }}", "{{ 7 ** 100000000 }}"],
)
def test_a_template_that_would_build_a_huge_value_fails_before_building_it(template):
    with pytest.raises(TemplateRenderError, match="too large"):
        render(template, {})


def test_a_property_rendering_past_the_size_limit_fails_naming_the_limit():
    with pytest.raises(TemplateRenderError, match="renders to 1,100,000 characters"):
        render("{% for i in range(11) %}{{ 'x' * 100000 }}{% endfor %}", {})


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'x'.ljust(1000000000000) }}",
        "{{ 'x'.center(2000000) }}",
        "{{ 'x'.zfill(2000000) }}",
        "{{ 'x' | center(2000000) }}",
        "{{ 'x' | indent(2000000) }}",
        "{{ '%02000000d' | format(1) }}",
        "{{ '%02000000d' % 1 }}",
        "{{ '{:>2000000}'.format(1) }}",
    ],
)
def test_padding_and_formatting_that_would_build_a_huge_value_fail_first(template):
    with pytest.raises(TemplateRenderError):
        render(template, {})


def test_an_expression_that_calls_itself_fails_its_property_not_the_process():
    with pytest.raises(TemplateRenderError, match="RecursionError"):
        render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", {})


def test_ordinary_filters_and_arithmetic_still_render():
    rendered = render("{{ 'ab' | center(6) }}|{{ 7 % 3 }}|{{ 'x' * 3 }}|{{ 'a b' | truncate(9) }}", {})
    assert rendered == "  ab  |1|xxx|a b"
    assert (
        render("{{ '1700000000' | center(12) }}|{{ 'a'.replace('a', '17000000001') }}", {})
        == " 1700000000 |17000000001"
    )
