from __future__ import annotations

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from scrobbler import dashboard_views, registration, stats, system
from scrobbler import favourites as favourites_service
from scrobbler.context_processors import THEME_COOKIE, THEMES
from scrobbler.forms import SignUpForm
from scrobbler.http import signed_in_user
from scrobbler.models import EntityKind, JobRun, Track

JOB_RUNS_SHOWN = 10


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The welcome page, or for a signed-in user the dashboard's overview."""
    if not request.user.is_authenticated:
        return render(request, "scrobbler/welcome.html")
    return dashboard_views.overview(request)


@require_http_methods(["GET", "POST"])
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
        initial={"invite": request.GET.get("invite", "")},
    )
    if request.method == "POST" and form.is_valid():
        try:
            user = registration.account_signup(
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                invite_code=form.cleaned_data.get("invite", ""),
            )
        except registration.SignupRefused as exc:
            form.add_error("invite" if "invite" in form.fields else None, str(exc))
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("home")
    return render(request, "registration/signup.html", {"form": form})


@require_POST
def theme_set(request: HttpRequest) -> HttpResponse:
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
        HttpResponseClientRefresh()
        if request.headers.get("HX-Request")
        else HttpResponseRedirect(target)
    )
    response.set_cookie(THEME_COOKIE, theme, max_age=365 * 24 * 3600, samesite="Lax")
    return response


@require_GET
@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """The process is alive (no dependencies checked: that is /readyz)."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readyz(request: HttpRequest) -> HttpResponse:
    parts = system.readiness()
    failing = [part.name for part in parts if not part.ok]
    body = {
        "status": "ok" if not failing else "unavailable",
        "failing": failing,
        "parts": {part.name: {"ok": part.ok, "detail": part.detail} for part in parts},
    }
    return JsonResponse(body, status=503 if failing else 200)


@require_GET
@staff_member_required
def system_status(request: HttpRequest) -> HttpResponse:
    context = {
        "parts": system.readiness(),
        "job_runs": JobRun.objects.order_by("-created_at")[:JOB_RUNS_SHOWN],
    }
    template = (
        "scrobbler/system.html#job-runs"
        if request.headers.get("HX-Request")
        else "scrobbler/system.html"
    )
    return render(request, template, context)


@require_POST
@staff_member_required
def worker_check(request: HttpRequest) -> HttpResponse:
    system.worker_check_request()
    return redirect("system-status")


@require_GET
@login_required
def favourites(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    page = Paginator(favourites_service.favourite_tracks(user), 100).get_page(
        request.GET.get("page")
    )
    page.object_list = list(page.object_list)
    stats.entities_attach(EntityKind.TRACK, page.object_list)
    liked = favourites_service.liked_track_ids(user, [row.entity_id for row in page.object_list])
    for row in page.object_list:
        row.liked = row.entity_id in liked  # type: ignore[attr-defined]
    context = {
        "page": page,
        "unplayed": favourites_service.liked_unplayed(user) if page.number == 1 else [],
        "threshold": settings.FAVORITE_THRESHOLD,
    }
    return render(request, "scrobbler/favourites.html", context)


@require_POST
@login_required
def track_like(request: HttpRequest, track_id: int) -> HttpResponse:
    return _set_like(request, track_id, liked=True)


@require_POST
@login_required
def track_unlike(request: HttpRequest, track_id: int) -> HttpResponse:
    return _set_like(request, track_id, liked=False)


def _set_like(request: HttpRequest, track_id: int, *, liked: bool) -> HttpResponse:
    track = get_object_or_404(Track, pk=track_id)
    if liked:
        favourites_service.track_like(user=signed_in_user(request), track=track)
    else:
        favourites_service.track_unlike(user=signed_in_user(request), track=track)
    if request.headers.get("HX-Request"):
        context = {"track_id": track.pk, "liked": liked}
        return render(request, "scrobbler/partials/like_button.html", context)
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("favourites")
    return HttpResponseRedirect(target)
