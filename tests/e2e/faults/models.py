"""The BPMN models of the fault scenarios, built in code (see tests/apps/instances/samples.py)."""

from __future__ import annotations

from tests.apps.instances.samples import END, START, chain, model, script, timer
from tests.apps.integrations.samples import service

CHARGE_PARAMETERS = {"url": "url", "method": "'POST'", "json": "order"}

# start -> charge (http.request to the system) -> end.
CHARGE = model(
    "fault_charge",
    f"""
{START}
{service("charge", "http.request", CHARGE_PARAMETERS, "charged")}
{END}
{chain("start", "charge", "end")}
""",
)

# start -> charge -> wait PT1S -> confirm (http.request again) -> end: calls and timers on both sides.
CHARGE_WAIT_CONFIRM = model(
    "fault_charge_wait_confirm",
    f"""
{START}
{service("charge", "http.request", CHARGE_PARAMETERS, "charged")}
{timer("settle", "PT1S")}
{service("confirm", "http.request", {"url": "url", "method": "'POST'", "json": "charged"}, "confirmed")}
{END}
{chain("start", "charge", "settle", "confirm", "end")}
""",
)

# start -> charge with an interrupting PT2S timer boundary: answered in time -> on_time, else -> too_late.
RACE = model(
    "fault_race",
    f"""
{START}
{service("charge", "http.request", CHARGE_PARAMETERS, "charged")}
<bpmn:boundaryEvent id="too_slow" attachedToRef="charge" cancelActivity="true"><bpmn:timerEventDefinition>
<bpmn:timeDuration>PT2S</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>
{script("on_time", "path = 'normal'")}
{script("too_late", "path = 'timeout'")}
<bpmn:endEvent id="end_too_late"/>
{END}
{chain("start", "charge", "on_time", "end")}
{chain("too_slow", "too_late", "end_too_late")}
""",
)
