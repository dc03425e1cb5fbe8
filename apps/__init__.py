"""The Patchbay Django project: settings, URLs, Celery app and one Django app per concern."""

from apps.celery import app as celery_app

__all__ = ["celery_app"]
