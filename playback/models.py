from __future__ import annotations

from django.conf import settings
from django.db import models

from scrobbler.models import Track


class LibraryFile(models.Model):
    """One audio file under MUSIC_ROOT as the last scan saw it, and the catalog track it plays.

    The path is kept as the raw bytes of the name relative to MUSIC_ROOT (file names need not be
    UTF-8); `path_key` is their SHA-1, which is what is unique (an index on arbitrary-length bytes
    is not portable). Clients never send paths: the media endpoint looks files up by track id."""

    path = models.BinaryField(help_text="Path relative to MUSIC_ROOT, as the filesystem's bytes")
    path_key = models.CharField(max_length=40, unique=True, help_text="SHA-1 of `path`")
    display_path = models.CharField(max_length=1000, help_text="`path` decoded for display")
    size = models.PositiveBigIntegerField()
    mtime_ns = models.BigIntegerField(help_text="Modification time the scan read the file at")
    track = models.ForeignKey(
        Track, null=True, blank=True, on_delete=models.PROTECT, related_name="library_files"
    )
    error = models.CharField(
        max_length=500, blank=True, help_text="Why the file could not be read (then it is skipped)"
    )
    audio_md5 = models.CharField(
        max_length=32, blank=True, help_text="STREAMINFO's MD5 of the decoded audio: finds renames"
    )
    # Tags as read (the catalog track may be a Spotify track with its own names).
    title = models.CharField(max_length=500, blank=True)
    artist = models.CharField(max_length=500, blank=True, help_text="Artists, joined for display")
    album = models.CharField(max_length=500, blank=True)
    album_artist = models.CharField(max_length=500, blank=True)
    track_number = models.PositiveSmallIntegerField(null=True, blank=True)
    disc_number = models.PositiveSmallIntegerField(null=True, blank=True)
    date = models.CharField(max_length=10, blank=True)
    genre = models.CharField(max_length=200, blank=True)
    isrc = models.CharField(max_length=12, blank=True)
    musicbrainz_track_id = models.CharField(max_length=36, blank=True)
    musicbrainz_album_id = models.CharField(max_length=36, blank=True)
    musicbrainz_artist_id = models.CharField(max_length=36, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    bits_per_sample = models.PositiveSmallIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    cover_key = models.CharField(
        max_length=40, blank=True, help_text="SHA-1 of the embedded cover image ('' = none)"
    )
    scanned_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["track"], name="libraryfile_track_idx")]

    def __str__(self) -> str:
        return self.display_path


class Device(models.Model):
    """A browser or app a user plays from; `client_id` is the id it generated and keeps."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="devices"
    )
    client_id = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    platform = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "client_id"], name="device_unique_client"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"


class PlaybackSession(models.Model):
    """A user's one playback session: what plays where. `position_ms` is the position at
    `changed_at`; while playing, the position now is projected from it."""

    class State(models.TextChoices):
        PLAYING = "playing"
        PAUSED = "paused"
        STOPPED = "stopped"

    class Repeat(models.TextChoices):
        OFF = "off"
        ONE = "one"
        ALL = "all"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="playback"
    )
    active_device = models.ForeignKey(
        Device, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Bumped whenever the active device changes: media tokens minted for an earlier speaker stop
    # working, even if the same device becomes active again.
    speaker_generation = models.PositiveIntegerField(default=0)
    track = models.ForeignKey(
        Track, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.STOPPED)
    position_ms = models.PositiveIntegerField(default=0)
    changed_at = models.DateTimeField()
    revision = models.PositiveBigIntegerField(default=0)
    shuffle = models.BooleanField(default=False)
    repeat = models.CharField(max_length=3, choices=Repeat.choices, default=Repeat.OFF)
    # The current track's listen so far, recorded as a play when another track starts or it ends.
    listen_started_at = models.DateTimeField(null=True, blank=True)
    listened_ms = models.PositiveIntegerField(default=0)
    # The queue entry playing, and with shuffle on, the order entries play in (ids; the
    # permutation stays as it is until shuffle is switched on again).
    current_item = models.ForeignKey(
        "QueueItem", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    shuffle_order = models.JSONField(default=list, blank=True)

    def __str__(self) -> str:
        return f"Playback of {self.user}"


class ControlRequest(models.Model):
    """A control a device sent, by the id it gave it: a retried request is applied once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    event_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "event_id"], name="controlrequest_unique"),
        ]
        indexes = [models.Index(fields=["created_at"], name="controlrequest_age_idx")]

    def __str__(self) -> str:
        return f"{self.event_id} of {self.user}"


class QueueItem(models.Model):
    """One entry of a user's play queue, in `position` order (the same track may be queued
    more than once)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    track = models.ForeignKey(Track, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        indexes = [models.Index(fields=["user", "position"], name="queueitem_order_idx")]

    def __str__(self) -> str:
        return f"{self.position}: {self.track} for {self.user}"
