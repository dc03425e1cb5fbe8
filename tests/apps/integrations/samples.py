"""BPMN models with service tasks for the integrations tests, built in code."""

from __future__ import annotations

from tests.apps.instances.samples import END, START, chain, model, script


def service(task_id: str, operation: str, parameters: dict[str, str], result: str = "") -> str:
    """A service task calling `operation`; `parameters` maps names to expressions."""
    params = "".join(
        f'<spiffworkflow:parameter id="{name}" type="any" value="{value}"/>' for name, value in parameters.items()
    )
    result_attr = f' resultVariable="{result}"' if result else ""
    return (
        f'<bpmn:serviceTask id="{task_id}"><bpmn:extensionElements>'
        f'<spiffworkflow:serviceTaskOperator id="{operation}"{result_attr}>'
        f"<spiffworkflow:parameters>{params}</spiffworkflow:parameters>"
        "</spiffworkflow:serviceTaskOperator></bpmn:extensionElements></bpmn:serviceTask>"
    )


def one_call(key: str, operation: str, parameters: dict[str, str], result: str = "answer") -> bytes:
    """start -> call (the operation) -> end."""
    body = f"{START}\n{service('call', operation, parameters, result)}\n{END}\n{chain('start', 'call', 'end')}"
    return model(key, body)


# core.echo of `value`: the result lands in `echoed`.
ECHO = one_call("echo_flow", "core.echo", {"value": "value"}, "echoed")

# Two service tasks in parallel: one step parks both. (Different operations and parameter names: the
# work-in-progress rule EXT.002 in bpmn/constraints takes `serviceTaskOperator/@id` for an XML id.)
TWO_CALLS = model(
    "two_calls",
    f"""
{START}
<bpmn:parallelGateway id="split"/>
{service("first", "core.echo", {"n": "1"}, "one")}
{service("second", "http.request", {"url": "'http://127.0.0.1:9/'"}, "two")}
<bpmn:parallelGateway id="join"/>
{END}
{chain("start", "split", "first", "join", "end")}
{chain("split", "second", "join")}
""",
)

# core.fail with `error_code`, caught by an error boundary event (or not, see UNCAUGHT).
CAUGHT = model(
    "caught",
    f"""
{START}
{service("charge", "core.fail", {"error_code": "'card_declined'"}, "charged")}
<bpmn:boundaryEvent id="declined" attachedToRef="charge">
  <bpmn:errorEventDefinition errorRef="card_declined"/>
</bpmn:boundaryEvent>
{script("handle_decline", "declined = True")}
<bpmn:endEvent id="end_declined"/>
{END}
{chain("start", "charge", "end")}
{chain("declined", "handle_decline", "end_declined")}
""",
    extra='<bpmn:error id="card_declined" name="card_declined" errorCode="card_declined"/>\n',
)
UNCAUGHT = one_call("uncaught", "core.fail", {"error_code": "'card_declined'"})

# core.fail technical: retried, then an incident.
TECHNICAL = one_call("technical", "core.fail", {"technical": "True"})


def testkit(key: str = "testkit_flow") -> bytes:
    """A model calling the tests' own connector, `testkit.ping` with `value`."""
    return one_call(key, "testkit.ping", {"value": "value"}, "pong")


def http(key: str = "http_flow") -> bytes:
    """`http.request` to the variable `url`, with optional `bpmn_errors` from the variable of that name."""
    params = {"url": "url", "method": "'POST'", "json": "payload", "bpmn_errors": "bpmn_errors"}
    return one_call(key, "http.request", params, "response")
