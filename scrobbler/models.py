from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class User(AbstractUser):
    """An Encore account. `public_id` is what URLs and exports show; the integer pk stays inside."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    time_zone = models.CharField(
        max_length=64, default="UTC", help_text="IANA zone the dashboard counts days and hours in"
    )
    share_stats = models.BooleanField(
        default=False, help_text="Counted in the public global stats (opt-in)"
    )
    play_min_seconds = models.PositiveIntegerField(
        null=True, blank=True, help_text="A listen counts as a play after this long (default 30 s)"
    )
    play_min_percent = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="…or after this share of the track, whichever comes first (default: off)",
    )


class Pictured(models.Model):
    """A downloaded copy of `image_url` (scrobbler.pictures): stored under PICTURES_DIR by
    `picture_key`, so pages never send the browser to a third party."""

    # Database defaults: the catalog is written with raw upserts too (scrobbler.sql).
    picture_key = models.CharField(
        max_length=40,
        blank=True,
        db_default="",
        help_text="SHA-1 of the downloaded image_url; empty: none yet",
    )
    picture_attempts = models.PositiveSmallIntegerField(
        db_default=0, help_text="Failed downloads of image_url so far"
    )
    picture_retry_at = models.DateTimeField(
        null=True, blank=True, help_text="No new download attempt before this"
    )

    class Meta:
        abstract = True
        # The pictures worker's look-up of what is still missing (few rows once caught up).
        indexes = [
            models.Index(
                fields=["id"], condition=Q(picture_key=""), name="%(class)s_picture_missing"
            )
        ]


class Artist(Pictured):
    uri = models.CharField(
        max_length=100, unique=True, help_text="spotify:artist:… or local:<sha1>"
    )
    name = models.CharField(max_length=500)
    image_url = models.URLField(max_length=500, blank=True)
    details_fetched_at = models.DateTimeField(
        null=True, blank=True, help_text="When Spotify's full artist object was last fetched"
    )

    def __str__(self) -> str:
        return self.name


class Album(Pictured):
    uri = models.CharField(max_length=100, unique=True, help_text="spotify:album:… or local:<sha1>")
    name = models.CharField(max_length=500)
    artists = models.ManyToManyField(Artist, related_name="albums", blank=True)
    release_date = models.CharField(
        max_length=10, blank=True, help_text="YYYY, YYYY-MM or YYYY-MM-DD, as precise as known"
    )
    image_url = models.URLField(max_length=500, blank=True)
    details_fetched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class Track(models.Model):
    uri = models.CharField(max_length=100, unique=True, help_text="spotify:track:… or local:<sha1>")
    name = models.CharField(max_length=500)
    album = models.ForeignKey(
        Album, null=True, blank=True, on_delete=models.SET_NULL, related_name="tracks"
    )
    artists: models.ManyToManyField[Artist, TrackArtist] = models.ManyToManyField(
        Artist, through="TrackArtist", related_name="tracks"
    )
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    isrc = models.CharField(max_length=12, blank=True)
    name_key = models.CharField(
        max_length=50,
        blank=True,
        db_index=True,
        help_text="local:<sha1(first artist|title)>: how exports without URIs find this track",
    )
    details_fetched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name


class TrackArtist(models.Model):
    """A track's artists in credit order."""

    track = models.ForeignKey(Track, on_delete=models.CASCADE)
    artist = models.ForeignKey(Artist, on_delete=models.CASCADE)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["track", "position"]
        constraints = [
            models.UniqueConstraint(fields=["track", "artist"], name="trackartist_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.artist} on {self.track}"


class PlayQuerySet(models.QuerySet["Play"]):
    def for_user(self, user: User) -> PlayQuerySet:
        return self.filter(user=user)

    def between(self, start: object, end: object) -> PlayQuerySet:
        """Plays that ended in [start, end)."""
        return self.filter(ended_at__gte=start, ended_at__lt=end)

    def counted(self) -> PlayQuerySet:
        return self.filter(counted=True)


class Play(models.Model):
    """One listen of one track by one user."""

    class Source(models.TextChoices):
        LIVE = "live", "Live (currently playing)"
        HISTORY = "history", "Spotify recently played"
        IMPORT = "import", "Imported export"
        ACCOUNT = "account", "Imported Account Data (end time to the minute)"
        LOCAL = "local", "Local library"

    # The keys are enforced by Django (on_delete), not by database constraints: checking them
    # in the database doubles the time a million-play import takes (PostgreSQL locks the
    # referenced row once per inserted row). `user` needs no index of its own: the composite
    # ones below start with it.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="plays",
        db_index=False,
        db_constraint=False,
    )
    track = models.ForeignKey(
        Track, on_delete=models.PROTECT, related_name="plays", db_constraint=False
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    ms_played = models.PositiveIntegerField()
    source = models.CharField(max_length=10, choices=Source.choices)
    counted = models.BooleanField(help_text="Heard long enough to count as a play")
    skipped = models.BooleanField(default=False)

    objects = PlayQuerySet.as_manager()

    class Meta:
        constraints = [
            # The same listen can never be recorded twice, whichever path reports it.
            models.UniqueConstraint(
                fields=["user", "track", "ended_at"], name="play_unique_listen"
            ),
            models.CheckConstraint(
                condition=Q(started_at__lte=F("ended_at")), name="play_starts_before_it_ends"
            ),
        ]
        indexes = [models.Index(fields=["user", "-ended_at"], name="play_user_recent_idx")]

    def __str__(self) -> str:
        return f"{self.user}: {self.track} at {self.ended_at:%Y-%m-%d %H:%M}"


class PollMode(models.TextChoices):
    HISTORY = "history", "History (recently played)"
    REALTIME = "realtime", "Realtime (currently playing)"
    HYBRID = "hybrid", "Hybrid (both)"


class FailureKind(models.TextChoices):
    AUTH = "auth", "Authorization"
    NETWORK = "network", "Network or Spotify outage"
    RATE_LIMIT = "rate_limit", "Rate limited"
    UNKNOWN = "unknown", "Unknown"


class SpotifyAccount(models.Model):
    """A user's link to Spotify: encrypted tokens, the link's health and its polling state."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Linked"
        NEEDS_RELINK = "needs_relink", "Needs re-linking"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="spotify_account"
    )
    spotify_user_id = models.CharField(max_length=100, unique=True)
    display_name = models.CharField(max_length=200, blank=True)
    # Fernet ciphertexts (scrobbler.spotify.crypto); never the tokens themselves.
    access_token_encrypted = models.TextField()
    refresh_token_encrypted = models.TextField()
    access_token_expires_at = models.DateTimeField()
    scope = models.CharField(max_length=500, blank=True)
    consented_at = models.DateTimeField(help_text="When the user last granted access on Spotify")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    status_detail = models.CharField(max_length=300, blank=True)
    # Slots 1..SPOTIFY_LINK_CAP make the cap a database fact: two simultaneous links cannot take
    # the same slot. Accounts admitted past the cap by an admin have none.
    slot = models.PositiveSmallIntegerField(null=True, blank=True, unique=True)
    linked_at = models.DateTimeField(auto_now_add=True)

    # --- Polling (scrobbler.polling) ---------------------------------------------------------
    poll_mode = models.CharField(max_length=10, choices=PollMode.choices, default=PollMode.HYBRID)
    polling_paused = models.BooleanField(default=False, help_text="Paused by the user or an admin")
    # When each endpoint is next due; a poll is claimed once the earlier of the two has passed.
    realtime_due_at = models.DateTimeField(default=timezone.now)
    history_due_at = models.DateTimeField(default=timezone.now)
    next_poll_at = models.DateTimeField(default=timezone.now)
    # A worker owns the account's poll until this time; any worker may claim it after that.
    claimed_until = models.DateTimeField(null=True, blank=True)
    history_cursor_ms = models.BigIntegerField(
        null=True, blank=True, help_text="recently-played `after` cursor: newest played_at seen"
    )
    tracking_state = models.JSONField(default=dict, blank=True)
    last_poll_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    failure_kind = models.CharField(max_length=12, choices=FailureKind.choices, blank=True)
    failure_count = models.PositiveIntegerField(default=0, help_text="Consecutive failed polls")
    last_error = models.CharField(max_length=300, blank=True)
    playlists_scanned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["next_poll_at"],
                condition=Q(status="active", polling_paused=False),
                name="spotifyaccount_due_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} as {self.display_name or self.spotify_user_id}"


class SpotifyWaitlistEntry(models.Model):
    """A user who could not link Spotify because every slot was taken."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="spotify_waitlist_entry"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    admitted_at = models.DateTimeField(
        null=True, blank=True, help_text="Admitted by an admin: may link even past the cap"
    )

    class Meta:
        verbose_name_plural = "Spotify waitlist"

    def __str__(self) -> str:
        return f"{self.user} ({'admitted' if self.admitted_at else 'waiting'})"


class Playlist(models.Model):
    """A Spotify playlist of one user's, as of its last scan."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playlists"
    )
    spotify_id = models.CharField(max_length=22)
    name = models.CharField(max_length=500)
    snapshot_id = models.CharField(max_length=200, blank=True)
    scanned_at = models.DateTimeField()
    tracks: models.ManyToManyField[Track, PlaylistItem] = models.ManyToManyField(
        Track, through="PlaylistItem", related_name="playlists"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "spotify_id"], name="playlist_unique_per_user")
        ]

    def __str__(self) -> str:
        return self.name


class PlaylistItem(models.Model):
    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="items")
    track = models.ForeignKey(Track, on_delete=models.CASCADE)
    position = models.PositiveIntegerField()
    added_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["playlist", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["playlist", "position"], name="playlistitem_unique_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.playlist} #{self.position}"


INVITE_DAYS = 14


def invite_default_expiry() -> datetime:
    return timezone.now() + timedelta(days=INVITE_DAYS)


class InviteQuerySet(models.QuerySet["Invite"]):
    def redeemable(self, *, now: datetime) -> InviteQuerySet:
        return self.filter(used_at__isnull=True, expires_at__gt=now)

    def used(self) -> InviteQuerySet:
        return self.filter(used_at__isnull=False)

    def expired(self, *, now: datetime) -> InviteQuerySet:
        return self.filter(used_at__isnull=True, expires_at__lte=now)


class Invite(models.Model):
    """Permission for one person to sign up while REGISTRATION=invite (accounts.registration).

    Only the SHA-256 of the code is stored, like a password-reset token: the code itself is shown
    once, when the invite is made, and a copy of the database cannot be used to sign up.
    """

    class Status(models.TextChoices):
        UNUSED = "unused", "Unused"
        USED = "used", "Used"
        EXPIRED = "expired", "Expired"

    code_hash = models.CharField(max_length=64, unique=True, editable=False)
    note = models.CharField(
        max_length=200, blank=True, help_text="Who it is for, e.g. a name or an email address"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invites_created",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=invite_default_expiry)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invites_used",
    )
    used_at = models.DateTimeField(null=True, blank=True)

    objects = InviteQuerySet.as_manager()

    class Meta:
        constraints = [
            # used_by may be emptied later (the account deleted), but never set without used_at.
            models.CheckConstraint(
                condition=Q(used_by__isnull=True) | Q(used_at__isnull=False),
                name="invite_used_by_has_used_at",
            ),
        ]

    def __str__(self) -> str:
        return f"Invite #{self.pk}" + (f" ({self.note})" if self.note else "")

    def status_at(self, now: datetime) -> Invite.Status:
        if self.used_at is not None:
            return Invite.Status.USED
        if self.expires_at <= now:
            return Invite.Status.EXPIRED
        return Invite.Status.UNUSED


class TrackLike(models.Model):
    """A track the user marked as liked (favourites also include tracks played often enough)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="likes"
    )
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="likes")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "track"], name="tracklike_unique")]

    def __str__(self) -> str:
        return f"{self.user} likes {self.track}"


