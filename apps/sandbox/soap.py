"""A small SOAP 1.1 server side: parse a request envelope, answer with a response or a Fault.

Hand-written with lxml rather than a SOAP framework: the simulated services have a handful of
document/literal operations described by static WSDL files (`wsdl/`), which is all zeep needs. The
request is untrusted input, so it is parsed without DTDs, entities or network access, and capped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.http import HttpRequest, HttpResponse
from lxml import etree

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
MAX_REQUEST_BYTES = 1024 * 1024
WSDL_DIR = Path(__file__).resolve().parent / "wsdl"
CONTENT_TYPE = "text/xml; charset=utf-8"

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False, huge_tree=False,
    remove_blank_text=True,
)


class SoapRequestError(ValueError):
    """The request is not a SOAP 1.1 envelope this service understands (a Client fault)."""


def operation_of(body: bytes) -> etree._Element:
    """The first element in the envelope's Body: the operation's wrapper element."""
    if len(body) > MAX_REQUEST_BYTES:
        raise SoapRequestError("request too large")
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise SoapRequestError(f"not well-formed XML: {exc}") from exc
    if root.getroottree().docinfo.internalDTD is not None:
        raise SoapRequestError("DTDs are not allowed")
    soap_body = root.find(f"{{{SOAP_ENV}}}Body")
    if root.tag != f"{{{SOAP_ENV}}}Envelope" or soap_body is None or len(soap_body) == 0:
        raise SoapRequestError("expected a SOAP 1.1 Envelope with a Body")
    return soap_body[0]


def local_name(element: etree._Element) -> str:
    """The tag without its namespace."""
    return str(etree.QName(element).localname)


def child_text(element: etree._Element, name: str, *, required: bool = True) -> str:
    """The text of the child `name` (any namespace); a missing required child is a Client fault."""
    for child in element:
        if isinstance(child.tag, str) and local_name(child) == name:
            return (child.text or "").strip()
    if required:
        raise SoapRequestError(f"missing element {name}")
    return ""


def children(element: etree._Element, name: str) -> list[etree._Element]:
    """Every child called `name` (any namespace)."""
    return [c for c in element if isinstance(c.tag, str) and local_name(c) == name]


def respond(namespace: str, name: str, fields: dict[str, Any]) -> HttpResponse:
    """A response envelope whose Body holds `<name>` with one child per field (qualified)."""
    envelope, body = _envelope()
    wrapper = etree.SubElement(body, f"{{{namespace}}}{name}", nsmap={"tns": namespace})
    for field, value in fields.items():
        etree.SubElement(wrapper, f"{{{namespace}}}{field}").text = str(value)
    return _response(envelope, 200)


def fault(code: str, message: str, *, namespace: str, error_code: str = "", status: int = 500) -> HttpResponse:
    """A SOAP 1.1 Fault: `code` is `Server` (try again later) or `Client` (the request is wrong).

    `error_code` goes into the detail (`<tns:errorCode>`), where the connector finds business
    outcomes such as `account_not_found`.
    """
    envelope, body = _envelope()
    soap_fault = etree.SubElement(body, f"{{{SOAP_ENV}}}Fault")
    etree.SubElement(soap_fault, "faultcode").text = f"soap:{code}"
    etree.SubElement(soap_fault, "faultstring").text = message
    if error_code:
        detail = etree.SubElement(soap_fault, "detail")
        etree.SubElement(detail, f"{{{namespace}}}errorCode", nsmap={"tns": namespace}).text = error_code
    return _response(envelope, status)


def wsdl_response(request: HttpRequest, filename: str) -> HttpResponse:
    """The static WSDL with the service address pointing back at the URL it was fetched from.

    So the same file works in-app, standalone and under the tests' live server on any port.
    """
    location = request.build_absolute_uri(request.path)
    text = (WSDL_DIR / filename).read_text(encoding="utf-8").replace("{{LOCATION}}", location)
    return HttpResponse(text, content_type=CONTENT_TYPE)


def _envelope() -> tuple[etree._Element, etree._Element]:
    envelope = etree.Element(f"{{{SOAP_ENV}}}Envelope", nsmap={"soap": SOAP_ENV})
    return envelope, etree.SubElement(envelope, f"{{{SOAP_ENV}}}Body")


def _response(envelope: etree._Element, status: int) -> HttpResponse:
    payload = etree.tostring(envelope, xml_declaration=True, encoding="utf-8")
    return HttpResponse(payload, status=status, content_type=CONTENT_TYPE)
