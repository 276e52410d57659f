"""`manage.py provision_workspace NAME --channel KIND … --json`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.management.commands.seed_demo import print_provisioned
from ops.provisioning import workspace_provision
from pipeline.knowledge import knowledge_file_read
from workspaces.errors import DomainError
from workspaces.models import ChannelKind


class Command(BaseCommand):
    help = "Create a workspace with channels, an operator, a rep and an API token (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="Workspace name, e.g. 'Acme Solar'.")
        parser.add_argument(
            "--channel",
            action="append",
            required=True,
            choices=ChannelKind.values,
            dest="channels",
            help="A channel kind; repeat for several.",
        )
        parser.add_argument(
            "--knowledge", type=Path, help="JSONL: title, body, source_url per line."
        )
        parser.add_argument("--auto-send", action="store_true", help="Turn auto-send on.")
        parser.add_argument("--revision", action="store_true", help="Turn the revision loop on.")
        parser.add_argument("--password", help="Password for the operator and rep (default: none).")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args: Any, **options: Any) -> None:
        name = options["name"].strip()
        if not name:
            raise CommandError("The workspace name cannot be empty.")
        try:
            knowledge = knowledge_file_read(options["knowledge"]) if options["knowledge"] else None
            provisioned = workspace_provision(
                name=name,
                channel_kinds=list(dict.fromkeys(options["channels"])),
                knowledge=knowledge,
                auto_send=options["auto_send"],
                revision=options["revision"],
                password=options["password"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        print_provisioned(self, provisioned, options["json"])
