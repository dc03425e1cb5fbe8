"""The BPMN models the workloads run, built in code so each one shows what it measures."""

from __future__ import annotations

from itertools import pairwise

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" '
    'id="definitions" targetNamespace="https://patchbay.example/bench">\n'
)
START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'


def _model(key: str, body: str) -> bytes:
    return (
        f'{HEADER}<bpmn:process id="{key}" isExecutable="true">\n{body}\n</bpmn:process>\n</bpmn:definitions>\n'
    ).encode()


def _flow(source: str, target: str, condition: str | None = None) -> str:
    flow_id = f"f_{source}_{target}"
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (
        f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def _chain(*ids: str) -> str:
    return "\n".join(_flow(a, b) for a, b in pairwise(ids))


def _script(task_id: str, code: str) -> str:
    return f'<bpmn:scriptTask id="{task_id}"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


def _timer(event_id: str, duration: str) -> str:
    return (
        f'<bpmn:intermediateCatchEvent id="{event_id}"><bpmn:timerEventDefinition>'
        f"<bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
    )


def _echo(task_id: str, result: str) -> str:
    return (
        f'<bpmn:serviceTask id="{task_id}"><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id="core.echo" resultVariable="{result}">'
        '<spiffworkflow:parameters><spiffworkflow:parameter id="order" type="any" value="order"/>'
        "</spiffworkflow:parameters></spiffworkflow:serviceTaskOperator></bpmn:extensionElements>"
        "</bpmn:serviceTask>"
    )


def _user_task(task_id: str) -> str:
    return f'<bpmn:userTask id="{task_id}" name="Review" camunda:candidateGroups="agent"/>'


# B1: start -> core.echo -> end.
ONE_TASK_KEY = "bench_one_task"
ONE_TASK = _model(ONE_TASK_KEY, f"{START}\n{_echo('echo', 'echoed')}\n{END}\n{_chain('start', 'echo', 'end')}")

# B2: 13 activities: an exclusive choice, a parallel split and join, two 1 s timers and a service task.
TYPICAL_KEY = "bench_typical"
TYPICAL = _model(
    TYPICAL_KEY,
    f"""
{START}
{_script("prepare", "total = amount * 2")}
<bpmn:exclusiveGateway id="route" default="f_route_small"/>
{_script("big", "size = 'big'")}
{_script("small", "size = 'small'")}
<bpmn:exclusiveGateway id="merge"/>
<bpmn:parallelGateway id="split"/>
{_timer("wait_a", "PT1S")}
{_echo("call", "echoed")}
{_timer("wait_b", "PT1S")}
{_script("note", "noted = True")}
<bpmn:parallelGateway id="join"/>
{_script("finish", "finished = True")}
{END}
{_chain("start", "prepare", "route")}
{_flow("route", "big", "amount &gt; 100")}
{_flow("route", "small")}
{_chain("big", "merge")}
{_chain("small", "merge", "split")}
{_chain("split", "wait_a", "call", "join")}
{_chain("split", "wait_b", "note", "join", "finish", "end")}
""",
)

# B3 and B5: start -> user task (candidate group `agent`) -> end.
HUMAN_KEY = "bench_human"
HUMAN = _model(HUMAN_KEY, f"{START}\n{_user_task('review')}\n{END}\n{_chain('start', 'review', 'end')}")

# B4: start -> 1 s timer -> end; the bench clones a waiting instance and sets each clone's due time.
TIMER_KEY = "bench_timer"
TIMER = _model(TIMER_KEY, f"{START}\n{_timer('wait', 'PT1S')}\n{END}\n{_chain('start', 'wait', 'end')}")

# B6: a user task in a loop: every completion is one step of the same, ever longer, instance.
LOOP_KEY = "bench_loop"
LOOP = _model(
    LOOP_KEY,
    f"""
{START}
{_script("init", "rounds = 0")}
{_user_task("work")}
{_script("count", "rounds = rounds + 1")}
<bpmn:exclusiveGateway id="again" default="f_again_work"/>
{END}
{_chain("start", "init", "work", "count", "again")}
{_flow("again", "end", "rounds &gt;= limit")}
{_flow("again", "work")}
""",
)

ALL = {
    ONE_TASK_KEY: ONE_TASK,
    TYPICAL_KEY: TYPICAL,
    HUMAN_KEY: HUMAN,
    TIMER_KEY: TIMER,
    LOOP_KEY: LOOP,
}
