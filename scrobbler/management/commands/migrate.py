"""Django's migrate, without the statement timeout meant for requests: a migration may rewrite
or index a table of millions of plays."""

from __future__ import annotations

from typing import Any

from django.core.management.commands import migrate

from scrobbler.sql import long_queries


class Command(migrate.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        with long_queries(using=options["database"]):
            super().handle(*args, **options)
