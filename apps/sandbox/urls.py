"""URLs of the simulated systems, mounted at `/sandbox/` (apps/urls.py, standalone_urls.py).

Each system lives under its own prefix, which is the base URL its connector is configured with
(`PATCHBAY_SYSTEM_URLS`), so a real system replaces a simulated one by configuration only.
"""

from django.urls import path

from apps.sandbox.views import billing, config, credit, crm, network, notify, payment, regulator

app_name = "sandbox"

urlpatterns = [
    path("", config.index, name="index"),
    path("<str:system>/config", config.system_config, name="config"),
    path("crm/customers/<str:customer_id>", crm.customer, name="crm-customer"),
    path("credit/scores/<str:customer_id>", credit.score, name="credit-score"),
    path("billing/", billing.endpoint, name="billing"),
    path("network/provisioning", network.provisioning, name="network-provisioning"),
    path("network/provisioning/<str:provisioning_id>", network.provisioning_detail, name="network-detail"),
    path("network/provisioning/<str:provisioning_id>/cancel", network.cancel, name="network-cancel"),
    path("network/provisioning/<str:provisioning_id>/activate", network.activate, name="network-activate"),
    path("notify/notifications", notify.notifications, name="notify-notifications"),
    path("payment/charges", payment.charges, name="payment-charges"),
    path("payment/charges/<str:charge_id>", payment.charge_detail, name="payment-charge"),
    path("payment/refunds", payment.refunds, name="payment-refunds"),
    path("regulator/", regulator.endpoint, name="regulator"),
]
