from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.forms import UserCreationForm
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from accounts import account, registration
from scrobbler.models import PollMode, User


class SignUpForm(UserCreationForm[User]):
    """The account's fields; with `require_invite` (REGISTRATION=invite) an invite code too."""

    class Meta:
        model = User
        fields = ("username", "email")

    # The browser's zone, filled in by static/js/timezone.js; empty without JavaScript (UTC then).
    time_zone = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)

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

    def clean_time_zone(self) -> str:
        # A zone tzdata does not know (an odd browser) is dropped, not an error to show.
        zone: str = self.cleaned_data.get("time_zone") or ""
        return zone if zone in account.time_zones() else "UTC"

    def clean_invite(self) -> str:
        # Checked here too so every problem shows at once; account_signup's redemption is what
        # actually decides, since another sign-up may spend the invite after this check.
        code: str = self.cleaned_data["invite"]
        if (refusal := registration.invite_refusal(code=code)) is not None:
            raise forms.ValidationError(refusal)
        return code


# --- Account settings (accounts.account) --------------------------------------------------------


class LongSelect(forms.Select):
    """A select rendered without a template per option: the 600 time zones took 60 ms so."""

    def render(
        self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None
    ) -> SafeString:
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (choice, mark_safe(" selected") if str(choice) == str(value) else "", label)
                for choice, label in self.choices
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>',
            name,
            flatatt(self.build_attrs(self.attrs, attrs)),
            options,
        )


class TimeZoneForm(forms.Form):
    time_zone = forms.ChoiceField(
        widget=LongSelect,
        label="Time zone",
        help_text="The dashboard counts your days, weeks and hours in this zone.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["time_zone"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(zone, zone) for zone in account.time_zones()]


class ThresholdsForm(forms.Form):
    play_min_seconds = forms.IntegerField(
        label="Seconds",
        required=False,
        min_value=account.PLAY_MIN_SECONDS_RANGE[0],
        max_value=account.PLAY_MIN_SECONDS_RANGE[1],
    )
    play_min_percent = forms.IntegerField(
        label="Percent of the track",
        required=False,
        min_value=account.PLAY_MIN_PERCENT_RANGE[0],
        max_value=account.PLAY_MIN_PERCENT_RANGE[1],
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        seconds = f"{settings.PLAY_MIN_MS / 1000:g}"
        ratio = settings.PLAY_MIN_RATIO
        percent = f"{ratio * 100:g}" if ratio is not None else ""
        self.fields["play_min_seconds"].widget.attrs["placeholder"] = seconds
        self.fields["play_min_seconds"].help_text = (
            f"From {account.PLAY_MIN_SECONDS_RANGE[0]} to {account.PLAY_MIN_SECONDS_RANGE[1]}; "
            f"blank: this server's default, {seconds} s."
        )
        self.fields["play_min_percent"].widget.attrs["placeholder"] = percent or "off"
        self.fields["play_min_percent"].help_text = (
            f"From {account.PLAY_MIN_PERCENT_RANGE[0]} to {account.PLAY_MIN_PERCENT_RANGE[1]}; "
            + (f"blank: this server's default, {percent} %." if percent else "blank: off.")
        )


class ShareStatsForm(forms.Form):
    share_stats = forms.BooleanField(
        label="Count my listening in the Global stats page, anonymously", required=False
    )


class PollModeForm(forms.Form):
    poll_mode = forms.ChoiceField(label="Polling mode", choices=PollMode.choices)


class AccountDeleteForm(forms.Form):
    """Deleting is confirmed twice: the password (it is the owner) and the username (on purpose)."""

    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    username = forms.CharField(
        label="Your username, typed out",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self) -> str:
        password: str = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError("That is not your password.")
        return password

    def clean_username(self) -> str:
        username: str = self.cleaned_data["username"]
        if username != self.user.username:
            raise forms.ValidationError(f"Type {self.user.username} exactly.")
        return username
