"""Kestra's and Pebble's filters, each pinned by the output its documentation gives for the same input."""

import json

import pytest

from backfill_core.flows.templating import TemplateRenderError, render

VARIABLES = {
    "inputs": {"none": None, "csv": "a,b,,c,,", "numbers": [3, 1, 2], "map": {"b": 2, "a": 1}, "text": "  padded  "},
    "outputs": {"task": {"values": [1, 2], "items": "it", "keys": "k"}},
}


def rendered(template: str) -> str:
    return render(template, VARIABLES)


# https://kestra.io/docs/expressions/filters/strings
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ('{{ "LOUD TEXT" | lower }}', "loud text"),
        ('{{ "quiet text" | upper }}', "QUIET TEXT"),
        ('{{ "article title" | title }}', "Article Title"),
        ('{{ "hello world" | capitalize }}', "Hello world"),
        ('{{ "hello WORLD" | capitalize }}', "Hello WORLD"),
        ('{{ "  padded  " | trim }}', "padded"),
        ('{{ "this is a long sentence." | abbreviate(7) }}', "this..."),
        ('{{ "a.b.c" | substringBefore(".") }}', "a"),
        ('{{ "a.b.c" | substringAfter(".") }}', "b.c"),
        ('{{ "a.b.c" | substringBeforeLast(".") }}', "a.b"),
        ('{{ "a.b.c" | substringAfterLast(".") }}', "c"),
        ('{{ "dGVzdA==" | base64decode }}', "test"),
        ('{{ "test" | base64encode }}', "dGVzdA=="),
        ("{{ \"I like %this% and %that%.\" | replace({'%this%': 'foo', '%that%': \"bar\"}) }}", "I like foo and bar."),
        ("{{ 'a1b22' | replace({'([a-z])(\\\\d+)': '$2$1'}, regexp=true) }}", "1a22b"),
        ('{{ "Test\t\t\ntest*" | slugify }}', "test-test"),
        ('{{ "Héllo Wörld!" | slugify }}', "hello-world"),
        ("{{ \"it's\" | escapeChar('single') }}", "it\\'s"),
        ("{{ 'say \"hi\"' | escapeChar('double') }}", 'say \\"hi\\"'),
        ("{{ \"it's\" | escapeChar('shell') }}", "it'\\''s"),
        ('{{ "a b&c=d/é~*" | urlencode }}', "a+b%26c%3Dd%2F%C3%A9%7E*"),
        ('{{ "a+b%26c" | urldecode }}', "a b&c"),
        ('{{ "kestra" | startsWith("kes") }}|{{ "kestra" | endsWith("kes") }}', "true|false"),
        ('{{ "abc" | sha256 }}', "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ('{{ "abc" | md5 }}', "900150983cd24fb0d6963f7d28e17f72"),
        ("{{ 'line1\nline2' | indent(2) }}", "line1\n  line2"),
        ("{{ 'line1\nline2' | nindent(2) }}", "\n  line1\n  line2"),
    ],
)
def test_string_filters(template, expected):
    assert rendered(template) == expected


# https://pebbletemplates.io/wiki/filter/split/ (Java's String.split: trailing empty strings dropped)
def test_split_takes_a_regular_expression_and_drops_trailing_empties():
    assert rendered("{{ inputs.csv | split(',') }}") == '["a","b","","c"]'
    assert rendered("{{ inputs.csv | split(',', 2) }}") == '["a","b,,c,,"]'
    assert rendered("{{ 'a1b22c' | split('\\\\d+') }}") == '["a","b","c"]'


# https://pebbletemplates.io/wiki/filter/default/ (null or empty takes the default)
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ inputs.none | default('d') }}", "d"),
        ("{{ inputs.nope | default('d') }}", "d"),
        ("{{ '  ' | default('d') }}", "d"),
        ("{{ [] | default('d') }}", "d"),
        ("{{ 0 | default('d') }}", "0"),
        ("{{ false | default('d') }}", "false"),
    ],
)
def test_default_takes_null_undefined_and_empty(template, expected):
    assert rendered(template) == expected


