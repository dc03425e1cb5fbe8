"""BPMN models for the message and start-timer tests, built in code so each shows what it exercises."""

from __future__ import annotations

from tests.apps.instances.samples import END, START, chain, flow, model, script


def correlated_message(name: str, process_key: str, prop: str = "order_id") -> str:
    """A message `name` correlated on property `prop` (read from the payload / the waiting data)."""
    return f"""
<bpmn:collaboration id="collaboration">
  <bpmn:participant id="participant" processRef="{process_key}"/>
  <bpmn:correlationKey name="{prop}_key">
    <bpmn:correlationPropertyRef>{prop}</bpmn:correlationPropertyRef>
  </bpmn:correlationKey>
</bpmn:collaboration>
<bpmn:message id="{name}" name="{name}"/>
<bpmn:correlationProperty id="{prop}" name="{prop}">
  <bpmn:correlationPropertyRetrievalExpression messageRef="{name}">
    <bpmn:formalExpression>{prop}</bpmn:formalExpression>
  </bpmn:correlationPropertyRetrievalExpression>
</bpmn:correlationProperty>
"""


def catch(event_id: str, message: str) -> str:
    """An intermediate message catch event."""
    return (
        f'<bpmn:intermediateCatchEvent id="{event_id}"><bpmn:messageEventDefinition messageRef="{message}"/>'
        "</bpmn:intermediateCatchEvent>"
    )


def throw(event_id: str, message: str, payload: str) -> str:
    """An intermediate message throw event sending `payload` (an expression over the process data)."""
    return (
        f'<bpmn:intermediateThrowEvent id="{event_id}"><bpmn:messageEventDefinition messageRef="{message}">'
        f"<bpmn:extensionElements><spiffworkflow:messagePayload>{payload}</spiffworkflow:messagePayload>"
        "</bpmn:extensionElements></bpmn:messageEventDefinition></bpmn:intermediateThrowEvent>"
    )


def timer_start(event_id: str, kind: str, text: str) -> str:
    """A timer start event (`kind` = timeCycle, timeDate or timeDuration)."""
    return (
        f'<bpmn:startEvent id="{event_id}"><bpmn:timerEventDefinition><bpmn:{kind}>{text}</bpmn:{kind}>'
        "</bpmn:timerEventDefinition></bpmn:startEvent>"
    )


# Waits for `payment_confirmed` correlated on its own `order_id`, then records what arrived.
WAIT_PAYMENT = model(
    "wait_payment",
    f"""
{START}
{catch("payment_received", "payment_confirmed")}
{script("record", "recorded = [order_id, paid]")}
{END}
{chain("start", "payment_received", "record", "end")}
""",
    extra=correlated_message("payment_confirmed", "wait_payment"),
)

# Throws `payment_confirmed` for its `order_id` (correlated), then ends: routes to a waiting instance.
PAYER = model(
    "payer",
    f"""
{START}
{throw("confirm_payment", "payment_confirmed", '{"order_id": order_id, "paid": amount}')}
{END}
{chain("start", "confirm_payment", "end")}
""",
    extra=correlated_message("payment_confirmed", "payer"),
)

# A customer places an order: throws `order_placed` with the order id.
CUSTOMER = model(
    "customer",
    f"""
{START}
{throw("place_order", "order_placed", '{"order_id": order_id}')}
{END}
{chain("start", "place_order", "end")}
""",
    extra='<bpmn:message id="order_placed" name="order_placed"/>\n',
)

# Started by `order_placed`: accepts the order and waits for a person.
ORDER = model(
    "order",
    f"""
<bpmn:startEvent id="order_received"><bpmn:messageEventDefinition messageRef="order_placed"/></bpmn:startEvent>
{script("accept", "accepted = order_id")}
<bpmn:userTask id="ship" name="Ship"/>
{END}
{chain("order_received", "accept", "ship", "end")}
""",
    extra='<bpmn:message id="order_placed" name="order_placed"/>\n',
)

# Event-based gateway: an `answer` message or one hour, whichever comes first.
RACE = model(
    "race",
    f"""
{START}
<bpmn:eventBasedGateway id="wait_for_answer"/>
<bpmn:intermediateCatchEvent id="too_late"><bpmn:timerEventDefinition>
  <bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:intermediateCatchEvent>
{catch("answered", "answer")}
{script("timed_out", "outcome = 'timeout'")}
{script("got_answer", "outcome = 'answer'")}
<bpmn:endEvent id="end_timeout"/>
<bpmn:endEvent id="end_answer"/>
{chain("start", "wait_for_answer")}
{flow("wait_for_answer", "too_late")}
{flow("wait_for_answer", "answered")}
{chain("too_late", "timed_out", "end_timeout")}
{chain("answered", "got_answer", "end_answer")}
""",
    extra='<bpmn:message id="answer" name="answer"/>\n',
)


def boundary_timer(key: str, *, interrupting: bool) -> bytes:
    """A user task `work` with a one-hour boundary timer leading to `escalate`."""
    cancel = "true" if interrupting else "false"
    return model(
        key,
        f"""
{START}
<bpmn:userTask id="work" name="Work"/>
<bpmn:boundaryEvent id="deadline" attachedToRef="work" cancelActivity="{cancel}">
  <bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration></bpmn:timerEventDefinition>
</bpmn:boundaryEvent>
{script("escalate", "escalated = True")}
<bpmn:endEvent id="end_escalated"/>
{END}
{chain("start", "work", "end")}
{chain("deadline", "escalate", "end_escalated")}
""",
    )


def scheduled(key: str, cycle: str, *, event_id: str = "tick") -> bytes:
    """A process started by a timer start event with `cycle`; it runs a script and ends."""
    return model(
        key,
        f"""
{timer_start(event_id, "timeCycle", cycle)}
{script("work", "ran = True")}
{END}
{chain(event_id, "work", "end")}
""",
    )
