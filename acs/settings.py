"""ACS Portal settings: one module, every knob from the environment.

With no environment set, the application runs as the demo: SQLite, a folder broker, a file
cache and one ``.eml`` file per outgoing email, all under ``var/``. Production sets
``DATABASE_URL``, ``CELERY_BROKER_URL``, ``REDIS_URL``, ``EMAIL_URL``, ``SECRET_KEY``,
``ALLOWED_HOSTS`` and ``HTTPS=true`` (see the README's configuration table).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

VAR_DIR = Path(env.str("ACS_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DEBUG = env.bool("DEBUG", default=False)
# HTTPS=true is the production switch: secure cookies, HSTS and the redirect to https.
HTTPS = env.bool("HTTPS", default=False)


def _secret_key() -> str:
    key = env.str("SECRET_KEY", default="")
    if key:
        return key
    if HTTPS:
        raise ImproperlyConfigured("SECRET_KEY must be set when HTTPS=true (production).")
    # The demo keeps a random key of its own under var/, so that no secret is in the repo.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "acs.staff.apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "acs.core",
    "acs.posts",
    "acs.content",
    "acs.appointments",
    "acs.enrollment",
    "acs.alerts",
    "acs.api",
    "acs.staff",
    "acs.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # /api/: the API's own short chain, API_MIDDLEWARE, instead of everything below.
    "acs.api.lane.ApiLaneMiddleware",
    # Which post the URL (or the host) names, and its URLconf: the page cache keys by post.
    "acs.posts.routing.PostRoutingMiddleware",
    # Before the session, locale and CSRF work: a cached public page costs one cache read.
    "acs.core.pagecache.PublicPageCacheMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "acs.core.middleware.UnknownLanguagePrefixMiddleware",
    # Staff, account and personal-link pages: Cache-Control: no-store.
    "acs.core.middleware.PrivatePagesMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    # Under /staff/: the post chosen in the staff header becomes the current post.
    "acs.staff.scope.StaffPostMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Under /staff/: a session idle for ACS_STAFF_IDLE_SECONDS ends (with a message).
    "acs.staff.idle.StaffIdleMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "acs.core.csp.CSPMiddleware",  # django-csp's, the plain header built once
    # Axes must come last: it turns a lockout raised during sign-in into its response.
    "axes.middleware.AxesMiddleware",
]
# What an API request goes through after the three above (acs/api/lane.py): the host check,
# the language of a refusal, and the same headers on the way out; no session, CSRF or sign-in.
API_MIDDLEWARE = [
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "acs.core.csp.CSPMiddleware",
]

ROOT_URLCONF = "acs.urls"
WSGI_APPLICATION = "acs.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "acs" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "csp.context_processors.nonce",
                "acs.core.context_processors.site",
                "acs.staff.context_processors.staff",
            ],
        },
    },
]

# Database ---------------------------------------------------------------------------------
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'acs.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes SQLite's write lock when a transaction begins, so two bookers never both
    # read "one seat left"; WAL lets readers go on while one writer holds it.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    # Tests: a file rather than pytest-django's in-memory database, so that the concurrency
    # tests' threads each open a real connection to one shared database. The process id keeps
    # simultaneous test runs apart; Django deletes the file when the run ends.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    # PostgreSQL's JIT compiler spends more on our short queries than it saves (1.2 s of the
    # 2.2 s enrollee-targeting query in benchmarks/enrollment.py); it stays off.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("options", "-c jit=off")
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
# The seat-count index carries people_count as an INCLUDE column for PostgreSQL's index-only
# scans; SQLite ignores that part and says so. The index is still right there.
SILENCED_SYSTEM_CHECKS = ["models.W040"]

# Cache (rate limits, lockouts) ------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHE_URL = env.str("CACHE_URL", default=REDIS_URL)
if CACHE_URL.startswith(("redis://", "rediss://")):
    CACHES = {
        "default": {
            # Django's backend, with one Redis client per process (acs/core/cache.py).
            "BACKEND": "acs.core.cache.RedisCache",
            "LOCATION": CACHE_URL,
            # A Redis that is down or unreachable must cost a request a fraction of a second,
            # not a hang: the public pages are then served uncached (acs/core/pagecache.py).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
elif CACHE_URL:
    CACHES = {"default": env.cache_url_config(CACHE_URL)}
else:
    # A file cache is shared by every process of the demo (web, worker), unlike local memory.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# Authentication ---------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "acs.staff.backends.PostRoleBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "admin:login"
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="ACS Portal")
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=1.0)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "staff/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0)
# With no proxy in front, only the socket's address counts: X-Forwarded-For would be the
# client's own word, and a guesser would change it at every try.
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR") if AXES_IPWARE_PROXY_COUNT else ("REMOTE_ADDR",)
)

# Internationalisation ----------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("es", _("Spanish"))]
LOCALE_PATHS = [BASE_DIR / "acs" / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# Static files -----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "acs" / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns at start-up when it is missing
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Production gets hashed names that browsers may cache for a year; the demo and the
        # tests serve the files as they are, with no collectstatic manifest to keep fresh.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if HTTPS
        else "django.contrib.staticfiles.storage.StaticFilesStorage",
    },
}
WHITENOISE_USE_FINDERS = not HTTPS

# Email ------------------------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="ACS Lima <acs-lima@example.gov>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    vars().update(env.email_url_config(EMAIL_URL))
else:
    EMAIL_BACKEND = "acs.core.mail.EmlFileBackend"
    EMAIL_FILE_PATH = str(VAR_DIR / "mail")
# The transactional-email outbox (acs/core/outbox, docs/mail.md), in seconds: a claim older
# than this belongs to a dead worker; a queued email not taken this long after it was handed
# to the broker lost its message; temporary failures wait base × 2^(attempt − 1), at most the
# cap, and fail for good after the given attempts; done ones are forgotten after some days.
ACS_MAIL_CLAIM_TIMEOUT = env.int("ACS_MAIL_CLAIM_TIMEOUT", default=300)
ACS_MAIL_REQUEUE_AFTER = env.int("ACS_MAIL_REQUEUE_AFTER", default=300)
ACS_MAIL_RETRY_BASE = env.int("ACS_MAIL_RETRY_BASE", default=60)
ACS_MAIL_RETRY_CAP = env.int("ACS_MAIL_RETRY_CAP", default=3600)
ACS_MAIL_MAX_ATTEMPTS = env.int("ACS_MAIL_MAX_ATTEMPTS", default=10)
ACS_MAIL_SEND_TIMEOUT = env.int("ACS_MAIL_SEND_TIMEOUT", default=30)
ACS_MAIL_KEEP_DAYS = env.int("ACS_MAIL_KEEP_DAYS", default=30)
# Each web process hands the emails its requests committed to the broker in one message per
# this many seconds, from a thread of its own (acs/core/outbox/queue.py); 0 publishes one
# message per email from the request, after its commit.
ACS_MAIL_HANDOVER_SECONDS = env.float("ACS_MAIL_HANDOVER_SECONDS", default=0.25)

# Celery -----------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
else:
    # Redis (and SQS) hand an unacknowledged message to another worker after this many
    # seconds. It must outlast the delivery claim (checked at start-up, acs/alerts/checks.py):
    # a shorter one would hand a batch that a live worker is still sending to a second one.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("ACS_BROKER_VISIBILITY_TIMEOUT", default=3600),
        # A broker host that drops packets must not hold a citizen's request for the
        # system's connect timeout (minutes): after 3 s the email waits in its table.
        "socket_connect_timeout": 3,
    }
# Celery's Django fix-up closes the database connection before and after every task unless
# this is set (it then closes it every 2 × this many tasks); acs/celery.py closes the broken
# and the old ones instead (CONN_MAX_AGE), so that a worker does not reconnect per batch.
CELERY_DB_REUSE_MAX = 10_000
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The one place where periodic work is declared.
CELERY_BEAT_SCHEDULE = {
    "core.heartbeat": {
        "task": "acs.core.tasks.heartbeat",
        "schedule": crontab(minute="*/5"),
        "options": {"queue": "periodic"},
    },
    "core.pow-purge": {
        "task": "acs.core.tasks.pow_purge",
        "schedule": crontab(minute=17),
        "options": {"queue": "periodic"},
    },
    # Transactional email (docs/mail.md).
    "core.mail-sweep": {
        # Every minute: emails whose broker message was lost (or never published, the broker
        # being down), claims of dead workers, retries that are due.
        "task": "acs.core.tasks.emails_sweep",
        "schedule": crontab(),
        "options": {"queue": "periodic"},
    },
    "core.mail-purge": {
        # Daily, at a quiet hour: forget emails done for good after ACS_MAIL_KEEP_DAYS.
        "task": "acs.core.tasks.emails_purge",
        "schedule": crontab(hour=7, minute=35),
        "options": {"queue": "periodic"},
    },
    "appointments.reminders": {
        # Hourly: each post's "tomorrow" starts at its own midnight.
        "task": "acs.appointments.tasks.send_reminders",
        "schedule": crontab(minute=5),
        "options": {"queue": "periodic"},
    },
    "appointments.waitlist": {
        # Every minute: offers not claimed in time pass to the next person waiting, and seats
        # free on days people wait for (a lost trigger, more seats) are offered.
        "task": "acs.appointments.tasks.waitlist_sweep",
        "schedule": crontab(),
        "options": {"queue": "periodic"},
    },
    "appointments.email-holds": {
        # Every minute: a seat held for a booking made without JavaScript whose emailed link
        # was not followed in time is freed.
        "task": "acs.appointments.tasks.email_holds_expire",
        "schedule": crontab(),
        "options": {"queue": "periodic"},
    },
    "appointments.rounds": {
        # Every minute: a request round opens, and is drawn, within a minute of its time.
        "task": "acs.appointments.tasks.rounds_tick",
        "schedule": crontab(),
        "options": {"queue": "periodic"},
    },
    "appointments.no-shows": {
        # Every 15 minutes: a booking becomes a no-show within 15 minutes of its window closing.
        "task": "acs.appointments.tasks.mark_no_shows",
        "schedule": crontab(minute="*/15"),
        "options": {"queue": "periodic"},
    },
    # Retention (docs/enrollment.md). Daily: every rule counts whole days of the post's own
    # calendar, so one run a day meets each boundary on its day whatever the hour.
    "enrollment.trips-purge": {
        # 07:20 UTC is the small hours in the Americas (02:20 in Lima): a quiet database.
        "task": "acs.enrollment.tasks.purge_ended_trips",
        "schedule": crontab(hour=7, minute=20),
        "options": {"queue": "periodic"},
    },
    "enrollment.residences-reconfirm": {
        # 14:10 UTC is morning in the Americas (09:10 in Lima): the question arrives when
        # people read their mail, not in the night.
        "task": "acs.enrollment.tasks.reconfirm_residences",
        "schedule": crontab(hour=14, minute=10),
        "options": {"queue": "periodic"},
    },
    "enrollment.idle-accounts": {
        # 14:40 UTC, morning in the Americas for the warnings, after the residence run (a
        # residence that expired today counts as inactive from today).
        "task": "acs.enrollment.tasks.sweep_idle_accounts",
        "schedule": crontab(hour=14, minute=40),
        "options": {"queue": "periodic"},
    },
    # Delivery of messages (docs/delivery.md).
    "delivery.sweep": {
        # Every minute: claims of dead workers, retries that are due, lost Celery messages.
        "task": "acs.alerts.tasks.sweep",
        "schedule": crontab(),
        "options": {"queue": "periodic"},
    },
    "delivery.digest": {
        # 13:00 UTC, morning in the Americas (08:00 in Lima): yesterday's messages in one email.
        "task": "acs.alerts.tasks.send_digests",
        "schedule": crontab(hour=13, minute=0),
        "options": {"queue": "periodic"},
    },
}
CELERY_TASK_DEFAULT_QUEUE = "default"

# Security ---------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "acs.core.views.csrf_failure"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 3600)
# A staff session ends after this long without a request (acs/staff/idle.py).
ACS_STAFF_IDLE_SECONDS = env.int("ACS_STAFF_IDLE_SECONDS", default=30 * 60)
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
LANGUAGE_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS and env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# .gov is preloaded as a whole top-level domain, so asking for preload commits to nothing new.
SECURE_HSTS_PRELOAD = HTTPS and env.bool("SECURE_HSTS_PRELOAD", default=True)
if env.bool("BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# A health probe or a load balancer may call over plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}

# Logging ----------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# ACS Portal -------------------------------------------------------------------------------
# The public address of the site, for links in emails (a worker has no request to ask).
ACS_SITE_URL = env.str("ACS_SITE_URL", default="http://127.0.0.1:8000").rstrip("/")
# The post that today's URLs without a post (/en/appointments/…, links already sent) redirect
# to: the post of a one-post install (its slug; see acs/posts/routing.py).
ACS_DEFAULT_POST = env.str("ACS_DEFAULT_POST", default="lima")
# How long each process trusts its list of post slugs and host names (re-read after this).
ACS_POST_ROUTES_SECONDS = env.float("ACS_POST_ROUTES_SECONDS", default=1.0)

# Proof-of-work on public forms that cost the post capacity (ALTCHA, self-hosted). The
# benchmark switches it off with ACS_POW_ENABLED=false; never do that in production.
ACS_POW_ENABLED = env.bool("ACS_POW_ENABLED", default=True)
ACS_POW_MAX_NUMBER = env.int("ACS_POW_MAX_NUMBER", default=100_000)
# The difficulty rises (×4 a level, up to ACS_POW_LEVELS) while more than this many
# challenges a minute are handed out across the installation (acs/core/pow.py).
ACS_POW_RISE_PER_MINUTE = env.int("ACS_POW_RISE_PER_MINUTE", default=600)
ACS_POW_LEVELS = env.int("ACS_POW_LEVELS", default=2)
ACS_POW_TTL_SECONDS = env.int("ACS_POW_TTL_SECONDS", default=1200)
# Booking attempts allowed per client address and per email address, per hour.
ACS_BOOKING_RATE_PER_ADDRESS = env.int("ACS_BOOKING_RATE_PER_ADDRESS", default=30)
ACS_BOOKING_RATE_PER_EMAIL = env.int("ACS_BOOKING_RATE_PER_EMAIL", default=10)
# The waitlist of first-come services: how long a freed seat is held for the person it is
# offered to before it passes to the next one waiting (docs/appointments.md).
ACS_WAITLIST_HOLD_MINUTES = env.int("ACS_WAITLIST_HOLD_MINUTES", default=120)
# Booking without JavaScript: how long the seat is held for the link emailed to the booker
# (docs/appointments.md). Long enough for an email to arrive, short enough that a robot with
# a mailbox cannot sit on seats.
ACS_BOOKING_HOLD_MINUTES = env.int("ACS_BOOKING_HOLD_MINUTES", default=15)
# The most people of one service held at once for their emailed links: that path skips the
# proof of work, and this bounds what a robot could keep from everyone else.
ACS_BOOKING_HOLDS_MOST = env.int("ACS_BOOKING_HOLDS_MOST", default=20)
# Enrollment accounts: sign-up, sign-in, and emailed links, per address and per email an hour.
ACS_ACCOUNT_RATE_PER_ADDRESS = env.int("ACS_ACCOUNT_RATE_PER_ADDRESS", default=60)
ACS_ACCOUNT_RATE_PER_EMAIL = env.int("ACS_ACCOUNT_RATE_PER_EMAIL", default=10)
# Sign-in links sent to one email an hour, from every address together (an inbox's cap).
ACS_SIGN_IN_LINK_PER_EMAIL = env.int("ACS_SIGN_IN_LINK_PER_EMAIL", default=30)
# Public pages for anonymous visitors (acs/core/pagecache.py, docs/operations.md): how many
# seconds a page is kept in the cache and may be kept by a CDN or a browser (max-age); 0 turns
# the page cache and its headers off. A change of a page, message, closure or the post shows
# within ACS_PAGE_CACHE_STAMP_SECONDS (each process re-reads the post's stamp that often).
ACS_PAGE_CACHE_SECONDS = env.int("ACS_PAGE_CACHE_SECONDS", default=30)
ACS_PAGE_CACHE_STAMP_SECONDS = env.float("ACS_PAGE_CACHE_STAMP_SECONDS", default=1.0)
# The tables whose rows the public pages show, each with "post" and "updated_at": a row
# added, changed or deleted in one of them changes every public page's cache key at once.
ACS_PAGE_CACHE_TABLES = ["content.Page", "alerts.Message", "appointments.Closure"]
# How long each process reuses a post, its bookable services and their opening rules on the
# booking path (acs/appointments/selectors.py, docs/appointments.md): a staff change shows
# everywhere within this time (at once in the process that made it); 0 reads them on every
# request. Seats per slot and closures are always read afresh under the slot's lock.
ACS_BOOKING_RULES_SECONDS = env.float("ACS_BOOKING_RULES_SECONDS", default=1.0)
# Only the concurrency tests' control run turns this off, to show the race is real.
ACS_LOCKS_ENABLED = True

# Delivery of messages to enrollees (docs/delivery.md). The claim timeout, the requeue age
# and the broker's visibility timeout are checked against each other at start-up.
# Rows per send_batch task: one claim, one SMTP connection, one Celery message.
ACS_DELIVERY_BATCH_SIZE = env.int("ACS_DELIVERY_BATCH_SIZE", default=200)
# A SENDING row claimed longer ago than this belongs to a worker that died: the sweeper hands
# it back (a batch's task is stopped after half of it, so a live worker never gets there).
ACS_DELIVERY_CLAIM_TIMEOUT = env.int("ACS_DELIVERY_CLAIM_TIMEOUT", default=600)
# A QUEUED row nobody claimed for this long lost its Celery message (a broker restart, a worker
# killed before it claimed): the sweeper enqueues it again.
ACS_DELIVERY_REQUEUE_AFTER = env.int("ACS_DELIVERY_REQUEUE_AFTER", default=600)
# Temporary failures wait base × 2^(attempt − 1) seconds, at most the cap; FAILED after this
# many attempts.
ACS_DELIVERY_RETRY_BASE = env.int("ACS_DELIVERY_RETRY_BASE", default=60)
ACS_DELIVERY_RETRY_CAP = env.int("ACS_DELIVERY_RETRY_CAP", default=1800)
ACS_DELIVERY_MAX_ATTEMPTS = env.int("ACS_DELIVERY_MAX_ATTEMPTS", default=5)
# Seconds to wait for the SMTP relay or the SMS gateway before calling it a temporary error.
ACS_DELIVERY_SEND_TIMEOUT = env.int("ACS_DELIVERY_SEND_TIMEOUT", default=30)

# Text messages (acs/core/sms.py): "file" writes one file per text to $ACS_VAR_DIR/sms
# (the demo); "http" posts JSON to a gateway, and then needs its URL and bearer token (a
# check stops the start-up when they are missing).
ACS_SMS_BACKEND = env.str("ACS_SMS_BACKEND", default="file")
ACS_SMS_GATEWAY_URL = env.str("ACS_SMS_GATEWAY_URL", default="")
ACS_SMS_GATEWAY_TOKEN = env.str("ACS_SMS_GATEWAY_TOKEN", default="")
ACS_SMS_FILE_PATH = str(VAR_DIR / "sms")