# --- Dashboard rollups (scrobbler.rollups) -------------------------------------------------------
# Derived from plays, so never edited by hand: rollups.rollups_refresh() rebuilds what a change to
# plays made stale. Days and hours are the user's local ones in RollupState.time_zone.


class ListeningHour(models.Model):
    """What one user heard in one local hour of one local day."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    # Days since 1970-01-01 rather than a date: the rollup computes it with integer arithmetic
    # that SQLite and PostgreSQL share (localtime.day_number converts).
    day = models.IntegerField(help_text="Local day, as days since 1970-01-01")
    hour = models.PositiveSmallIntegerField()
    weekday = models.PositiveSmallIntegerField(help_text="0 = Monday")
    listens = models.PositiveIntegerField(help_text="Every listen, counted or not")
    plays = models.PositiveIntegerField(help_text="Listens heard long enough to count")
    skips = models.PositiveIntegerField()
    ms_played = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "day", "hour"], name="listeninghour_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: day {self.day} hour {self.hour}"


class EntityKind(models.IntegerChoices):
    TRACK = 1, "track"
    ARTIST = 2, "artist"
    ALBUM = 3, "album"


class EntityMonth(models.Model):
    """One user's listening of one track, artist or album in one local month."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    kind = models.PositiveSmallIntegerField(choices=EntityKind.choices)
    entity_id = models.BigIntegerField()
    month = models.DateField(help_text="The month's first day")
    listens = models.PositiveIntegerField()
    plays = models.PositiveIntegerField()
    skips = models.PositiveIntegerField()
    ms_played = models.BigIntegerField()
    first_at = models.DateTimeField(null=True, help_text="First counted play in the month")
    last_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "kind", "entity_id", "month"], name="entitymonth_unique"
            )
        ]
        indexes = [
            # Tops over a range of months read only this index on PostgreSQL.
            models.Index(
                fields=["user", "kind", "month"],
                include=["entity_id", "plays", "ms_played", "listens", "skips"],
                name="entitymonth_range_idx",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.get_kind_display()} {self.entity_id} in {self.month:%Y-%m}"


class EntityTotal(models.Model):
    """One user's all-time listening of one track, artist or album."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    kind = models.PositiveSmallIntegerField(choices=EntityKind.choices)
    entity_id = models.BigIntegerField()
    listens = models.PositiveIntegerField()
    plays = models.PositiveIntegerField()
    skips = models.PositiveIntegerField()
    ms_played = models.BigIntegerField()
    first_at = models.DateTimeField(null=True, help_text="First counted play ever")
    last_at = models.DateTimeField(null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "entity_id"], name="entitytotal_unique")
        ]
        indexes = [
            models.Index(fields=["user", "kind", "-plays"], name="entitytotal_top_idx"),
            models.Index(fields=["user", "kind", "first_at"], name="entitytotal_first_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.get_kind_display()} {self.entity_id}"


class ListeningSession(models.Model):
    """Listens with less than rollups.SESSION_GAP between one's end and the next one's start."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    listens = models.PositiveIntegerField()
    ms_played = models.BigIntegerField(help_text="Time heard")
    duration_ms = models.BigIntegerField(help_text="From the first start to the last end")

    class Meta:
        indexes = [models.Index(fields=["user", "started_at"], name="session_user_start_idx")]

    def __str__(self) -> str:
        return f"{self.user_id}: session from {self.started_at:%Y-%m-%d %H:%M}"


class RollupState(models.Model):
    """Per user: which zone the rollups were built in, and a version bumped by every refresh."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True
    )
    time_zone = models.CharField(max_length=64, blank=True)
    version = models.PositiveBigIntegerField(default=0)
    refreshed_at = models.DateTimeField(null=True)

    def __str__(self) -> str:
        return f"{self.user_id}: rollups v{self.version} in {self.time_zone}"


class RollupDirty(models.Model):
    """Plays ending in [since, until] changed; written in the same transaction as the change."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_constraint=False
    )
    since = models.DateTimeField()
    until = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user_id}: plays {self.since} to {self.until} changed"
