"""`manage.py seed_demo --json`: the demo workspace, created once."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ops.provisioning import DEMO_PASSWORD, Provisioned, demo_seed
from workspaces.errors import DomainError


def print_provisioned(command: BaseCommand, provisioned: Provisioned, as_json: bool) -> None:
    data = provisioned.as_json()
    if as_json:
        command.stdout.write(json.dumps(data))
        return
    command.stdout.write(f"Workspace {provisioned.workspace.name} ({data['workspace_id']})")
    command.stdout.write(f"  API token: {data['api_token']}")
    for channel in data["channels"]:
        command.stdout.write(
            f"  {channel['kind']:5} webhook {channel['webhook_url']}  secret {channel['secret']}"
        )


class Command(BaseCommand):
    help = "Create the demo workspace (Demo Co) once; later runs print the same details."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument(
            "--print-logins",
            action="store_true",
            help="Also print the demo logins (only when DEBUG is on).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            provisioned = demo_seed()
        except DomainError as exc:
            raise CommandError(exc.message) from None
        print_provisioned(self, provisioned, options["json"])
        if options["print_logins"] and not options["json"]:
            if settings.DEBUG:
                self.stdout.write(f"Demo logins (password for all three: {DEMO_PASSWORD}):")
                self.stdout.write("  operator@demo.test  operator: reviews drafts")
                self.stdout.write("  rep@demo.test       rep: owns the demo leads' proposals")
                self.stdout.write("  admin@demo.test     super-admin: /ops/ and /admin/")
            else:
                self.stdout.write("Demo logins are shown only when DEBUG is on.")