# https://kestra.io/docs/expressions/filters (numbers and collections) and https://pebbletemplates.io/wiki/
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ -7 | abs }}", "7"),
        ("{{ '12' | number + 1 }}", "13"),
        ("{{ '1.5' | number }}", "1.5"),
        ("{{ '0x1F' | number }}", "31"),
        ("{{ '12' | number('DOUBLE') }}", "12.0"),
        ("{{ inputs.numbers | first }}|{{ inputs.numbers | last }}|{{ 'abc' | first }}", "3|2|a"),
        ("{{ inputs.numbers | join(', ') }}", "3, 1, 2"),
        ("{{ [true, null, 'x'] | join('-') }}", "true-null-x"),
        ("{{ inputs.numbers | length }}|{{ 'abcd' | length }}|{{ inputs.map | length }}", "3|4|2"),
        ("{{ inputs.numbers | sort }}|{{ inputs.numbers | rsort }}", "[1,2,3]|[3,2,1]"),
        ("{{ inputs.numbers | reverse }}|{{ 'abc' | reverse }}", "[2,1,3]|cba"),
        ("{{ ['apple', 'peach', 'pear', 'banana'] | slice(1, 3) }}", '["peach","pear"]'),
        ("{{ 'Mitchell' | slice(1, 3) }}", "it"),
        ("{{ inputs.map | keys }}|{{ inputs.map | values }}|{{ ['a', 'b'] | keys }}", '["b","a"]|[2,1]|[0,1]'),
        ("{{ [1, 2, 3, 4, 5] | chunk(2) }}", "[[1,2],[3,4],[5]]"),
        ("{{ [1, [2, 3], [4]] | flatten }}", "[1,2,3,4]"),
        ("{{ [1, 2, 1, 3, 2] | distinct }}", "[1,2,3]"),
        ("{{ [1, 2] | merge([3]) }}|{{ {'a': 1} | merge({'b': 2}) }}", '[1,2,3]|{"a":1,"b":2}'),
    ],
)
def test_number_and_collection_filters(template, expected):
    assert rendered(template) == expected


# https://kestra.io/docs/expressions/filters/json
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ [1, 2, 3] | toJson }}", "[1,2,3]"),
        ("{{ true | toJson }}", "true"),
        ('{{ "foo" | toJson }}', '"foo"'),
        ("{{ inputs.none | toJson }}", "null"),
        ("{{ {'a': 'é'} | json }}", '{"a":"é"}'),
        ("{{ [1, 2, 3] | jq('.') }}", "[[1,2,3]]"),
        ("{{ [1, 2, 3] | jq('.[0]') | first }}", "1"),
        ('{{ \'{"a": [{"b": 1}, {"b": 2}]}\' | jq(\'.a[].b\') }}', "[1,2]"),
        ("{{ {'value': 21} | jq('.value * 2') | first }}", "42"),
    ],
)
def test_json_filters(template, expected):
    assert rendered(template) == expected


# https://github.com/kestra-io/kestra/blob/develop/core/src/test/java/io/kestra/core/runners/pebble/filters/YamlFilterTest.java
@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ 'string' | yaml }}", "string\n"),
        ("{{ 1 | yaml }}", "1\n"),
        ("{{ 1.123 | yaml }}", "1.123\n"),
        ("{{ true | yaml }}", "true\n"),
        ("{{ ['string', 1, 1.123] | yaml }}", " - string\n - 1\n - 1.123\n"),
    ],
)
def test_yaml_filter(template, expected):
    assert rendered(template) == expected


def test_yaml_filter_writes_a_map_with_its_keys():
    written = rendered("{{ {'int': 1, 'string': 'string', 'float': 1.123} | yaml }}")
    assert "int: 1\n" in written and "string: string\n" in written and "float: 1.123\n" in written


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ inputs.map | split(',') }}", "the filter 'split' takes text"),
        ("{{ 'abc' | number }}", "'abc' is not a number"),
        ("{{ 'a' | escapeChar('triple') }}", "'single', 'double' or 'shell'"),
        ("{{ 'a' | replace('b') }}", "takes a map"),
        ("{{ 'abc' | slice(1, 9) }}", "outside the 3 items"),
        ("{{ 'x' | values }}", "the filter 'values' takes a map"),
        ("{{ 'not json' | jq('.') }}", "not JSON"),
        ("{{ {} | jq('.a[') }}", "syntax error"),
        ("{{ '!!' | base64decode }}", "cannot render"),
        ("{{ 'x' | nope }}", "No filter named 'nope'"),
    ],
)
def test_a_filter_given_what_it_cannot_take_fails_naming_the_expression(template, message):
    with pytest.raises(TemplateRenderError) as caught:
        rendered(template)
    assert message in str(caught.value)
    assert template in str(caught.value)


def test_a_null_value_passes_through_text_filters():
    assert rendered("[{{ inputs.none | upper }}][{{ inputs.none | trim }}][{{ inputs.none | slugify }}]") == "[][][]"


def test_a_map_key_named_like_a_python_dict_method_is_the_key():
    """Defect: `outputs.task.values` gave Python's dict.values method, not the task's `values` output."""
    assert rendered("{{ outputs.task.values }}|{{ outputs.task.items }}|{{ outputs.task['keys'] }}") == "[1,2]|it|k"


def test_to_json_output_is_json():
    assert json.loads(rendered("{{ inputs.map | toJson }}")) == {"b": 2, "a": 1}
