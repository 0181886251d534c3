"""Kestra's functions (render, renderOnce, fromJson, yaml, range, max/min), what is refused, what stays bounded and
sandboxed, and template_problem() for registration."""

import re

import pytest

from backfill_core.flows.pebble import jq as jq_module
from backfill_core.flows.templating import TemplateRenderError, render, template_problem

VARIABLES = {
    "vars": {
        "greeting": "hello {{ vars.name }}",
        "name": "{{ inputs.who }}",
        "self": "again {{ vars.self }}",
        "loop": "{{ render(vars.loop) }}",
    },
    "inputs": {"who": "world", "json": '{"a": [1, {"b": "c"}]}'},
}


def rendered(template: str) -> str:
    return render(template, VARIABLES)


# https://github.com/kestra-io/kestra/blob/develop/core/src/test/java/io/kestra/core/runners/pebble/functions/RenderFunctionTest.java
def test_render_renders_a_value_until_it_no_longer_changes():
    assert rendered("{{ render(vars.greeting) }}") == "hello world"


def test_render_once_renders_one_level():
    assert rendered("{{ renderOnce(vars.greeting) }}") == "hello {{ inputs.who }}"
    assert rendered("{{ render(vars.greeting, recursive=false) }}") == "hello {{ inputs.who }}"


def test_render_of_a_value_that_grows_itself_stops_with_a_clear_message():
    with pytest.raises(TemplateRenderError, match="render\\(\\) still changes after 10 passes"):
        rendered("{{ render(vars.self) }}")


def test_render_that_calls_itself_stops_at_depth_ten():
    with pytest.raises(TemplateRenderError) as caught:
        rendered("{{ render(vars.loop) }}")
    assert "nested more than 10 deep" in str(caught.value)
    assert str(caught.value).count("cannot render") == 1


def test_render_of_a_value_without_expression_is_that_value():
    assert rendered("{{ render('plain') }}|{{ render(3) }}") == "plain|3"


# https://kestra.io/docs/expressions/filters/json (fromJson, and json() its older name)
def test_from_json_reads_json_text():
    assert rendered("{{ fromJson(inputs.json).a[1].b }}|{{ json(inputs.json).a[0] }}") == "c|1"


def test_yaml_function_reads_yaml_but_not_aliases():
    assert rendered("{{ yaml('a: [1, 2]').a[1] }}") == "2"
    with pytest.raises(TemplateRenderError, match="aliases"):
        rendered("{{ yaml('a: &x [1]\nb: *x') }}")


# https://pebbletemplates.io/wiki/function/range/ (the end is included)
def test_range_includes_its_end_and_takes_a_step():
    assert rendered("{{ range(0, 3) }}|{{ range(0, 10, 5) }}|{{ range(3, 1, -1) }}") == "[0,1,2,3]|[0,5,10]|[3,2,1]"


@pytest.mark.parametrize("template", ["{{ range(0, 10**9) }}", "{{ range(0, 200000) }}", "{{ 0..200000 }}"])
def test_a_huge_range_is_refused_not_built(template):
    with pytest.raises(TemplateRenderError, match="range"):
        rendered(template)


def test_max_and_min():
    assert rendered("{{ max(1, 5, 3) }}|{{ min(4, 2) }}") == "5|2"


@pytest.mark.parametrize("name", ["kv", "fileURI", "encrypt", "errorLogs"])
def test_functions_we_do_not_run_fail_saying_so(name):
    with pytest.raises(TemplateRenderError, match=f"{name}\\(\\) is not supported yet"):
        rendered(f"{{{{ {name}('KEY') }}}}")


def test_secret_outside_a_running_flow_reads_nothing():
    """secret() reads the running execution's namespace (flows/secrets.py); a template rendered elsewhere has
    none, so it fails rather than guess one."""
    with pytest.raises(TemplateRenderError, match="secret\\(\\) is only read while a flow runs"):
        rendered("{{ secret('KEY') }}")
    with pytest.raises(TemplateRenderError, match="expects an argument 'key'"):
        rendered("{{ secret() }}")


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("data.csv", "takes a kestra:// URI"),
        ("kestra:///tests/f/executions/other/tasks/t/r/a.txt", "not a file of the current execution"),
        ("kestra:///other/ns/f/executions/e1/tasks/t/r/a.txt", "not a file of the current execution"),
        ("kestra:///tests/f/executions/e1/tasks/t/r/../../x", "'..' segments"),
    ],
)
def test_read_takes_only_a_file_of_the_current_execution(path, problem):
    variables = {"flow": {"namespace": "tests", "id": "f"}, "execution": {"id": "e1"}, "p": path}
    with pytest.raises(TemplateRenderError, match=problem):
        render("{{ read(p) }}", variables)


