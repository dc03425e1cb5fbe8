"""Root URL configuration: the REST API under /api/v1/, OpenAPI, health probes, the web UI and the sandbox."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from apps.core.metrics import metrics_view

api_v1 = [
    path("", include("apps.core.api_urls")),
    path("", include("apps.definitions.api_urls")),
    path("", include("apps.instances.api_urls")),
    path("", include("apps.integrations.api_urls")),
    path("", include("apps.worklist.api_urls")),
    path("", include("apps.sla.api_urls")),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    # Prometheus scrape target: no auth, exempt from the https redirect like the health probes.
    path("metrics", metrics_view, name="metrics"),
    path("", include("apps.ui.urls")),
    path("", include("apps.sla.ui_urls")),  # /ops/ (ui-ops)
    path("", include("apps.core.urls")),
]
if settings.PATCHBAY_SANDBOX_ENABLED:
    # The simulated external systems (apps.sandbox), so `make run` needs no other server.
    urlpatterns.insert(0, path("sandbox/", include("apps.sandbox.urls")))
