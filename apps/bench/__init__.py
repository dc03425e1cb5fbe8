"""The benchmark behind `manage.py bench` (`make bench`): workloads B1-B6 and their reference probes.

Not a Django app: a package the `bench` management command of `apps.core` drives. It runs against its
own database (`patchbay_bench` by default) and its own Redis database number, with real Celery worker
processes, and writes a JSON report plus a readable table. docs/performance.md explains the figures.
"""
