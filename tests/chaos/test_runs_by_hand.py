"""The defect under fault injection: runs by hand whose API function dies between writing the execution and
queueing its message, while SQS duplicates and redelivers, each still run exactly once, and none is left CREATED."""

from backfill_core.slots import execution_messages
from backfill_core.storage import execution_logs, executions_repository, executions_search
from local.event_source import QueuePoller
from local.lambda_runtime import LambdaContext
from tests.chaos.faults import ProcessDied

RUNS = 20
IDLE_LIMIT = 50  # rounds in a row with nothing received nor ended
FLOW = """
id: by_hand
namespace: chaos
tasks:
  - id: say
    type: io.kestra.plugin.core.log.Log
    message: "ran {{ execution.id }}"
"""


def test_runs_by_hand_whose_api_dies_before_queueing_them_each_run_once(
    chaos_harness, make_injector, monkeypatch, set_setting
):
    stack = chaos_harness
    set_setting("EXECUTION_MESSAGE_GRACE_SECONDS", "0")  # overdue at once: the watchdog runs each round
    injector = make_injector({"sqs_duplicate": 0.3, "sqs_redelivered": 0.3})
    assert stack.call("POST", "/api/v1/flows", FLOW, "application/x-yaml").status == 200
    real_queue = execution_messages.queue

    def api_dies_before_the_send(execution, delay_seconds=0):
        if injector.random.random() < 0.5:
            injector.injected["api_died_unsent"] += 1
            raise ProcessDied("api_died_unsent")
        real_queue(execution, delay_seconds)

    monkeypatch.setattr(execution_messages, "queue", api_dies_before_the_send)
    for _ in range(RUNS):
        try:
            with injector.arming():
                stack.call("POST", "/api/v1/executions/chaos/by_hand")
        except ProcessDied:
            pass  # the caller saw no answer; the record was written
    assert injector.injected["api_died_unsent"], f"seed {injector.seed}: the API never died"

    handler = injector.executor(stack.executor_module.lambda_handler, stack.sqs, stack.queue_url)
    arn = stack.resources.queue_arns["WorkQueue"]
    poller = QueuePoller(stack.sqs, stack.queue_url, arn, handler, batch_size=3, timeout_seconds=120, wait_seconds=0)
    ids = [e.id for e in executions_search.by_flow("main", "chaos", "by_hand")]
    assert len(ids) == RUNS, f"seed {injector.seed}"
    idle = 0
    while idle < IDLE_LIMIT:
        with injector.arming():
            received = poller.poll_once()
            if not received:  # the watchdog's tick, once the queue is quiet
                stack.scheduler_module.lambda_handler({}, LambdaContext("SchedulerFunction", 60))
        ended = sum(executions_repository.get(i).state.current == "SUCCESS" for i in ids)
        if ended == RUNS and stack.queue_depth() == 0:
            break
        idle = 0 if received else idle + 1

    executions = [executions_repository.get(i) for i in ids]
    summary = f"seed {injector.seed}, faults {dict(injector.injected)}"
    assert [e.state.current for e in executions] == ["SUCCESS"] * RUNS, summary
    assert [e.attempt for e in executions] == [1] * RUNS, summary  # no second attempt
    assert [injector.terminal_writes[e.id] for e in executions] == [1] * RUNS, summary  # ended once each
    assert all([line["message"] for line in execution_logs.logs(e.id)] == [f"ran {e.id}"] for e in executions), summary
    assert stack.queue_depth() == 0 and stack.queue_depth(stack.dlq_url) == 0, summary
