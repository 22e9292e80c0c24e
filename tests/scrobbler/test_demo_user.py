"""The demo user command (demo mode only)."""

from __future__ import annotations

import pytest
from pytest_django import Settings

from scrobbler.models import Play, User

pytestmark = pytest.mark.django_db


def test_demo_user_command_creates_demo_once() -> None:
    from django.core.management import call_command

    call_command("demo_user")
    call_command("demo_user")
    demo = User.objects.get(username="demo")
    assert demo.check_password("demo")
    assert not demo.is_staff
    assert Play.objects.count() == 0


def test_demo_user_command_is_refused_outside_demo_mode(settings: Settings) -> None:
    from django.core.management import CommandError, call_command

    settings.DEMO_MODE = False
    with pytest.raises(CommandError, match="demo mode"):
        call_command("demo_user")
    assert not User.objects.filter(username="demo").exists()
