from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import UserCreationForm

from scrobbler import registration
from scrobbler.models import User


class SignUpForm(UserCreationForm[User]):
    """The account's fields; with `require_invite` (REGISTRATION=invite) an invite code too."""

    class Meta:
        model = User
        fields = ("username", "email")

    def __init__(self, *args: Any, require_invite: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if require_invite:
            self.fields["invite"] = forms.CharField(
                label="Invite code",
                max_length=100,
                help_text="From the invitation you were sent.",
                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
            )
            self.order_fields(["invite"])

    def clean_invite(self) -> str:
        # Checked here too so every problem shows at once; account_signup's redemption is what
        # actually decides, since another sign-up may spend the invite after this check.
        code: str = self.cleaned_data["invite"]
        if (refusal := registration.invite_refusal(code=code)) is not None:
            raise forms.ValidationError(refusal)
        return code
