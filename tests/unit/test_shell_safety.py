"""Caller labels and inputs that a flow renders into shell commands must not carry shell syntax."""

import pytest

from backfill_core.errors import Invalid
from backfill_core.flows.labels import Label
from backfill_core.flows.model import parse_flow
from backfill_core.flows.shell_safety import check_caller_values


def flow(command: str, env: str = "") -> object:
    return parse_flow(f"""
id: report
namespace: tests
tasks:
  - id: say
    type: io.kestra.plugin.scripts.shell.Commands
    taskRunner:
      type: io.kestra.plugin.core.runner.Process{env}
    commands:
      - {command}
""")


INJECTION = 'outage"; id; echo "$AWS_SECRET_ACCESS_KEY'


def test_a_label_with_shell_syntax_rendered_into_a_command_is_refused_naming_it():
    with pytest.raises(Invalid) as refused:
        check_caller_values(flow('echo "because {{ labels.reason }}"'), [Label(key="reason", value=INJECTION)], {})

    assert refused.value.message.startswith("backfill.labels.reason: the value holds shell syntax")
    assert "task 'say'" in refused.value.message and "env" in refused.value.message


@pytest.mark.parametrize("value", ["a`id`", "$(id)", "x; id", "x && id", "x | id", "x\nid", "x > /tmp/f", "it's"])
def test_every_form_of_shell_syntax_in_an_input_is_refused(value):
    with pytest.raises(Invalid, match=r"backfill\.inputs\.who"):
        check_caller_values(flow("echo {{ inputs.who }}"), [], {"who": value})


@pytest.mark.parametrize("value", ["outage-2024-03-28", "team:data/eu", "50%_done,ok", "café", "a+b=c@10:00"])
def test_plain_values_pass(value):
    check_caller_values(
        flow('echo "{{ inputs.who }} {{ labels.reason }}"'), [Label(key="reason", value=value)], {"who": value}
    )


def test_values_reaching_the_script_only_through_env_pass_whatever_they_hold():
    safe = flow('echo "because $REASON"', env='\n    env:\n      REASON: "{{ labels.reason }}"')

    check_caller_values(safe, [Label(key="reason", value=INJECTION)], {"who": INJECTION})


def test_a_json_input_is_checked_as_the_text_the_command_would_get():
    with pytest.raises(Invalid, match=r"backfill\.inputs\.payload"):
        check_caller_values(flow("echo '{{ inputs.payload }}'"), [], {"payload": {"q": "x'; id; echo '"}})


@pytest.mark.parametrize("value", ["x -o -exec sh -c id {} +", " #", "-rf", "a*", "planned outage", "~root", "x\ty"])
def test_words_globs_comments_and_options_are_refused_too(value):
    with pytest.raises(Invalid, match=r"backfill\.labels\.pattern"):
        check_caller_values(flow("find . -name {{ labels.pattern }}"), [Label(key="pattern", value=value)], {})


def test_only_the_names_the_commands_render_are_checked():
    rendered = flow("echo {{ labels.team }} {{ inputs['day'] }}")

    check_caller_values(
        rendered,
        [Label(key="team", value="data"), Label(key="reason", value="Bob's outage")],
        {"day": "2024-03-28", "payload": {"region": "eu"}},
    )
    with pytest.raises(Invalid, match=r"backfill\.inputs\.day"):
        check_caller_values(rendered, [], {"day": "$(id)"})


def test_a_whole_map_rendered_checks_every_key_and_value():
    whole = flow("echo '{{ labels }}' > labels.json")

    with pytest.raises(Invalid, match="backfill.labels"):
        check_caller_values(whole, [Label(key="a'; id; echo '", value="x")], {})
    with pytest.raises(Invalid, match="backfill.labels.reason"):
        check_caller_values(whole, [Label(key="reason", value="it's")], {})


COMMANDS_TYPE = "io.kestra.plugin.scripts.shell.Commands"


