"""Pebble's operators, tests and tags as Kestra evaluates them, including where Jinja's would differ silently."""

import pytest

from backfill_core.flows.templating import TemplateRenderError, render

VARIABLES = {
    "inputs": {"name": "world", "none": None, "empty": "  ", "items": ["apple", "pear"], "count": 3},
    "trigger": {"date": "2024-03-28T06:30:00Z"},
}


def rendered(template: str) -> str:
    return render(template, VARIABLES)


# https://kestra.io/docs/expressions/operators-tags-tests


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{{ "apple" ~ "pear" ~ "banana" }}', "applepearbanana"),
        ("{{ inputs.nope ?? inputs.none ?? 'default' }}", "default"),
        ("{{ inputs.none == null ? 'absent' : 'present' }}", "absent"),
        ("{{ inputs.name == null ? 'absent' : 'present' }}", "present"),
        ("{{ inputs.name equals 'world' }}", "true"),
        ("{{ inputs.count != 3 }}", "false"),
        ("{{ inputs.count >= 3 and inputs.count < 4 }}", "true"),
        ("{{ inputs.count > 5 or not (inputs.count > 5) }}", "true"),
        ("{{ ['apple', 'pear', 'banana'] contains 'apple' }}", "true"),
        ("{{ {'apple': 'red', 'banana': 'yellow'} contains 'banana' }}", "true"),
        ("{{ ['apple', 'pear', 'banana', 'peach'] contains ['apple', 'peach'] }}", "true"),
        ("{{ ['apple', 'pear'] contains ['apple', 'peach'] }}", "false"),
        ("{{ 'pear' in inputs.items }}|{{ 'kiwi' not in inputs.items }}", "true|true"),
        ("{{ 2 is even and 3 is odd }}", "true"),
        ("{{ 3 is not even }}", "true"),
    ],
)
def test_documented_operators(template, expected):
    assert rendered(template) == expected


# https://kestra.io/docs/expressions/operator ("math": order of operations applies)
def test_documented_math_example():
    assert rendered("{{ 2 + 2 / ( 10 % 3 ) * (8 - 1) }}") == "16"


def test_whole_numbers_divide_as_java_longs_do():
    assert rendered("{{ 7 / 2 }} {{ -7 / 2 }} {{ -7 % 3 }} {{ 7.0 / 2 }}") == "3 -3 -1 3.5"


def test_plus_with_text_concatenates_as_pebble_does():
    assert rendered("{{ 'n=' + 1 }}") == "n=1"


def test_concatenation_binds_tighter_than_a_filter():
    """Pebble's `~` (110) binds tighter than `|` (100): Jinja alone would give 'aB'."""
    assert rendered("{{ 'a' ~ 'b' | upper }}") == "AB"


def test_fallback_binds_tighter_than_a_filter():
    assert rendered("{{ inputs.nope ?? 'x' | upper }}") == "X"


def test_not_binds_tighter_than_a_comparison():
    """Pebble's unary `not` (500) applies before `==`: (not 1) == false."""
    assert rendered("{{ not 1 == false }}") == "true"


def test_ternary_chooses_and_nests():
    assert rendered("{{ inputs.count > 2 ? inputs.count > 5 ? 'big' : 'mid' : 'small' }}") == "mid"


# https://kestra.io/docs/expressions (null and undefined: `??` takes both, `???` only undefined)
def test_undefined_coalescing_keeps_null_but_replaces_undefined():
    assert rendered("[{{ inputs.none ??? 'u' }}][{{ inputs.nope ??? 'u' }}]") == "[][u]"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.nope is defined }}", "false"),
        ("{{ inputs.nope is not defined }}", "true"),
        ("{{ inputs.none is null }}", "true"),
        ("{{ inputs.name is not null }}", "true"),
        ("{{ inputs.empty is empty }}|{{ inputs.items is empty }}|{{ [] is empty }}", "true|false|true"),
        ("{{ {'a': 1} is map }}|{{ inputs.items is map }}", "true|false"),
        ("{{ '{\"a\": 1}' is json }}|{{ 'nope' is json }}", "true|false"),
        ("{{ inputs.items is iterable }}", "true"),
    ],
)
def test_documented_tests(template, expected):
    assert rendered(template) == expected


def test_is_null_on_an_unknown_variable_fails_naming_it():
    with pytest.raises(TemplateRenderError, match=r"inputs\.nope"):
        rendered("{{ inputs.nope is null }}")


def test_null_prints_nothing():
    assert rendered("[{{ inputs.none }}][{{ null }}]") == "[][]"


def test_maps_print_as_compact_json():
    assert rendered("{{ {'a': 1, 'b': [true, null]} }}") == '{"a":1,"b":[true,null]}'


# Tags: https://pebbletemplates.io/wiki/tag/if/ and https://pebbletemplates.io/wiki/tag/for/
def test_elseif_is_pebble_spelling():
    template = "{% if inputs.count > 5 %}big{% elseif inputs.count > 2 %}mid{% else %}small{% endif %}"
    assert rendered(template) == "mid"


def test_loop_index_counts_from_zero_as_in_pebble():
    assert rendered("{% for fruit in inputs.items %}{{ loop.index }}={{ fruit }} {% endfor %}") == "0=apple 1=pear "


def test_a_for_over_a_map_walks_its_entries():
    assert rendered("{% for e in {'a': 1, 'b': 2} %}{{ e.key }}={{ e.value }};{% endfor %}") == "a=1;b=2;"


def test_range_operator_includes_its_end():
    assert rendered("{% for i in 1..3 %}{{ i }}{% endfor %}") == "123"


def test_set_and_raw_tags():
    assert rendered("{% set who = inputs.name | upper %}{{ who }}") == "WORLD"
    assert rendered("{% raw %}{{ a ?? b }}{% endraw %}") == "{{ a ?? b }}"


def test_string_interpolation_in_double_quotes():
    assert rendered('{{ "hello #{inputs.name | upper}!" }}') == "hello WORLD!"


def test_a_map_literal_inside_an_expression_does_not_end_it():
    assert rendered("{{ {'a': {'b': 2}}.a.b }}") == "2"


@pytest.mark.parametrize(
    "template", ["{{ 1 ++ }}", "{{ inputs.name | }}", "{{ @ }}", "{{ x ? 1 }}", "{% if %}{% endif %}"]
)
def test_a_malformed_expression_is_a_template_render_error_quoting_it(template):
    with pytest.raises(TemplateRenderError, match="cannot render"):
        rendered(template)
