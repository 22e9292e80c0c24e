from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_models_and_migrations_agree() -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_every_setting_read_from_the_environment_is_documented() -> None:
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    read = set()
    for source in [*root.glob("config/*.py")]:
        text = source.read_text()
        read |= set(re.findall(r'env\.\w+\(\s*"([A-Z][A-Z0-9_]+)"', text))
        read |= set(re.findall(r'secret\(\s*env,\s*"([A-Z][A-Z0-9_]+)"', text))
        read |= set(re.findall(r'os\.environ\.get\(\s*"([A-Z][A-Z0-9_]+)"', text))
    documented = set(
        re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", (root / ".env.example").read_text(), re.M)
    )
    assert read, "found no settings: the pattern is out of date"
    assert read - documented == set(), "document these in .env.example"
