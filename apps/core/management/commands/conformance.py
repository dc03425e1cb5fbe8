"""`manage.py conformance`: run betsy and the MIWG models through the engine layer and print the score."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from bpmn.conformance import files, report, suite


class Command(BaseCommand):
    help = "Run the BPMN conformance suites (betsy, invalid models, MIWG) and print per-test results and totals."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dir", help=f"corpus folder (default: ${suite.ENV_DIR} or ../shared/conformance)")
        parser.add_argument("--write", action="store_true", help="write var/conformance.json and the summary")
        parser.add_argument("--write-docs", action="store_true", help="also regenerate docs/bpmn-support.md")
        parser.add_argument("--quiet", action="store_true", help="totals only")
        parser.add_argument("--check-floors", action="store_true", help="fail when a figure is below its floor")

    def handle(self, *args: Any, **options: Any) -> None:
        project = Path(settings.BASE_DIR)
        root = Path(options["dir"]) if options["dir"] else suite.corpus_dir(project)
        if not (root / "betsy" / "expected.json").is_file():
            raise CommandError(f"no conformance corpus at {root} (set --dir or ${suite.ENV_DIR})")
        results = suite.run(root)
        for line in report.console_lines(results, verbose=not options["quiet"]):
            self.stdout.write(line)
        if options["write"] or options["write_docs"]:
            for path in files.write_all(project, results, docs=options["write_docs"]):
                self.stdout.write(f"wrote {path}")
        if options["check_floors"]:
            failures = suite.below_floors(results["figures"], files.read_json(project / files.FLOORS))
            if failures:
                raise CommandError("below the conformance floors: " + "; ".join(failures))
