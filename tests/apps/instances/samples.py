"""BPMN models for the runtime tests, built in code so each one shows what it exercises."""

from __future__ import annotations

from itertools import pairwise

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" '
    'id="definitions" targetNamespace="https://patchbay.example/tests/instances">\n'
)
START = '<bpmn:startEvent id="start"/>'
END = '<bpmn:endEvent id="end"/>'


def model(key: str, body: str, *, extra: str = "") -> bytes:
    """A one-process model `key` whose process element holds `body`."""
    return (
        f'{HEADER}{extra}<bpmn:process id="{key}" isExecutable="true">\n{body}\n'
        "</bpmn:process>\n</bpmn:definitions>\n"
    ).encode()


def flow(source: str, target: str, condition: str | None = None) -> str:
    """A sequence flow `f_<source>_<target>`, with an optional condition."""
    flow_id = f"f_{source}_{target}"
    if condition is None:
        return f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}"/>'
    return (
        f'<bpmn:sequenceFlow id="{flow_id}" sourceRef="{source}" targetRef="{target}">'
        f"<bpmn:conditionExpression>{condition}</bpmn:conditionExpression></bpmn:sequenceFlow>"
    )


def chain(*ids: str) -> str:
    """Flows joining the ids in order."""
    return "\n".join(flow(a, b) for a, b in pairwise(ids))


def script(task_id: str, code: str) -> str:
    """A script task."""
    return f'<bpmn:scriptTask id="{task_id}"><bpmn:script>{code}</bpmn:script></bpmn:scriptTask>'


def timer(event_id: str, duration: str) -> str:
    """An intermediate timer catch event waiting `duration` (ISO 8601, written literally)."""
    return (
        f'<bpmn:intermediateCatchEvent id="{event_id}"><bpmn:timerEventDefinition>'
        f"<bpmn:timeDuration>{duration}</bpmn:timeDuration></bpmn:timerEventDefinition>"
        "</bpmn:intermediateCatchEvent>"
    )


# start -> prepare -> approve (user task) -> finish -> end: waits for a person after its first step.
APPROVAL = model(
    "approval",
    f"""
{START}
{script("prepare", "prepared = True")}
<bpmn:userTask id="approve" name="Approve"/>
{script("finish", "finished = True")}
{END}
{chain("start", "prepare", "approve", "finish", "end")}
""",
)

# The ratio script needs `total` and `count`: a missing or zero count fails the step.
RATIO = model(
    "ratio",
    f"""
{START}
{script("compute_ratio", "ratio = total / count")}
{END}
{chain("start", "compute_ratio", "end")}
""",
)

# Always fails: division by zero in its only script.
BROKEN = model(
    "broken",
    f"""
{START}
{script("divide", "x = 1 / 0")}
{END}
{chain("start", "divide", "end")}
""",
)

# Waits an hour on a timer, then runs a script.
HOURLY = model(
    "hourly",
    f"""
{START}
{timer("wait_an_hour", "PT1H")}
{script("after_wait", "waited = True")}
{END}
{chain("start", "wait_an_hour", "after_wait", "end")}
""",
)

# Counts `ping` messages until it has `limit` of them: every delivery is a step that reads and
# writes `count`, so a lost update would show as a count below the number of deliveries.
PING_COUNTER = model(
    "ping_counter",
    f"""
{START}
{script("init", "count = 0")}
<bpmn:intermediateCatchEvent id="wait_ping">
  <bpmn:messageEventDefinition messageRef="ping"/>
</bpmn:intermediateCatchEvent>
{script("count_ping", "count = count + 1")}
<bpmn:exclusiveGateway id="enough" default="f_enough_wait_ping"/>
{END}
{chain("start", "init", "wait_ping", "count_ping", "enough")}
{flow("enough", "end", "count &gt;= limit")}
{flow("enough", "wait_ping")}
""",
    extra='<bpmn:message id="ping" name="ping"/>\n',
)

# The end-to-end model: a script, an exclusive gateway, a short timer and a parallel split/join.
ORDER_FLOW = model(
    "order_flow",
    f"""
{START}
{script("price_order", "amount = quantity * 30")}
<bpmn:exclusiveGateway id="check_amount" default="f_check_amount_small_order"/>
{script("big_order", "size = 'big'")}
{script("small_order", "size = 'small'")}
<bpmn:exclusiveGateway id="merge"/>
{timer("cool_down", "PT1S")}
<bpmn:parallelGateway id="split"/>
{script("reserve_stock", "reserved = True")}
{script("notify_customer", "notified = True")}
<bpmn:parallelGateway id="join"/>
{END}
{chain("start", "price_order", "check_amount")}
{flow("check_amount", "big_order", "amount &gt; 100")}
{flow("check_amount", "small_order")}
{chain("big_order", "merge")}
{chain("small_order", "merge")}
{chain("merge", "cool_down", "split")}
{chain("split", "reserve_stock", "join")}
{chain("split", "notify_customer", "join")}
{chain("join", "end")}
""",
)
