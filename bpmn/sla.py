"""SLA declarations in a model: read them for the runtime, report the broken ones at upload.

Pure: standard library, lxml and `bpmn.*` only. Two documented syntaxes (docs/sla.md), on a
`<bpmn:process>` (start to end of the instance) or on any activity (active to completed):

* the Patchbay extension element, namespace `https://patchbay.dev/bpmn/sla`:

      <bpmn:extensionElements>
        <patchbay:sla target="PT4H" atRisk="PT3H" calendar="business" timezone="Europe/Vienna"
                      pauseOnSuspend="true"/>
      </bpmn:extensionElements>

* spiffworkflow properties (what the shipped telecom models use): `slaTarget`, `slaAtRisk`,
  `slaCalendar`, `slaTimezone`, `slaPauseOnSuspend`.

The extension element wins when an element carries both. `target` is an ISO 8601 duration of weeks,
days, hours, minutes and seconds (`PT4H`, `P2D`, `P1W`, `PT90S`); years and months are refused
(their length depends on the date). `atRisk` is a shorter duration or a percentage of the target
(`80%`, the default). `calendar` is `wall` (the default: every second counts), `business` (the
deployment's default business calendar) or the name of a business calendar defined by ops; in a
business calendar a day (`P1D`) is one working day. `timezone` is an IANA name (zoneinfo).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bpmn.errors import InvalidModel
from bpmn.loading import file_kind, parse_xml, read_files
from bpmn.parser import BPMN_NS, SPIFF_NS
from bpmn.types import ModelSource, Problem

SLA_NS = "https://patchbay.dev/bpmn/sla"
_NS = {"bpmn": BPMN_NS, "spiffworkflow": SPIFF_NS, "patchbay": SLA_NS}
WALL = "wall"
BUSINESS = "business"
DEFAULT_AT_RISK_PERCENT = 80
MAX_TARGET = timedelta(days=3660)  # ten years: anything longer is a typo, not an SLA
CACHE_SIZE = 256
_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)
_PERCENT = re.compile(r"^(?P<value>\d+(?:\.\d+)?)\s*%$")
_CALENDAR_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PROPERTIES = {"slaTarget": "target", "slaAtRisk": "atRisk", "slaCalendar": "calendar",
               "slaTimezone": "timezone", "slaPauseOnSuspend": "pauseOnSuspend"}
_ATTRIBUTES = frozenset(_PROPERTIES.values())
_BOOLEANS = {"true": True, "false": False}


class SlaSyntaxError(ValueError):
    """A value of an SLA declaration (or of an ops policy) that cannot be used, with the field it is in."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class SlaDeclaration:
    """One SLA declared in a model: on the process (`activity_id` None) or on one activity.

    `at_risk` is absolute (a percentage is already applied to the target); `calendar` is `wall`,
    `business` or a calendar name; `timezone` None means the calendar's own zone.
    """

    process_id: str
    activity_id: str | None
    target: timedelta
    at_risk: timedelta
    calendar: str = WALL
    timezone: str | None = None
    pause_on_suspend: bool = True


def parse_duration(text: str, *, field: str = "target") -> timedelta:
    """An ISO 8601 duration of weeks/days/hours/minutes/seconds; `SlaSyntaxError` naming `field` otherwise.

    Refuses empty and zero durations, years and months (their length depends on the date) and
    anything beyond ten years.
    """
    value = (text or "").strip().upper()
    match = _DURATION.match(value)
    if not match or value in ("P", "PT") or value.endswith("T"):
        date_part = value.split("T")[0]
        hint = " (years and months are not allowed: use days, e.g. P30D)" if re.search(r"\d[YM]", date_part) else ""
        raise SlaSyntaxError(field, f"{text!r} is not an ISO 8601 duration such as PT4H or P2D{hint}")
    parts = {k: float(v) for k, v in match.groupdict().items() if v}
    duration = timedelta(weeks=parts.get("weeks", 0), days=parts.get("days", 0), hours=parts.get("hours", 0),
                         minutes=parts.get("minutes", 0), seconds=parts.get("seconds", 0))
    if duration <= timedelta(0):
        raise SlaSyntaxError(field, f"{text!r} is an empty duration: an SLA needs a target above zero")
    if duration > MAX_TARGET:
        raise SlaSyntaxError(field, f"{text!r} is longer than ten years")
    return duration


def parse_at_risk(text: str | None, target: timedelta, *, field: str = "at_risk") -> timedelta:
    """The at-risk threshold: a duration shorter than `target`, or a percentage of it (default 80%)."""
    if text is None or not text.strip():
        return target * DEFAULT_AT_RISK_PERCENT / 100
    percent = _PERCENT.match(text.strip())
    if percent:
        value = float(percent.group("value"))
        if not 0 < value < 100:
            raise SlaSyntaxError(field, f"{text!r}: a percentage of the target must be above 0% and below 100%")
        return target * value / 100
    at_risk = parse_duration(text, field=field)
    if at_risk >= target:
        raise SlaSyntaxError(field, f"{text!r} is not shorter than the target: at risk must come before the breach")
    return at_risk


