from __future__ import annotations

from django.contrib.auth.forms import UserCreationForm

from scrobbler.models import User


class SignUpForm(UserCreationForm[User]):
    class Meta:
        model = User
        fields = ("username", "email")