def test_an_unknown_function_is_named():
    with pytest.raises(TemplateRenderError, match="unknown function 'nope'"):
        rendered("{{ nope(1) }}")


# --- safety -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "{{ render.__globals__ }}",
        "{{ now.__module__ }}",
        "{{ fromJson.__code__ }}",
        "{{ render(\"{{ ''.__class__.__mro__ }}\") }}",
        "{{ range.__self__ }}",
        "{{ ('x' | date).__class__ }}",
    ],
)
def test_functions_do_not_open_python_internals(template):
    with pytest.raises(TemplateRenderError):
        rendered(template)


@pytest.mark.parametrize(
    "expression", ["$ENV", "env.HOME", "input", "[inputs]", 'import "a" as a; .', 'include "x"; .', "$__loc__"]
)
def test_jq_cannot_read_the_environment_files_or_other_inputs(expression):
    with pytest.raises(TemplateRenderError, match="not allowed in a flow"):
        render("{{ {} | jq(expr) }}", {"expr": expression})


def test_jq_runs_without_the_process_environment_even_past_the_word_check(monkeypatch):
    monkeypatch.setenv("SOME_CREDENTIAL", "s3cr3t")
    monkeypatch.setattr(jq_module, "_FORBIDDEN", re.compile(r"(?!)"))  # as if a word slipped past the check
    assert render("{{ {} | jq('$ENV.SOME_CREDENTIAL') }}", {}) == "[null]"


@pytest.mark.parametrize("expression", ["def f: f; f", '"x" * 100000000'])
def test_a_jq_program_that_loops_or_grows_is_stopped(expression):
    with pytest.raises(TemplateRenderError, match="jq"):
        render("{{ {} | jq(expr) }}", {"expr": expression})


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'x\ny' | indent(2000000) }}",
        "{{ 'x' | nindent(2000000) }}",
        "{{ [1] | chunk(2000000) }}",
        "{{ 'a\n' * 600000 | indent(3) }}",
    ],
)
def test_filters_that_would_build_a_huge_value_fail_first(template):
    with pytest.raises(TemplateRenderError):
        rendered(template)


def test_caller_values_are_data_not_templates():
    assert render("{{ inputs.who | upper }}", {"inputs": {"who": "{{ 7*7 }}"}}) == "{{ 7*7 }}"


# --- template_problem: refusing at registration what could never render --------------------------------


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{{ trigger.date | date2('yyyy') }}", "No filter named 'date2'"),
        ("{{ x is nonsense }}", "No test named 'nonsense'"),
        ("{{ nowww() }}", "unknown function 'nowww'"),
        ("{{ kv('DB_PASSWORD') }}", "kv() is not supported yet"),
        ("{{ trigger.date | date('yyyy') ", "never closed"),
        ("{{ 1 + }}", "ends too early"),
        ("{% if x %}no end", "Unexpected end of template"),
    ],
)
def test_template_problem_names_the_template_and_what_is_wrong(template, problem):
    found = template_problem(template)
    assert found is not None
    assert template in found
    assert problem in found


@pytest.mark.parametrize(
    "template",
    [
        "plain text",
        "{{ trigger.date | date('yyyy-MM-dd') }}",
        "{{ inputs.unknown_until_run_time }}",
        "{% macro m(a) %}{{ a }}{% endmacro %}{{ m(1) }}",
        "{{ render(vars.x) }} {{ now() }} {{ range(1, 2) }}",
    ],
)
def test_template_problem_accepts_what_may_render(template):
    assert template_problem(template) is None


def test_uuid_and_id_give_a_new_identifier_each_call():
    uuids = rendered("{{ uuid() }} {{ uuid() }}").split()
    assert len(set(uuids)) == 2 and all(re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", u) for u in uuids)
    ids = rendered("{{ id() }} {{ id() }}").split()
    assert len(set(ids)) == 2 and all(re.fullmatch(r"[0-9A-Za-z]{15,22}", i) for i in ids)


def test_random_int_stays_from_lower_up_to_but_not_including_upper():
    drawn = {int(rendered("{{ randomInt(3, 6) }}")) for _ in range(200)}
    assert drawn == {3, 4, 5}
    assert rendered("{{ randomInt(7, 7) }}") == "7"


@pytest.mark.parametrize(
    ("call", "problem"),
    [("randomInt(5, 1)", "upper \\(1\\) is less than lower \\(5\\)"), ("randomInt(1)", "expects an argument 'upper'"),
     ("randomInt('a', 3)", "'lower' must be an integer")],
)  # fmt: skip
def test_random_int_refuses_what_kestra_refuses(call, problem):
    with pytest.raises(TemplateRenderError, match=problem):
        rendered(f"{{{{ {call} }}}}")
