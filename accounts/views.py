"""Signing up, and the theme a visitor chooses (remembered in a cookie)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import login
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from accounts import registration
from accounts.context_processors import THEME_COOKIE, THEMES
from accounts.forms import SignUpForm
from ops.http import HtmxHttpRequest
from ops.query import QueryText, query_form, query_of
from scrobbler.demo import demo_sign_in


class SignInView(LoginView):
    """Django's sign-in page, saying how to try the demo in demo mode."""

    redirect_authenticated_user = True

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        return {**super().get_context_data(**kwargs), "demo_sign_in": demo_sign_in()}


class SignUpQuery(forms.Form):
    invite = QueryText(max_length=100)  # an emailed link's code


@require_http_methods(["GET", "POST"])
@query_form(SignUpQuery)
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    mode = registration.registration_mode()
    if mode == registration.CLOSED:
        # The page explains; a POST (a stale form, a script) is refused outright.
        status = 403 if request.method == "POST" else 200
        return render(request, "registration/signup.html", {"closed": True}, status=status)
    form = SignUpForm(
        request.POST or None,
        require_invite=mode == registration.INVITE,
        # An emailed link (?invite=CODE) arrives with the code filled in.
        initial={"invite": query_of(request)["invite"]},
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = registration.account_signup(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                invite_code=form.cleaned_data.get("invite", ""),
                time_zone=form.cleaned_data["time_zone"],
            )
        except registration.SignupRefused as exc:
            form.add_error("invite" if "invite" in form.fields else None, str(exc))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


@require_POST
def theme_set(request: HtmxHttpRequest) -> HttpResponse:
    """Remember the chosen theme in a cookie, so the server renders it and nothing flashes."""
    theme = request.POST.get("theme", "auto")
    if theme not in THEMES:
        return HttpResponse("Unknown theme.", status=400)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("home")
    response: HttpResponse = (
        HttpResponseClientRefresh() if request.htmx else HttpResponseRedirect(target)
    )
    response.set_cookie(THEME_COOKIE, theme, max_age=365 * 24 * 3600, samesite="Lax")
    return response
