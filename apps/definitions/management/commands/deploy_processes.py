"""`manage.py deploy_processes`: deploy every process folder of `processes/` (idempotent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.core.errors import ApiError
from apps.definitions.packaging import pack_folder
from apps.definitions.services import definition_deploy


class Command(BaseCommand):
    """Deploys each folder (one process per folder); unchanged folders create no new version."""

    help = (
        "Deploy every process folder under PROCESSES_DIR (or --dir). A folder with a single .bpmn is "
        "uploaded as that file, otherwise its .bpmn/.dmn/.json files are packed into a deterministic zip. "
        "Running it again deploys nothing that has not changed. Exits non-zero if any model is invalid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", type=Path, default=None,
                            help="Folder holding the process folders (default: settings.PROCESSES_DIR).")

    def handle(self, *args: Any, **options: Any) -> None:
        root = Path(options["dir"] or settings.PROCESSES_DIR)
        if not root.is_dir():
            raise CommandError(f"{root} is not a directory")
        folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
        invalid = [folder.name for folder in folders if not self._deploy_folder(folder)]
        if invalid:
            raise CommandError(f"{len(invalid)} invalid process folder(s): {', '.join(invalid)}")

    def _deploy_folder(self, folder: Path) -> bool:
        """Deploy one folder and print the outcome; False when its model is invalid."""
        source = pack_folder(folder)
        if source is None:
            self.stdout.write(f"{folder.name}: skipped (no .bpmn file)")
            return True
        try:
            definition, created = definition_deploy(
                filename=source.filename, content=source.content, deployed_by=None
            )
        except ApiError as exc:
            self.stdout.write(self.style.ERROR(f"{folder.name}: invalid: {exc.message}"))
            for problem in exc.details:
                where = ", ".join(f"{k} {problem[k]}" for k in ("file", "element_id", "line") if k in problem)
                self.stdout.write(f"  - [{problem.get('code')}] {problem.get('message')}"
                                  + (f" ({where})" if where else ""))
            return False
        if created:
            message = f"{folder.name}: deployed {definition.key} v{definition.version}"
            self.stdout.write(self.style.SUCCESS(message))
        else:
            self.stdout.write(f"{folder.name}: unchanged ({definition.key} v{definition.version})")
        for warning in definition.warnings if created else []:
            self.stdout.write(self.style.WARNING(f"  ! [{warning.get('code')}] {warning.get('message')}"))
        return True
