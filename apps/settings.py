"""Patchbay settings, driven by the environment.

Every value comes from an environment variable read through a typed helper that fails loudly on a
bad value: a typo in production must stop the process, not fall back silently.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PATCHBAY_VAR_DIR", BASE_DIR / "var"))


class ImproperlyConfiguredEnv(RuntimeError):
    """An environment variable holds a value this module cannot use."""


def env_str(name: str, default: str) -> str:
    """Return the variable, or `default` when it is unset or empty."""
    return os.environ.get(name) or default


def env_bool(name: str, default: bool) -> bool:
    """Parse a boolean variable; only the usual spellings are accepted."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int) -> int:
    """Parse an integer variable."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not an integer") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    """Parse a comma-separated list."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_json_object(name: str, default: dict[str, Any]) -> dict[str, Any]:
    """Parse a JSON object variable (e.g. `{"http": {"max_attempts": 3}}`)."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not JSON") from exc
    if not isinstance(value, dict):
        raise ImproperlyConfiguredEnv(f"{name}={raw!r} is not a JSON object")
    return value


DEBUG = env_bool("DEBUG", False)
# The demo mode is what `make run` uses: seeded users with a documented password, embedded broker.
DEMO_MODE = env_bool("PATCHBAY_DEMO", False)
# Tests, type checking and the embedded demo may use a fixed key; anything else must be given one.
TESTING = "pytest" in sys.modules
TYPE_CHECKING_RUN = "mypy" in sys.modules
_DEV_KEY = "patchbay-development-only-key-9f3c2a7e5b1d4c6a8e0f2b4d6a8c0e2f4a6b8d0c"
SECRET_KEY = env_str("SECRET_KEY", _DEV_KEY if (DEBUG or DEMO_MODE or TESTING or TYPE_CHECKING_RUN) else "")
if not SECRET_KEY:
    raise ImproperlyConfiguredEnv("SECRET_KEY must be set outside DEBUG, demo and test runs")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "apps.core",
    "apps.definitions",
    "apps.instances",
    "apps.worklist",
    "apps.integrations",
    "apps.sandbox",
    # After the worklist: its step effect handler reads the work items the worklist's handler wrote.
    "apps.sla",
    "apps.ui",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "apps.urls"
WSGI_APPLICATION = "apps.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "apps" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'patchbay.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite serialises writers; a generous timeout turns lock contention into waiting, not errors.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
    DATABASES["default"]["OPTIONS"]["transaction_mode"] = "IMMEDIATE"
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "apps" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.core.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "apps.core.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Patchbay API",
    "DESCRIPTION": "BPMN 2.0 process orchestration for telecom integration.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from our own static files: nothing may be fetched from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Several models have a `status` field; name their enums so the schema has no collisions.
    "ENUM_NAME_OVERRIDES": {
        "InstanceStatusEnum": "apps.instances.models.InstanceStatus",
        "IncidentStatusEnum": "apps.instances.models.IncidentStatus",
        "CallStatusEnum": "apps.integrations.models.CallStatus",
        "BreakerStateEnum": "apps.integrations.models.BreakerState",
    },
}

# Celery: Redis when REDIS_URL is given, otherwise the file-system broker so a new user needs no server.
REDIS_URL = env_str("REDIS_URL", "")
BROKER_DIR = VAR_DIR / "broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # kombu's emulated acks keep every delivered message in Redis until it is acknowledged (three
    # Redis round trips and ~0.3-0.6 ms of worker CPU per message) and give it back only after the
    # visibility timeout (an hour). Every message Patchbay sends has a database row that the sweeps
    # re-send within seconds if the message is lost (docs/operations.md, "Two recovery paths"), so
    # the emulation is off unless PATCHBAY_BROKER_ACK_EMULATION=true.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        "visibility_timeout": 3600,
        "ack_emulation": env_bool("PATCHBAY_BROKER_ACK_EMULATION", False),
    }
    if REDIS_URL.startswith("redis://"):
        # kombu's Redis transport, keeping its Redis client instead of building one per command.
        CELERY_BROKER_TRANSPORT = "apps.core.broker:Transport"
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "out"),
        "data_folder_out": str(BROKER_DIR / "out"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Without this kombu writes its broadcast exchanges to ./control in the working directory.
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
# Keep our JSON log format in workers too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = env_int("CELERY_WORKER_PREFETCH_MULTIPLIER", 1)
CELERY_TASK_DEFAULT_QUEUE = "engine"
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
# Celery's Django fix-up closes the DB connection around every task unless this is set; a reconnect
# costs ~20 ms of CPU on the project machine, more than a whole step.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
CELERY_BEAT_SCHEDULE = {
    # Instance timers: claims those due within PATCHBAY_TIMER_LOOKAHEAD_MS and sends them to the
    # pool with eta (apps.instances.timers_sweep). The lookahead must exceed this interval.
    "fire-due-timers": {"task": "apps.instances.tasks.fire_due_timers", "schedule": 1.0},
    # Separate tasks, so a long timer backlog and these never hold each other up.
    "fire-start-timers": {"task": "apps.instances.tasks.fire_start_timers", "schedule": 1.0},
    "route-pending-messages": {"task": "apps.instances.tasks.route_pending_messages", "schedule": 1.0},
    # Outbox backstop: due retries, lost messages, calls whose worker died (apps.integrations).
    "sweep-outbox": {"task": "apps.integrations.tasks.sweep_outbox", "schedule": 1.0},
    # SLA clocks: pause/resume, at-risk and breaches within about a second (apps.sla.sweep).
    "sweep-sla": {"task": "apps.sla.tasks.sweep_deadlines", "schedule": 1.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# Instance timers (apps.instances.timers_sweep, docs/operations.md "Timers"). The sweep claims timers
# due within the lookahead (> the 1 s beat interval, so none waits for the next tick) and sends them
# in batches of at most BATCH_SIZE whose due times span at most BATCH_SPAN_MS, each with eta = its
# latest due time. A claim not fired within LEASE_SECONDS (lost message, killed worker) is claimed
# and sent again; keep it above the longest normal queue wait. At most MAX_IN_FLIGHT claims are open.
PATCHBAY_TIMER_LOOKAHEAD_MS = env_int("PATCHBAY_TIMER_LOOKAHEAD_MS", 2500)
PATCHBAY_TIMER_BATCH_SIZE = env_int("PATCHBAY_TIMER_BATCH_SIZE", 20)
PATCHBAY_TIMER_BATCH_SPAN_MS = env_int("PATCHBAY_TIMER_BATCH_SPAN_MS", 100)
PATCHBAY_TIMER_LEASE_SECONDS = env_int("PATCHBAY_TIMER_LEASE_SECONDS", 30)
PATCHBAY_TIMER_MAX_IN_FLIGHT = env_int("PATCHBAY_TIMER_MAX_IN_FLIGHT", 2000)

# External systems (apps.integrations, docs/operations.md "External systems"). One Celery queue per
# system; workers must consume these besides `engine` (scripts/run_stack.py has the same default).
PATCHBAY_SYSTEM_QUEUES = env_list(
    "PATCHBAY_SYSTEM_QUEUES",
    ["core", "http", "crm", "credit", "billing", "network", "notify", "payment", "files", "regulator"],
)
# Defaults of each system's protection (a connector may declare its own; the admin may change them).
PATCHBAY_SYSTEM_MAX_CONCURRENCY = env_int("PATCHBAY_SYSTEM_MAX_CONCURRENCY", 8)
PATCHBAY_BREAKER_FAILURE_THRESHOLD = env_int("PATCHBAY_BREAKER_FAILURE_THRESHOLD", 5)
PATCHBAY_BREAKER_WINDOW_SECONDS = env_int("PATCHBAY_BREAKER_WINDOW_SECONDS", 60)
PATCHBAY_BREAKER_COOLDOWN_SECONDS = env_int("PATCHBAY_BREAKER_COOLDOWN_SECONDS", 30)
# The sweeper re-sends a pending call whose message is this old, and fails a running call this long
# past its operation's timeout (its worker died).
PATCHBAY_OUTBOX_PENDING_GRACE_SECONDS = env_int("PATCHBAY_OUTBOX_PENDING_GRACE_SECONDS", 30)
PATCHBAY_OUTBOX_RUNNING_GRACE_SECONDS = env_int("PATCHBAY_OUTBOX_RUNNING_GRACE_SECONDS", 30)
# Retry policy overrides by system or operation name: {"http": {"max_attempts": 8, "max_delay": 300}}.
PATCHBAY_RETRY_POLICIES = env_json_object("PATCHBAY_RETRY_POLICIES", {})
# Timeout overrides (seconds) by system or operation name: {"http": 10, "payment.charge": 45}. The
# timeout also sets how long a running call is leased to its worker (timeout + running grace above).
PATCHBAY_OPERATION_TIMEOUTS = env_json_object("PATCHBAY_OPERATION_TIMEOUTS", {})
for _name, _seconds in PATCHBAY_OPERATION_TIMEOUTS.items():
    if isinstance(_seconds, bool) or not isinstance(_seconds, int | float) or _seconds <= 0:
        raise ImproperlyConfiguredEnv(f"PATCHBAY_OPERATION_TIMEOUTS[{_name!r}]={_seconds!r} is not a positive number")

# Where the connectors find each external system (docs/operations.md "Sandbox and systems"). Default:
# the simulated systems of apps.sandbox on this server; a real system replaces one by configuration
# only: `PATCHBAY_SYSTEM_URLS='{"crm": "https://crm.example/api/"}'` or `PATCHBAY_CRM_URL=...`.
PORT = env_int("PORT", 8000)
SANDBOX_SYSTEMS = ("crm", "credit", "billing", "network", "notify", "payment", "regulator")
_SYSTEM_URLS_JSON = env_json_object("PATCHBAY_SYSTEM_URLS", {})
PATCHBAY_SYSTEM_URLS: dict[str, str] = {
    name: env_str(f"PATCHBAY_{name.upper()}_URL", "")
    or str(_SYSTEM_URLS_JSON.get(name) or f"http://127.0.0.1:{PORT}/sandbox/{name}/")
    for name in sorted({*SANDBOX_SYSTEMS, *_SYSTEM_URLS_JSON})
}
# Hosts `http.request` may call besides those of PATCHBAY_SYSTEM_URLS (SSRF protection for uploaded
# models): exact host names or IP literals, `*.example.com` for subdomains, `*` for any host.
PATCHBAY_HTTP_ALLOWED_HOSTS = env_list("PATCHBAY_HTTP_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "::1"])
# The local directory `files.*` writes extracts and archives into (the "file drop").
PATCHBAY_FILE_DROP_DIR = Path(env_str("PATCHBAY_FILE_DROP_DIR", str(VAR_DIR / "filedrop")))
# The simulated systems (apps.sandbox), mounted at /sandbox/: on by default only in DEBUG, demo and
# test runs - their admin endpoints are unauthenticated, so never turn them on in production.
PATCHBAY_SANDBOX_ENABLED = env_bool("PATCHBAY_SANDBOX_ENABLED", DEBUG or DEMO_MODE or TESTING)
# Where the sandbox posts its asynchronous answers (`/api/v1/messages/`), and the API token it uses
# (empty: the token of the service user `sandbox`, created on first use; see `manage.py sandbox_setup`).
PATCHBAY_CALLBACK_URL = env_str("PATCHBAY_CALLBACK_URL", f"http://127.0.0.1:{PORT}")
PATCHBAY_SANDBOX_CALLBACK_TOKEN = env_str("PATCHBAY_SANDBOX_CALLBACK_TOKEN", "")
# Start values of each simulated system's knobs (latency, failure rate, ...), e.g.
# '{"network": {"callback_delay": 5}}'; `/sandbox/<system>/config` changes them at run time.
PATCHBAY_SANDBOX_DEFAULTS = env_json_object("PATCHBAY_SANDBOX_DEFAULTS", {})

# SLA (docs/sla.md): the business calendar `calendar="business"` means (a data migration creates
# `austria`: Mon-Fri 08:00-17:00 Europe/Vienna, Austrian public holidays).
PATCHBAY_SLA_DEFAULT_CALENDAR = env_str("PATCHBAY_SLA_DEFAULT_CALENDAR", "austria")
# How long a process may use the SLA overrides it read (apps.sla.policies.overrides_for_step), in ms: an
# override saved through the API applies to clocks started by other processes within this time.
PATCHBAY_SLA_POLICY_CACHE_MS = env_int("PATCHBAY_SLA_POLICY_CACHE_MS", 1000)
# Escalation emails go through Django's email backend (SMTP settings: EMAIL_HOST ... as usual).
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
                        if DEMO_MODE or DEBUG else "django.core.mail.backends.smtp.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "patchbay@localhost")

# The step pipeline waits this long for an instance lock before answering "busy".
PATCHBAY_LOCK_TIMEOUT_MS = env_int("PATCHBAY_LOCK_TIMEOUT_MS", 5000)
# How long a process reuses what it read for an API token (apps.core.token_users), in seconds; 0 = off.
# A revoked token or deactivated user is refused at once by the process that made the change, and by
# every other process within this time.
PATCHBAY_TOKEN_CACHE_SECONDS = env_int("PATCHBAY_TOKEN_CACHE_SECONDS", 5)
# The hot hand-written statements run as server-side prepared statements (apps/core/prepared.py).
# Off behind PgBouncer in transaction pooling mode (docs/operations.md).
PATCHBAY_DB_PREPARED_STATEMENTS = env_bool("PATCHBAY_DB_PREPARED_STATEMENTS", True)
# Upload caps for untrusted models.
PATCHBAY_MAX_UPLOAD_BYTES = env_int("PATCHBAY_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = PATCHBAY_MAX_UPLOAD_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = PATCHBAY_MAX_UPLOAD_BYTES + 1024 * 1024
PROCESSES_DIR = BASE_DIR / "processes"

if not DEBUG:
    SECURE_CONTENT_TYPE_NOSNIFF = True
    X_FRAME_OPTIONS = "DENY"
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEMO_MODE)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEMO_MODE)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEMO_MODE)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEMO_MODE else 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEMO_MODE
    SECURE_HSTS_PRELOAD = not DEMO_MODE
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "apps.core.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # SpiffWorkflow logs every task state change at INFO: far too much for production logs. Its
    # `spiff.task` and `spiff.workflow` loggers are named too: SpiffWorkflow tests their own `level`
    # (not the effective one) and, below INFO, builds log records with the task data on every state
    # change and walks all tasks when a workflow is created or completes - work for nothing.
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "spiff": {"level": "WARNING"},
        "spiff.task": {"level": "WARNING"},
        "spiff.workflow": {"level": "WARNING"},
    },
}
