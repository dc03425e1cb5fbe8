"""Simulated credit bureau (REST): a deterministic score per customer id.

`GET /sandbox/credit/scores/<customer_id>?amount=` -> `{customer_id, score, band, amount}`. The score
is derived from a hash of the id (the same id always scores the same), moved by the knob
`score_offset` and replaced by `score_overrides[customer_id]`; always within 300..850.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from apps.sandbox.web import error, rest_system

MIN_SCORE, MAX_SCORE = 300, 850
BANDS = ((580, "poor"), (670, "fair"), (740, "good"), (800, "very_good"))


def score_of(customer_id: str, knobs: dict[str, Any]) -> int:
    """The customer's score under the current knobs."""
    overrides: dict[str, Any] = knobs["score_overrides"]
    if customer_id in overrides:
        raw = int(overrides[customer_id])
    else:
        digest = int(hashlib.sha256(customer_id.encode()).hexdigest()[:8], 16)
        raw = MIN_SCORE + digest % (MAX_SCORE - MIN_SCORE + 1) + int(knobs["score_offset"])
    return max(MIN_SCORE, min(MAX_SCORE, raw))


def band_of(score: int) -> str:
    """The named band of a score, as lenders use them."""
    return next((name for limit, name in BANDS if score < limit), "excellent")


@rest_system("credit", "GET")
def score(request: HttpRequest, knobs: dict[str, Any], customer_id: str) -> HttpResponse:
    """Score one customer (the amount asked for is echoed; it does not change the score)."""
    try:
        amount = float(request.GET.get("amount") or 0)
    except ValueError:
        return error(400, "invalid_request", "amount must be a number")
    value = score_of(customer_id, knobs)
    return JsonResponse({"customer_id": customer_id, "score": value, "band": band_of(value), "amount": amount})
