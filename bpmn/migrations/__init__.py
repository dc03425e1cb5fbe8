"""Snapshot format migrations.

Each format change bumps `SNAPSHOT_VERSION` and adds a function `vN_to_vN+1(dct) -> dct` to
`MIGRATIONS`; `upgrade` applies them in order so instances saved by an older release keep running.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

SNAPSHOT_VERSION = 1

Migration = Callable[[dict[str, Any]], dict[str, Any]]
# from-version -> function producing the next version
MIGRATIONS: dict[int, Migration] = {}


class SnapshotVersionError(ValueError):
    """A snapshot is newer than this release, or no migration path exists."""


def upgrade(dct: dict[str, Any]) -> dict[str, Any]:
    """Bring a snapshot dictionary up to `SNAPSHOT_VERSION`."""
    version = int(dct.get("snapshot_version", 1))
    if version > SNAPSHOT_VERSION:
        raise SnapshotVersionError(f"snapshot version {version} is newer than supported {SNAPSHOT_VERSION}")
    while version < SNAPSHOT_VERSION:
        step = MIGRATIONS.get(version)
        if step is None:
            raise SnapshotVersionError(f"no migration from snapshot version {version}")
        dct = step(dct)
        version += 1
        dct["snapshot_version"] = version
    return dct