def test_commands_in_errors_and_finally_are_checked_too():
    for block in ("errors", "finally"):
        source = (
            "id: report\nnamespace: tests\ntasks:\n"
            "  - id: ok\n    type: io.kestra.plugin.core.log.Log\n    message: hi\n"
            f"{block}:\n  - id: late\n    type: {COMMANDS_TYPE}\n    commands: ['echo {{{{ inputs.who }}}}']\n"
        )
        with pytest.raises(Invalid, match=r"backfill\.inputs\.who.*task 'late'"):
            check_caller_values(parse_flow(source), [], {"who": INJECTION})


def test_a_value_passed_on_through_another_tasks_outputs_is_checked_as_rendered_into_the_commands():
    source = (
        "id: report\nnamespace: tests\ntasks:\n"
        "  - id: note\n    type: io.kestra.plugin.core.debug.Return\n    format: '{{ labels.reason }}'\n"
        "  - id: keep\n    type: io.kestra.plugin.core.output.OutputValues\n"
        "    values: {why: '{{ outputs.note.value }}'}\n"
        f"  - id: say\n    type: {COMMANDS_TYPE}\n    commands: ['echo {{{{ outputs.keep.values.why }}}}']\n"
    )

    with pytest.raises(Invalid, match=r"backfill\.labels\.reason.*task 'say'"):
        check_caller_values(parse_flow(source), [Label(key="reason", value=INJECTION)], {})


HOSTILE = ["$(touch pwned)", '"; rm -rf ~ #', "__import__('os').system('touch pwned')", "{{ 7*7 }}"]


def script_flow(task_type: str, body: str) -> object:
    return parse_flow(f"""
id: report
namespace: tests
tasks:
  - id: run
    type: io.kestra.plugin.scripts.{task_type}
{body}""")


BEFORE = "    beforeCommands: ['echo {{ inputs.who }}']\n    commands: [python -V]\n"
INPUT_FILE = "    inputFiles:\n      main.py: x = '{{ inputs.who }}'\n    commands: [python main.py]\n"


@pytest.mark.parametrize("value", HOSTILE)
@pytest.mark.parametrize(
    ("task_type", "body", "where", "language"),
    [
        ("shell.Script", "    script: |\n      echo {{ inputs.who }}\n", "script", "shell"),
        ("python.Script", "    script: |\n      print('{{ inputs.who }}')\n", "script", "Python"),
        ("python.Commands", BEFORE, "beforeCommands", "shell"),
        ("python.Commands", INPUT_FILE, "inputFiles", "Python"),
    ],
)  # fmt: skip
def test_a_caller_value_rendered_into_any_code_of_a_script_task_is_refused_naming_where(
    task_type, body, where, language, value
):
    with pytest.raises(Invalid) as refused:
        check_caller_values(script_flow(task_type, body), [], {"who": value})

    message = refused.value.message
    assert message.startswith(f"backfill.inputs.who: the value holds {language} syntax"), message
    assert f"renders it into the {where} of task 'run'" in message


@pytest.mark.parametrize("value", ["cmd,shell=True", "x=1"])
def test_commas_and_equals_signs_are_python_syntax_though_plain_in_shell(value):
    python = script_flow("python.Script", "    script: run('ls', check={{ inputs.who }})\n")
    shell = script_flow("shell.Script", "    script: echo {{ inputs.who }}\n")

    with pytest.raises(Invalid, match="Python syntax"):
        check_caller_values(python, [], {"who": value})
    check_caller_values(shell, [], {"who": value})


def test_a_python_script_given_caller_values_through_env_passes_whatever_they_hold():
    safe = script_flow(
        "python.Script",
        "    env:\n      WHO: '{{ inputs.who }}'\n      WHY: '{{ labels.why }}'\n"
        "    script: |\n      import os\n      print(os.environ['WHO'], os.environ['WHY'])\n",
    )
    for value in HOSTILE:
        check_caller_values(safe, [Label(key="why", value=value)], {"who": value})
