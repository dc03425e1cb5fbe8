"""The SOAP side of the system connectors (billing, regulator): zeep clients built from the WSDL.

The WSDL is fetched from the system's configured base URL (`<base>?wsdl`, or the base itself when
it names a WSDL) once per process, worker or web: parsing it costs far more than a call. A client is
cached per (WSDL URL, timeout) so concurrent calls never share a mutated transport.

Failure policy: connection errors, timeouts, HTTP 5xx/408/429 without a SOAP body and `Server`
faults are retryable; a `Client` fault whose `<detail><errorCode>` the operation declares a business
outcome is a BPMN error with that code; other Client faults and answers zeep cannot read are
permanent (an incident).
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Any

import requests
import zeep
import zeep.exceptions
import zeep.helpers
from zeep.transports import Transport

from apps.integrations.contract import CallContext, ConnectorError
from apps.integrations.http.rest import RETRYABLE_4XX, system_url

WSDL_TIMEOUT = 10.0

_lock = threading.Lock()
_clients: dict[tuple[str, float], zeep.Client] = {}


def wsdl_url(system: str) -> str:
    """Where the system's WSDL is: its base URL when that names a WSDL, else `<base>?wsdl`."""
    base = system_url(system)
    return base if "wsdl" in base.lower() else base + "?wsdl"


def soap_client(system: str, timeout: float) -> zeep.Client:
    """The cached zeep client of `system`; fetching the WSDL may raise a retryable `ConnectorError`."""
    key = (wsdl_url(system), timeout)
    with _lock:
        client = _clients.get(key)
    if client is not None:
        return client
    transport = Transport(timeout=min(WSDL_TIMEOUT, timeout), operation_timeout=timeout)  # type: ignore[no-untyped-call]
    try:
        client = zeep.Client(key[0], transport=transport)  # type: ignore[no-untyped-call]
    except requests.RequestException as exc:
        raise ConnectorError(f"{system}: cannot fetch the WSDL {key[0]}: {exc}", retryable=True) from exc
    except zeep.exceptions.Error as exc:
        raise ConnectorError(f"{system}: unusable WSDL {key[0]}: {exc}", retryable=False) from exc
    with _lock:
        return _clients.setdefault(key, client)


def soap_clients_clear() -> None:
    """Forget the cached clients and close their connections (a WSDL changed; tests switch servers)."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        client.transport.session.close()  # keep-alive sockets would otherwise linger until collected


def soap_call(
    system: str, operation: str, *, context: CallContext, business: Collection[str] = (), **arguments: Any
) -> dict[str, Any]:
    """Call `operation` with `arguments` and return its response as a plain dict."""
    client = soap_client(system, context.timeout)
    try:
        result = getattr(client.service, operation)(**arguments)
    except zeep.exceptions.Fault as exc:
        raise _fault_error(system, operation, exc, business) from exc
    except zeep.exceptions.TransportError as exc:
        retryable = exc.status_code >= 500 or exc.status_code in RETRYABLE_4XX
        raise ConnectorError(f"{system}.{operation}: HTTP {exc.status_code}", retryable=retryable) from exc
    except requests.Timeout as exc:
        raise ConnectorError(f"{system}.{operation}: timed out after {context.timeout:g}s", retryable=True) from exc
    except requests.RequestException as exc:
        raise ConnectorError(f"{system}.{operation}: request failed: {exc}", retryable=True) from exc
    except (zeep.exceptions.Error, AttributeError) as exc:
        raise ConnectorError(f"{system}.{operation}: {type(exc).__name__}: {exc}", retryable=False) from exc
    serialised = zeep.helpers.serialize_object(result, dict)  # type: ignore[no-untyped-call]
    return serialised if isinstance(serialised, dict) else {"value": serialised}


def _fault_error(
    system: str, operation: str, fault: zeep.exceptions.Fault, business: Collection[str]
) -> ConnectorError:
    code = str(fault.code or "")
    message = f"{system}.{operation}: SOAP fault {code}: {fault.message}"
    if code.rsplit(":", 1)[-1].rsplit("}", 1)[-1] == "Server":
        return ConnectorError(message, retryable=True)
    error_code = ""
    if fault.detail is not None:
        found = fault.detail.find(".//{*}errorCode")
        error_code = (found.text or "").strip() if found is not None else ""
    if error_code in business:
        return ConnectorError(message, retryable=False, bpmn_error_code=error_code)
    return ConnectorError(message, retryable=False)