def check_timezone(name: str, *, field: str = "timezone") -> str:
    """`name` if it is an IANA time zone zoneinfo knows; `SlaSyntaxError` naming `field` otherwise."""
    cleaned = (name or "").strip()
    if cleaned not in _zone_names():
        raise SlaSyntaxError(field, f"{name!r} is not a known time zone (use an IANA name such as Europe/Vienna)")
    try:
        ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise SlaSyntaxError(field, f"{name!r} is not a known time zone") from exc
    return cleaned


def check_calendar_name(name: str, *, field: str = "calendar") -> str:
    """`wall`, `business` or a well-formed calendar name (whether it exists is the runtime's question)."""
    cleaned = (name or "").strip()
    if not _CALENDAR_NAME.match(cleaned):
        raise SlaSyntaxError(field, f"{name!r} is not a calendar: use wall, business or a calendar's name")
    return cleaned


_zone_cache: frozenset[str] | None = None


def _zone_names() -> frozenset[str]:
    global _zone_cache  # noqa: PLW0603 - computed once per process: it reads the tz database from disk
    if _zone_cache is None:
        _zone_cache = frozenset(available_timezones()) | {"UTC"}
    return _zone_cache


# -- reading a model -------------------------------------------------------------------------------

_cache_lock = threading.Lock()
_cache: OrderedDict[str, tuple[tuple[SlaDeclaration, ...], tuple[Problem, ...]]] = OrderedDict()


def sla_declarations(source: ModelSource) -> list[SlaDeclaration]:
    """Every valid SLA declaration of the model (all processes, all files); broken ones are skipped.

    Cached per content hash (LRU). An upload with broken ones never deploys (see `sla_problems`).
    """
    return list(_read(source)[0])


def sla_problems(source: ModelSource) -> list[Problem]:
    """Upload validation: one `invalid_sla` problem per unusable SLA value, with element id and line."""
    return list(_read(source)[1])


def _read(source: ModelSource) -> tuple[tuple[SlaDeclaration, ...], tuple[Problem, ...]]:
    key = source.content_hash
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    cached = _scan(source)
    with _cache_lock:
        _cache[key] = cached
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return cached


def _scan(source: ModelSource) -> tuple[tuple[SlaDeclaration, ...], tuple[Problem, ...]]:
    declarations: list[SlaDeclaration] = []
    problems: list[Problem] = []
    try:
        files = read_files(source)
        trees = [(name, parse_xml(content, name)) for name, content in files.items() if file_kind(name) == "bpmn"]
    except InvalidModel:
        return (), ()  # the loader's own problems are reported by `bpmn.validate`
    for name, tree in trees:
        for process in tree.xpath("//bpmn:process", namespaces=_NS):
            process_id = str(process.get("id") or "")
            for element in process.iter():
                _scan_element(element, process=process, process_id=process_id, filename=name,
                              declarations=declarations, problems=problems)
    return tuple(declarations), tuple(problems)


def _scan_element(element: Any, *, process: Any, process_id: str, filename: str,
                  declarations: list[SlaDeclaration], problems: list[Problem]) -> None:
    if not isinstance(element.tag, str):
        return  # comments, processing instructions
    values = _values(element)
    if values is None:
        return
    element_id = str(element.get("id") or "")
    activity_id = None if element is process else element_id
    try:
        declarations.append(_declaration(process_id, activity_id, values))
    except SlaSyntaxError as exc:
        problems.append(Problem("invalid_sla", f"SLA {exc.field}: {exc.message}", element_id=element_id or None,
                                line=element.sourceline, file=filename))


def _values(element: Any) -> dict[str, str] | None:
    """The SLA attributes of an element (extension element first, then properties), or None."""
    own = element.xpath("bpmn:extensionElements/patchbay:sla", namespaces=_NS)
    if own:
        unknown = sorted(set(own[0].attrib) - _ATTRIBUTES)
        values = {k: str(v) for k, v in own[0].attrib.items()}
        if unknown:
            values["__unknown__"] = ", ".join(unknown)
        return values
    found = element.xpath("bpmn:extensionElements/spiffworkflow:properties/spiffworkflow:property", namespaces=_NS)
    props = {_PROPERTIES[p.get("name")]: str(p.get("value") or "") for p in found if p.get("name") in _PROPERTIES}
    return props or None


def _declaration(process_id: str, activity_id: str | None, values: dict[str, str]) -> SlaDeclaration:
    if "__unknown__" in values:
        raise SlaSyntaxError("attribute", f"unknown attribute(s) {values['__unknown__']} on patchbay:sla "
                             f"(allowed: {', '.join(sorted(_ATTRIBUTES))})")
    if not values.get("target", "").strip():
        raise SlaSyntaxError("target", "is missing: say how long the work may take, e.g. target=\"PT4H\"")
    target = parse_duration(values["target"], field="target")
    pause = values.get("pauseOnSuspend", "true").strip().lower()
    if pause not in _BOOLEANS:
        raise SlaSyntaxError("pauseOnSuspend", f"{values['pauseOnSuspend']!r} is not true or false")
    timezone = values.get("timezone", "").strip()
    return SlaDeclaration(
        process_id=process_id,
        activity_id=activity_id,
        target=target,
        at_risk=parse_at_risk(values.get("atRisk"), target, field="atRisk"),
        calendar=check_calendar_name(values.get("calendar") or WALL),
        timezone=check_timezone(timezone) if timezone else None,
        pause_on_suspend=_BOOLEANS[pause],
    )
