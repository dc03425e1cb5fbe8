"""Routes of `apps.core` under /api/v1/."""

from django.urls import path

from apps.core.api import MeView, TokenView

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("auth/me/", MeView.as_view(), name="auth-me"),
]
