"""Encore's settings: read from the environment only (.env in development; see .env.example)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import django_stubs_ext
import environ

from config.env import ConfigError, database_from_url, env_file, fernet_keys, secret

django_stubs_ext.monkeypatch()  # generic admin/forms/querysets at run time, for mypy

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if (dotenv := env_file()) is not None:
    environ.Env.read_env(dotenv)  # never overrides variables already in the environment

DEBUG = env.bool("DEBUG", default=False)
DATA_DIR = Path(env.str("DATA_DIR", default="") or BASE_DIR / "var").resolve()
SECRET_KEY = secret(env, "SECRET_KEY")
if len(SECRET_KEY) < 32:
    raise ConfigError("SECRET_KEY is too short: use at least 32 random characters")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Registration --------------------------------------------------------------------------
# Who may create an account: anyone (open), holders of an invite code (invite) or nobody (closed).
REGISTRATION_MODES = ("open", "invite", "closed")
REGISTRATION = env.str("REGISTRATION", default="open")
if REGISTRATION not in REGISTRATION_MODES:
    raise ConfigError(f"REGISTRATION must be open, invite or closed (got {REGISTRATION!r})")

# --- Spotify -------------------------------------------------------------------------------
# Without a client id Encore runs in demo mode, against the bundled Spotify simulator.
_spotify_client_id = env.str("SPOTIFY_CLIENT_ID", default="")
DEMO_MODE = not _spotify_client_id
SPOTIFY_CLIENT_ID = _spotify_client_id or "encore-demo"  # the simulator accepts any client id
SPOTIFY_CLIENT_SECRET = secret(env, "SPOTIFY_CLIENT_SECRET", default="" if DEMO_MODE else None)
# Empty: built from the request (demo mode); Spotify needs the exact URI registered for the app.
SPOTIFY_REDIRECT_URI = env.str("SPOTIFY_REDIRECT_URI", default="")
if not DEMO_MODE and not SPOTIFY_REDIRECT_URI:
    raise ConfigError("SPOTIFY_REDIRECT_URI is not set: it is required with SPOTIFY_CLIENT_ID")
# The port scripts/run serves on; in demo mode the bundled simulator is mounted there. (Not PORT:
# process managers such as honcho give each process a PORT of its own.)
WEB_PORT = env.int("WEB_PORT", default=8000)
_simulator_url = f"http://127.0.0.1:{WEB_PORT}/spotify-sim"
SPOTIFY_API_BASE_URL = env.str("SPOTIFY_API_BASE_URL", default="") or (
    f"{_simulator_url}/v1" if DEMO_MODE else "https://api.spotify.com/v1"
)
SPOTIFY_ACCOUNTS_BASE_URL = env.str("SPOTIFY_ACCOUNTS_BASE_URL", default="") or (
    f"{_simulator_url}/accounts" if DEMO_MODE else "https://accounts.spotify.com"
)
# Spotify development-mode apps allow 5 users; raise it once the app has extended quota.
SPOTIFY_LINK_CAP = env.int("SPOTIFY_LINK_CAP", default=5)
# Fernet keys for Spotify tokens at rest, newest first (comma separated); older keys still decrypt
# until `manage.py rotate_token_key` has re-encrypted everything with the newest.
# Make one: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key())'
# In demo mode, unset means a key derived from SECRET_KEY.
TOKEN_ENCRYPTION_KEYS = fernet_keys(
    secret(env, "TOKEN_ENCRYPTION_KEYS", default="" if DEMO_MODE else None), fallback=SECRET_KEY
)
# The bundled Spotify simulator: mounted at /spotify-sim/ in this process (default: in demo mode),
# with a real clock or a simulated one that its control API sets and advances.
SPOTIFY_SIMULATOR = env.bool("SPOTIFY_SIMULATOR", default=DEMO_MODE)
SPOTIFY_SIMULATOR_CLOCK = env.str("SPOTIFY_SIMULATOR_CLOCK", default="real")
# Its control API (every simulated account's tokens and request logs, the clock, faults) answers
# signed-in staff only; true opens it to anyone, for tests and benchmarks (config/simulator.py).
SPOTIFY_SIMULATOR_CONTROL_OPEN = env.bool("SPOTIFY_SIMULATOR_CONTROL_OPEN", default=False)
if SPOTIFY_SIMULATOR_CLOCK not in ("real", "simulated"):
    raise ConfigError("SPOTIFY_SIMULATOR_CLOCK must be real or simulated")

# --- Polling and play counting --------------------------------------------------------------
POLL_REALTIME_SECONDS = env.float("POLL_REALTIME_SECONDS", default=5.0)
# In demo mode history is polled often, so the simulator's plays show up quickly.
POLL_HISTORY_SECONDS = env.float("POLL_HISTORY_SECONDS", default=30.0 if DEMO_MODE else 300.0)
POLL_BATCH_SIZE = env.int("POLL_BATCH_SIZE", default=500)
POLL_CONCURRENCY = env.int("POLL_CONCURRENCY", default=24)
PLAY_MIN_MS = env.int("PLAY_MIN_MS", default=30_000)
# Optionally, a play also counts once this share of the track was heard (e.g. 0.5); unset: off.
PLAY_MIN_RATIO = env.float("PLAY_MIN_RATIO", default=None)
# A track becomes a favourite once it has this many counted plays (or when the user likes it).
FAVORITE_THRESHOLD = env.int("FAVORITE_THRESHOLD", default=10)
# A folder: the live poller writes what it sees there, one JSON-lines log per account, for
# `manage.py replay_polls`. Empty: no logs (they hold listening history: opt in knowingly).
SPOTIFY_POLL_LOG_DIR = env.str("SPOTIFY_POLL_LOG_DIR", default="")
# Missing artist images, album covers and release dates: how many to fetch per run, how often.
METADATA_BATCH_SIZE = env.int("METADATA_BATCH_SIZE", default=20)
METADATA_INTERVAL_SECONDS = env.float("METADATA_INTERVAL_SECONDS", default=60.0)
# Album and artist pictures (image_url) are downloaded, resized and stored here, a few per run,
# and served by Encore itself: the browser never asks a third party (scrobbler.pictures).
PICTURES_DIR = Path(env.str("PICTURES_DIR", default=str(DATA_DIR / "pictures")))
PICTURES_INTERVAL_SECONDS = env.float("PICTURES_INTERVAL_SECONDS", default=60.0)
PICTURES_BATCH_SIZE = env.int("PICTURES_BATCH_SIZE", default=20)
PICTURES_TIMEOUT_SECONDS = env.float("PICTURES_TIMEOUT_SECONDS", default=10.0)
PICTURES_MAX_KB = env.int("PICTURES_MAX_KB", default=4096)
# A picture that failed this often is not tried again (the waits between tries double).
PICTURES_MAX_ATTEMPTS = env.int("PICTURES_MAX_ATTEMPTS", default=5)
# The only hosts pictures are fetched from (https), besides SPOTIFY_API_BASE_URL's own host (the
# simulator in demo mode): a hostile image_url cannot make the worker fetch internal URLs.
PICTURES_ALLOWED_HOSTS = env.list(
    "PICTURES_ALLOWED_HOSTS",
    default=[
        "i.scdn.co",
        "mosaic.scdn.co",
        "image-cdn-ak.spotifycdn.com",
        "image-cdn-fa.spotifycdn.com",
    ],
)

# --- Imports -------------------------------------------------------------------------------
# Uploads wait here between analysis and import (web and workers must share it when scaled out).
IMPORT_DIR = Path(env.str("IMPORT_DIR", default=str(DATA_DIR / "imports")))
# Caps that keep hostile uploads harmless: one upload, one file decoded whole (Spotify's are about
# 12 MB), everything in one upload uncompressed, ZIP entries, and ZIP compression ratio (real
# exports compress about 10:1).
IMPORT_MAX_UPLOAD_MB = env.int("IMPORT_MAX_UPLOAD_MB", default=1024)
# Every other request body (forms, playback controls, the admin), in KiB: larger ones are refused
# with 413 before they are read (ops/body_limit.py). The front server's default limit matches it.
REQUEST_MAX_BODY_KB = env.int("REQUEST_MAX_BODY_KB", default=1024)
IMPORT_MAX_FILE_MB = env.int("IMPORT_MAX_FILE_MB", default=64)
IMPORT_MAX_TOTAL_MB = env.int("IMPORT_MAX_TOTAL_MB", default=4096)
IMPORT_MAX_ZIP_ENTRIES = env.int("IMPORT_MAX_ZIP_ENTRIES", default=10_000)
IMPORT_MAX_ZIP_RATIO = env.int("IMPORT_MAX_ZIP_RATIO", default=100)
# Batches of one import written side by side on PostgreSQL, each on its own connection.
IMPORT_WRITERS = env.int("IMPORT_WRITERS", default=2)
# Listens matched and written per transaction; and how long a worker may go without committing a
# batch before its job counts as stalled and another worker continues it.
IMPORT_BATCH_ROWS = env.int("IMPORT_BATCH_ROWS", default=25_000)
IMPORT_LEASE_SECONDS = env.int("IMPORT_LEASE_SECONDS", default=120)

# --- Local library and media ----------------------------------------------------------------
# The FLAC collection every signed-in user of this instance can play (scanned, never written to).
MUSIC_ROOT = Path(env.str("MUSIC_ROOT", default="") or BASE_DIR / "music").resolve()
# How often the background scan looks for new, changed, renamed and deleted files.
LIBRARY_SCAN_SECONDS = env.float("LIBRARY_SCAN_SECONDS", default=900.0)
# Resized cover art is cached here.
COVER_CACHE_DIR = Path(env.str("COVER_CACHE_DIR", default=str(DATA_DIR / "covers")))
# Who sends the audio bytes: "" (Django itself, the embedded default), "nginx" (X-Accel-Redirect
# to MEDIA_ACCEL_LOCATION, an internal location aliased to MUSIC_ROOT) or "apache" (X-Sendfile).
MEDIA_ACCEL = env.str("MEDIA_ACCEL", default="")
if MEDIA_ACCEL not in ("", "nginx", "apache"):
    raise ConfigError("MEDIA_ACCEL must be empty, 'nginx' or 'apache'")
MEDIA_ACCEL_LOCATION = env.str("MEDIA_ACCEL_LOCATION", default="/internal-media/")
# A media token opens one track for one device for this long; the player mints new ones.
MEDIA_TOKEN_SECONDS = env.int("MEDIA_TOKEN_SECONDS", default=120)
# Ranges one request may ask for (more is refused with 416: a cheap denial-of-service otherwise).
MEDIA_MAX_RANGES = env.int("MEDIA_MAX_RANGES", default=16)
# Media tokens one user may mint per minute (a player needs a few per track).
MEDIA_TOKEN_RATE = env.str("MEDIA_TOKEN_RATE", default="60/m")

# --- Applications --------------------------------------------------------------------------
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "django_ratelimit",
    "spotify_sim",
    "scrobbler",
    "playback",
    "imports",
    "dashboard",
    "accounts",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "ops.middleware.StaticFiles",  # WhiteNoise, async-capable
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.user_time_zone",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

# The covering index of EntityMonth (PostgreSQL's INCLUDE) is a plain index on SQLite.
# django-ratelimit counts in the default cache. Redis (scale-out) counts exactly; the embedded
# file cache's increments can race, so a limit there is approximate, which is fine for one
# machine's few users.
SILENCED_SYSTEM_CHECKS = ["models.W040", "django_ratelimit.E003", "django_ratelimit.W001"]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "accounts.context_processors.theme",
                "accounts.registration.signup_context",
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------------
DATABASE_URL = env.str("DATABASE_URL", default="") or f"sqlite:///{DATA_DIR / 'encore.sqlite3'}"
# Over ASGI, Django runs each request's database work on a thread of its own, so a connection
# kept open after a request is never reused (CONN_MAX_AGE 0), and a burst of requests (a
# thousand players reconnecting after a restart) can open more connections than PostgreSQL
# allows. DB_POOL_SIZE > 0 takes PostgreSQL connections from a pool of that many per process
# instead, where requests beyond it wait for one.
DATABASES = {
    "default": database_from_url(
        DATABASE_URL,
        conn_max_age=env.int("CONN_MAX_AGE", default=0),
        pool_size=env.int("DB_POOL_SIZE", default=0),
        statement_timeout=env.int("DB_STATEMENT_TIMEOUT_SECONDS", default=30),
        idle_in_transaction_timeout=env.int("DB_IDLE_IN_TRANSACTION_TIMEOUT_SECONDS", default=60),
    )
}
# Work known to run long queries (rollup rebuilds, import batches, exports, migrations) lifts the
# statement timeout to this while it runs (scrobbler.sql.long_queries).
DB_LONG_STATEMENT_TIMEOUT_SECONDS = env.int("DB_LONG_STATEMENT_TIMEOUT_SECONDS", default=1800)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "scrobbler.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Redis, Celery and Channels ------------------------------------------------------------
# REDIS_URL unset: the embedded defaults. Celery then uses kombu's filesystem transport, whose
# queued messages are files under DATA_DIR: a separate worker process picks them up and they
# survive restarts, with no server to run. Channels uses its in-memory layer (one web process).
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_DIR = DATA_DIR / "celery-broker"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "playback.channel_layer.QuietSafeRedisChannelLayer",
            # Every realtime client joins its group through this pool; a burst of reconnects
            # (after a restart) must not run into redis-py's default cap of 100, which fails
            # rather than waits.
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": env.int("REDIS_MAX_CONNECTIONS", default=2000),
                    }
                ],
                # Messages for all of a process's clients queue in one Redis list, and beyond
                # `capacity` new ones are dropped: the default of 100 is small for hundreds of
                # clients per process.
                "capacity": 2000,
            },
        }
    }
else:
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        # The worker looks for new files this often. kombu's default (1 s) is longer than the
        # per-second poll's expiry (0.9 s): in an unlucky phase every poll arrived expired and
        # was discarded, and no plays were recorded.
        "polling_interval": 0.1,
    }
    for folder in ("queue", "control"):
        (CELERY_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Django's cache (the global stats, for now), shared by web processes and workers: in Redis, else
# in files under DATA_DIR (the embedded default has no server to share memory through).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Apart from Celery's and Channels' keys in the same database, and from another
            # Encore's (or another test's servers') that share the Redis.
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="encore"),
            "OPTIONS": {"pool_class": "config.cache.ProcessConnectionPool"},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        }
    }

CELERY_TASK_IGNORE_RESULT = True  # tasks record their outcome in the database
CELERY_TASK_ACKS_LATE = True  # a task whose worker dies is delivered again
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")
# Celery beat: every period is a setting, and each task expires just before its next run, so a
# backlog never piles up.
POLL_TICK_SECONDS = env.float("POLL_TICK_SECONDS", default=1.0)
# Polling is recorded as one JobRun per minute; housekeeping deletes those older than this.
JOB_RUN_POLLS_DAYS = env.int("JOB_RUN_POLLS_DAYS", default=14)
# The public global stats are recomputed this often, in the background (dashboard.global_stats).
GLOBAL_STATS_SECONDS = env.float("GLOBAL_STATS_SECONDS", default=3600.0)
# How often a few accounts whose playlists were not scanned for a day get scanned.
PLAYLIST_SCAN_SECONDS = env.float("PLAYLIST_SCAN_SECONDS", default=600.0)
# Housekeeping: stale dashboard rollups and old polling JobRuns; stalled and unconfirmed imports;
# the ids of old playback controls (kept so that retries are applied once).
ROLLUPS_HOUSEKEEPING_SECONDS = env.float("ROLLUPS_HOUSEKEEPING_SECONDS", default=60.0)
IMPORTS_HOUSEKEEPING_SECONDS = env.float("IMPORTS_HOUSEKEEPING_SECONDS", default=60.0)
PLAYBACK_HOUSEKEEPING_SECONDS = env.float("PLAYBACK_HOUSEKEEPING_SECONDS", default=3600.0)
# Demo mode: how often the demo user's link to the simulator is checked (and made again).
DEMO_LINK_SECONDS = env.float("DEMO_LINK_SECONDS", default=10.0)


def _every(seconds: float, task: str) -> dict[str, object]:
    """A beat entry running `task` every `seconds`, expiring unrun just before the next one."""
    return {"task": task, "schedule": seconds, "options": {"expires": seconds * 0.9}}


CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "poll-spotify": _every(POLL_TICK_SECONDS, "scrobbler.poll_due"),
    "fetch-metadata": _every(METADATA_INTERVAL_SECONDS, "scrobbler.fetch_metadata"),
    "fetch-pictures": _every(PICTURES_INTERVAL_SECONDS, "scrobbler.fetch_pictures"),
    "scan-playlists": _every(PLAYLIST_SCAN_SECONDS, "scrobbler.scan_playlists"),
    # Dashboard rollups a crash left stale, or changed by another user's merged tracks; polling's
    # JobRuns older than JOB_RUN_POLLS_DAYS.
    "rollups-housekeeping": _every(ROLLUPS_HOUSEKEEPING_SECONDS, "scrobbler.rollups_housekeeping"),
    # Imports whose worker died carry on; analysed imports nobody confirmed are dropped.
    "imports-housekeeping": _every(IMPORTS_HOUSEKEEPING_SECONDS, "imports.housekeeping"),
    "global-stats": _every(GLOBAL_STATS_SECONDS, "scrobbler.global_stats_refresh"),
    "library-scan": _every(LIBRARY_SCAN_SECONDS, "playback.library_scan"),
    "playback-housekeeping": _every(PLAYBACK_HOUSEKEEPING_SECONDS, "playback.housekeeping"),
}
if DEMO_MODE:
    CELERY_BEAT_SCHEDULE["demo-link"] = _every(DEMO_LINK_SECONDS, "scrobbler.demo_link")

# --- Security and production ----------------------------------------------------------------
INSTALLED_APPS.append("axes")
MIDDLEWARE += [
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out sign-in into the lockout page
]
# HTTPS=true (production, behind a TLS proxy) makes cookies secure, sends HSTS and redirects plain
# HTTP to HTTPS. Off by default so that the embedded default (scripts/run on
# http://127.0.0.1:8000) can sign in: browsers drop secure cookies over plain HTTP.
HTTPS = env.bool("HTTPS", default=False)
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = env.int("HSTS_SECONDS", default=31_536_000) if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading is a commitment the domain's owner makes at hstspreload.org, not a default to impose.
SECURE_HSTS_PRELOAD = env.bool("HSTS_PRELOAD", default=False)
SECURE_SSL_REDIRECT = env.bool("HTTPS_REDIRECT", default=HTTPS)
# Probes and the demo worker reach the process directly over plain HTTP (container health
# checks, the bundled simulator at http://127.0.0.1): a redirect would fail them.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^spotify-sim/"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# How many reverse proxies (nginx, Apache, a load balancer) stand in front of Encore. Only then
# are their X-Forwarded-Proto (HTTPS) and X-Forwarded-For (the client's address, for rate limits
# and lockouts) trusted: without a proxy, any client could write them.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
RATELIMIT_IP_META_KEY = "ops.http.client_ip"
if HTTPS and not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS.append("security.W021")  # preload: see HSTS_PRELOAD above

# Content-Security-Policy: only this origin's scripts, styles, images, audio and connections, and
# nothing inline (templates carry no <script>, style= or on*= of their own; see static/js).
# Forms may also lead to Spotify's accounts service (linking redirects there after a POST).
_spotify_accounts = urlsplit(SPOTIFY_ACCOUNTS_BASE_URL)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'", f"{_spotify_accounts.scheme}://{_spotify_accounts.netloc}"],
    }
}

# Rate limits (django-ratelimit, in the default cache), as count/period (s, m, h or d, e.g.
# 30/10m). Past one, a request gets 429 with a message.
SIGN_IN_RATE_PER_IP = env.str("SIGN_IN_RATE_PER_IP", default="30/10m")
SIGN_IN_RATE_PER_USERNAME = env.str("SIGN_IN_RATE_PER_USERNAME", default="10/10m")
PLAYBACK_CONTROL_RATE = env.str("PLAYBACK_CONTROL_RATE", default="300/m")
IMPORT_UPLOAD_RATE = env.str("IMPORT_UPLOAD_RATE", default="20/h")

# Failed sign-ins (django-axes, the admin's sign-in too): after SIGN_IN_FAILURE_LIMIT failures
# for one username from one address, that pair is locked out for SIGN_IN_LOCKOUT_MINUTES.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("SIGN_IN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("SIGN_IN_LOCKOUT_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "ops.http.client_ip"
AXES_LOCKOUT_CALLABLE = "accounts.signin.sign_in_locked_out"
AXES_RESET_ON_SUCCESS = True
AXES_DISABLE_ACCESS_LOG = True  # no record of every successful sign-in: failures are enough
AXES_VERBOSE = False

# --- Internationalisation ------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files --------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default="") or DATA_DIR / "static")
# Third-party front-end files come from npm (package.json + lockfile), never from a CDN.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Operations: logs, request ids, metrics ------------------------------------------------
# Every request gets an id (X-Request-ID in, or a new one; returned in the response) that its log
# lines carry; a Celery task's lines carry the task id. First, so that it covers everything.
MIDDLEWARE = ["ops.middleware.request_id", *MIDDLEWARE]
INSTALLED_APPS = [*INSTALLED_APPS, "ops"]
# json: one JSON object per line (production, for log collectors); plain: readable lines.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain")
if LOG_FORMAT not in ("json", "plain"):
    raise ConfigError("LOG_FORMAT must be json or plain")
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
# What runs by itself every few seconds (beat sending due tasks, the worker receiving them and
# saying it succeeded) is said at INFO by Celery: shown with LOG_LEVEL=DEBUG only, so that at
# INFO the log holds what a person needs. Failures are warnings and errors, shown either way.
_ROUTINE_LEVEL = "NOTSET" if LOG_LEVEL == "DEBUG" else "WARNING"
# Access lines for these paths are logged at DEBUG (ops.middleware): the demo's worker calls the
# bundled simulator several times a minute.
ACCESS_LOG_QUIET_PREFIXES = ["/spotify-sim/"] if SPOTIFY_SIMULATOR else []
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "ops.logs.LogContext"},
        # The safety net: tokens, codes and keys that reach a log line anyway are replaced.
        "redact": {"()": "ops.logs.RedactSecrets"},
        "no_connection_lines": {"()": "ops.logs.NoConnectionLines"},
    },
    "formatters": {
        "plain": {
            "()": "ops.logs.PlainFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s [%(context)s] %(message)s",
        },
        "json": {"()": "ops.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["redact", "context"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # spotipy logs every 4xx/5xx as an error (Encore maps each one to what it means and logs
        # that), and at DEBUG each request's headers, the access token among them: redacted at
        # the source too, for handlers other than ours.
        "spotipy.client": {"level": "CRITICAL", "filters": ["redact"]},
        # SQL with its parameters (DEBUG=True only) holds session keys and password hashes.
        "django.db.backends": {"level": "INFO"},
        # Django's own handlers (runserver's request lines, whole URLs with their tokens, and
        # console output under DEBUG) would bypass the redaction: everything goes through ours.
        "django": {"handlers": [], "propagate": True},
        "django.server": {"handlers": [], "propagate": True},
        # The web server, uvicorn, sets up its loggers before it imports the application: here
        # its handler (plain text, no redaction) is dropped and its lines go through ours, at
        # LOG_LEVEL. Its access log stays off whatever its command line says: it has whole URLs
        # and client addresses (encore.access is the access log), and so do its lines about each
        # WebSocket connection.
        "uvicorn": {"handlers": [], "propagate": True, "level": "NOTSET"},
        "uvicorn.error": {"level": "NOTSET", "filters": ["no_connection_lines"]},
        "uvicorn.access": {"handlers": [], "propagate": False},
        # django-axes says every sign-in and every reset at INFO: lockouts are warnings.
        "axes": {"level": "WARNING"},
        "celery.beat": {"level": _ROUTINE_LEVEL},
        "celery.worker.strategy": {"level": _ROUTINE_LEVEL},
        "celery.worker.request": {"level": _ROUTINE_LEVEL},
        "celery.app.trace": {"level": _ROUTINE_LEVEL},
        # The filesystem broker has no host, and kombu warns about that at every connection.
        "kombu.connection": {"level": _ROUTINE_LEVEL if REDIS_URL else "ERROR"},
    },
}
# /metrics (Prometheus) answers a request bearing this token (Authorization: Bearer …) or a
# staff user; without a token set it answers 404 to everyone else.
METRICS_TOKEN = secret(env, "METRICS_TOKEN", default="")
