"""`manage.py demo_batch`: start a realistic batch of orders, payments and a compliance run. Demo and DEBUG only.

The instances are started through the ordinary service (`instance_start`), so they run exactly as
API-started ones do: the worker calls the (sandbox) systems, messages come back, work items open in
the inbox and SLA deadlines start. The data is varied on purpose:

* orders from residential, business and wholesale customers with amounts from 150 to 25,000; when
  the sandbox credit bureau is installed, customers are picked so that its scores give a mix of
  automatic approvals, manual credit reviews and rejections;
* payments with working cards and cards that the sandbox gateway declines (numbers ending with its
  `decline_suffix` knob), which end in the collections lane's dunning work item;
* one compliance report for the previous month.

Provisioning fallout (a failed or late network answer) is the sandbox network's business: set its
`failed_rate` knob (`POST /sandbox/network/config`) before the batch to see fallout work items; a
network that never answers escalates after the order's `provisioning_timeout` (P1D/P2D).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.core.errors import ApiError
from apps.definitions.models import ProcessDefinition
from apps.definitions.packaging import pack_folder
from apps.definitions.services import definition_deploy
from apps.instances.services import instance_start
from apps.sandbox.knobs import knobs_get
from apps.sandbox.models import BillingAccount
from apps.sandbox.views.credit import score_of

PROCESS_KEYS = ("order_to_provision", "payment", "compliance_reporting")
# Lane names of the shipped processes: the candidate groups of their work items.
LANE_GROUPS = ("sales", "credit_team", "provisioning_ops", "billing_ops", "collections",
               "compliance_officer", "data_quality")
DEMO_AGENT = "agent"
SEGMENTS = ("residential", "residential", "business", "wholesale")
AMOUNTS = (150, 480, 1200, 2600, 4900, 7500, 12000, 25000)
SERVICES = (("fibre_100", "home_basic"), ("fibre_500", "home_plus"), ("mobile_l", "mobile_unlimited"),
            ("business_pro", "business_pro"))
STREETS = ("Analytical Way", "Difference Street", "Engine Row", "Lovelace Lane", "Babbage Square")
NAMES = ("Ada Lovelace", "Charles Babbage", "Grace Hopper", "Alan Turing", "Katherine Johnson",
         "Edsger Dijkstra", "Barbara Liskov", "Donald Knuth", "Margaret Hamilton", "John Backus")
GOOD_CARDS = ("4111111111111111", "5555555555554444", "4012888888881881")
# Bands of the credit decision table (credit_decision.dmn): reject < 500 <= review < 650 <= approve.
SCORE_BANDS = ((300, 499), (500, 649), (650, 850))


@dataclass(frozen=True)
class Started:
    """One instance the batch started."""

    process_key: str
    business_key: str
    note: str


class Command(BaseCommand):
    """Starts demo instances of the shipped processes, deploying them first when needed."""

    help = (
        "Start a realistic batch of order_to_provision, payment and compliance_reporting instances "
        "(varied customers, some manual credit reviews and declined cards) so that the inbox, instance "
        "pages and dashboard show real data. Refuses to run unless PATCHBAY_DEMO or DEBUG is true."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--orders", type=int, default=12, help="orders to start (default 12)")
        parser.add_argument("--payments", type=int, default=8, help="payments to start (default 8)")
        parser.add_argument("--compliance", action="store_true",
                            help="also start a compliance report for the previous month")

    def handle(self, *args: Any, **options: Any) -> None:
        if not (getattr(settings, "DEMO_MODE", False) or settings.DEBUG):
            raise CommandError("Refusing to start demo instances: set PATCHBAY_DEMO=true (or DEBUG=true) "
                               "on a demo or development machine only.")
        if options["orders"] < 0 or options["payments"] < 0:
            raise CommandError("--orders and --payments take a number of instances, 0 or more")
        self._deploy_missing()
        self._ensure_lane_groups()
        # Unique per run (business keys must not collide with unfinished instances of an earlier batch).
        batch = timezone.now().strftime("%y%m%d-%H%M%S-") + secrets.token_hex(2)
        started = [*self._orders(batch, options["orders"]), *self._payments(batch, options["payments"])]
        if options["compliance"]:
            started.append(self._start("compliance_reporting", f"demo-report-{batch}", {}, "previous month"))
        for item in started:
            self.stdout.write(f"  {item.process_key:<22} {item.business_key:<32} {item.note}")
        self.stdout.write(self.style.SUCCESS(f"Started {len(started)} instances (batch {batch})."))

    # -- setup ---------------------------------------------------------------------------------------

    def _deploy_missing(self) -> None:
        """Deploy the shipped processes that have no version yet (as `deploy_processes` would)."""
        for key in PROCESS_KEYS:
            if ProcessDefinition.objects.filter(key=key).exists():
                continue
            source = pack_folder(settings.PROCESSES_DIR / key)
            if source is None:
                raise CommandError(f"processes/{key} holds no model")
            try:
                definition, _ = definition_deploy(filename=source.filename, content=source.content, deployed_by=None)
            except ApiError as exc:
                raise CommandError(f"{key} cannot be deployed: {exc.message} {exc.details}") from exc
            self.stdout.write(f"deployed {definition.key} v{definition.version}")

    def _ensure_lane_groups(self) -> None:
        """The lane groups exist, and the demo agent (if seeded) is in all of them: the inbox fills."""
        groups = [Group.objects.get_or_create(name=name)[0] for name in LANE_GROUPS]
        agent = get_user_model().objects.filter(username=DEMO_AGENT).first()
        if agent is not None:
            agent.groups.add(*groups)

    # -- instances -----------------------------------------------------------------------------------

    def _start(self, process_key: str, business_key: str, variables: dict[str, Any], note: str) -> Started:
        starter = get_user_model().objects.filter(username="ops").first()
        instance_start(process_key=process_key, business_key=business_key, variables=variables, started_by=starter)
        return Started(process_key, business_key, note)

    def _orders(self, batch: str, count: int) -> list[Started]:
        started = []
        for n in range(count):
            band = SCORE_BANDS[(n + 2) % len(SCORE_BANDS)]  # approve, reject, review, approve, ...
            customer_id = _customer_in_band(f"demo-{batch}-{n}", band)
            segment = SEGMENTS[n % len(SEGMENTS)]
            service, plan = SERVICES[n % len(SERVICES)]
            name = NAMES[n % len(NAMES)]
            variables = {
                "order_id": f"ORD-{batch}-{n:03d}", "customer_id": customer_id,
                "customer": {"name": name, "email": f"{name.split()[0].lower()}.{n}@example.com", "segment": segment},
                "amount": AMOUNTS[(n * 3) % len(AMOUNTS)], "service": service, "plan": plan,
                "address": f"{10 + n} {STREETS[n % len(STREETS)]}, Berlin",
            }
            note = f"{segment}, amount {variables['amount']}, expected credit: {_band_name(band)}"
            started.append(self._start("order_to_provision", f"demo-order-{batch}-{n:03d}", variables, note))
        return started

    def _payments(self, batch: str, count: int) -> list[Started]:
        suffix = _decline_suffix()
        started = []
        for n in range(count):
            declined = n % 3 == 2
            card = f"400000000000{suffix}" if declined else GOOD_CARDS[n % len(GOOD_CARDS)]
            name = NAMES[(n + 3) % len(NAMES)]
            account_id = _billing_account(f"acct-demo-{batch}-{n:03d}", customer_id=f"C-{10000 + n}")
            variables = {
                "payment_id": f"PAY-{batch}-{n:03d}", "customer_id": f"C-{10000 + n}", "account_id": account_id,
                "amount": round(19.9 + 17.5 * n, 2), "currency": "EUR", "card_number": card,
                "customer": {"name": name, "email": f"{name.split()[0].lower()}.{n}@example.com"},
            }
            note = "card will be declined (dunning)" if declined else "card accepted"
            started.append(self._start("payment", f"demo-payment-{batch}-{n:03d}", variables, note))
        return started


def _billing_account(account_id: str, *, customer_id: str) -> str:
    """A payment posts to an existing billing account: open it in the simulated billing system first.

    With real systems configured (sandbox off) the account id is used as it is.
    """
    if settings.PATCHBAY_SANDBOX_ENABLED:
        BillingAccount.objects.get_or_create(
            account_id=account_id,
            defaults={"customer_id": customer_id, "order_id": f"demo-{account_id}", "plan": "home_plus"},
        )
    return account_id


def _band_name(band: tuple[int, int]) -> str:
    return {SCORE_BANDS[0]: "reject", SCORE_BANDS[1]: "manual review", SCORE_BANDS[2]: "approve"}[band]


def _customer_in_band(seed: str, band: tuple[int, int]) -> str:
    """A customer id the sandbox credit bureau scores within `band` (any id without the sandbox)."""
    scorer = _sandbox_scorer()
    candidate = seed
    for attempt in range(500):
        candidate = f"C-{hashlib.sha256(f'{seed}:{attempt}'.encode()).hexdigest()[:8].upper()}"
        if scorer is None or band[0] <= scorer(candidate) <= band[1]:
            return candidate
    return candidate


def _sandbox_scorer() -> Callable[[str], int] | None:
    """The sandbox credit bureau's scoring under its current knobs; None when real systems answer."""
    if not settings.PATCHBAY_SANDBOX_ENABLED:
        return None
    knobs = knobs_get("credit")
    return lambda customer_id: score_of(customer_id, knobs)


def _decline_suffix() -> str:
    """The card-number ending the sandbox gateway declines (its default when real systems answer)."""
    if not settings.PATCHBAY_SANDBOX_ENABLED:
        return "0002"
    return str(knobs_get("payment")["decline_suffix"])
