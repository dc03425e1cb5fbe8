"""Synthetic but realistic usage and billing data for a reporting period, deterministic per period.

The same (period, kind) always yields the same rows, so a retried `files.write_extract` writes the
same bytes and reports the same SHA-256: the step is idempotent without remembering anything.
"""

from __future__ import annotations

import calendar
import hashlib
import random
import re
from datetime import date
from decimal import Decimal

PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$"
USAGE_COLUMNS = ("record_id", "msisdn", "day", "service", "quantity", "unit", "charge_eur")
BILLING_COLUMNS = ("invoice_id", "account_id", "customer_id", "plan", "net_eur", "vat_eur", "total_eur", "issued_on")
SERVICES = (("voice", "minutes", Decimal("0.09")), ("sms", "messages", Decimal("0.05")),
            ("data", "MB", Decimal("0.002")), ("roaming_data", "MB", Decimal("0.01")))
PLANS = (("fibre_100", Decimal("29.90")), ("fibre_500", Decimal("39.90")), ("mobile_s", Decimal("9.90")),
         ("mobile_l", Decimal("24.90")), ("business_pro", Decimal("79.00")))
VAT = Decimal("0.19")
CENT = Decimal("0.01")


def period_days(period: str) -> tuple[date, date]:
    """First and last day of `YYYY-MM` or `YYYY-Qn`."""
    if not re.match(PERIOD_PATTERN, period):
        raise ValueError(f"period {period!r} is not YYYY-MM or YYYY-Qn")
    year, part = int(period[:4]), period[5:]
    first_month, months = (3 * int(part[1]) - 2, 3) if part.startswith("Q") else (int(part), 1)
    last_month = first_month + months - 1
    return date(year, first_month, 1), date(year, last_month, calendar.monthrange(year, last_month)[1])


def _rng(period: str, kind: str) -> random.Random:
    seed = int(hashlib.sha256(f"{period}:{kind}".encode()).hexdigest()[:16], 16)
    return random.Random(seed)  # noqa: S311 - synthetic data, not security


def usage_rows(period: str) -> list[dict[str, str]]:
    """Call/SMS/data records of ~40 subscribers over the period (about 6 a day)."""
    first, last = period_days(period)
    rng = _rng(period, "usage")
    days = (last - first).days + 1
    subscribers = [f"+49151{rng.randrange(10**7, 10**8)}" for _ in range(40)]
    rows = []
    for n in range(days * 6):
        service, unit, price = rng.choice(SERVICES)
        quantity = rng.randint(1, 60) if unit != "MB" else rng.randint(5, 2048)
        day = date.fromordinal(first.toordinal() + rng.randrange(days))
        rows.append({"record_id": f"U{period.replace('-', '')}{n:06d}", "msisdn": rng.choice(subscribers),
                     "day": day.isoformat(), "service": service, "quantity": str(quantity), "unit": unit,
                     "charge_eur": str((price * quantity).quantize(CENT))})
    rows.sort(key=lambda row: (row["day"], row["record_id"]))
    return rows


def billing_rows(period: str) -> list[dict[str, str]]:
    """One invoice per account (~60 accounts) issued on the period's last day."""
    _, last = period_days(period)
    rng = _rng(period, "billing")
    rows = []
    for n in range(60):
        plan, fee = rng.choice(PLANS)
        net = (fee * (rng.choice((1, 1, 1, 3)) if "Q" in period else fee) + Decimal(rng.randint(0, 2000)) / 100)
        vat = (net * VAT).quantize(CENT)
        rows.append({"invoice_id": f"INV-{period}-{n:04d}", "account_id": f"acct_{rng.getrandbits(48):012x}",
                     "customer_id": f"C-{rng.randint(10000, 99999)}", "plan": plan, "net_eur": str(net.quantize(CENT)),
                     "vat_eur": str(vat), "total_eur": str((net + vat).quantize(CENT)), "issued_on": last.isoformat()})
    return rows


def rows_of(kind: str, period: str) -> tuple[tuple[str, ...], list[dict[str, str]]]:
    """Columns and rows of an extract of `kind` (`usage` or `billing`)."""
    if kind == "usage":
        return USAGE_COLUMNS, usage_rows(period)
    return BILLING_COLUMNS, billing_rows(period)
