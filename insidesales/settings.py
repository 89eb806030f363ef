"""Django settings, read from the environment.

Defaults suit a developer machine (SQLite, DEBUG on). With INSIDESALES_ENV=production every
default becomes the safe one and SECRET_KEY / ALLOWED_HOSTS must be given.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("INSIDESALES_DATA_DIR", BASE_DIR.parent / "var"))

ENV = os.environ.get("INSIDESALES_ENV", "development")
PRODUCTION = ENV == "production"
TESTING = os.environ.get("INSIDESALES_TESTING") == "1"


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", not PRODUCTION)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when INSIDESALES_ENV=production.")
    # Development only: a stable, obviously-insecure key so sessions survive restarts.
    SECRET_KEY = "development-only-insecure-key-change-me-" + "x" * 20

# Fernet key(s) for telephony credentials at rest (see calls.secrets); derived from SECRET_KEY when unset.
CREDENTIALS_KEY = os.environ.get("CREDENTIALS_KEY", "")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost,testserver,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "ninja",
    "insidesales.core",
    "insidesales.orgs",
    "insidesales.crm",
    "insidesales.imports",
    "insidesales.calls",
    "insidesales.mail",
    "insidesales.inbound",
    "insidesales.api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "insidesales.orgs.middleware.MembershipMiddleware",
]

ROOT_URLCONF = "insidesales.urls"
ASGI_APPLICATION = "insidesales.asgi.application"
WSGI_APPLICATION = "insidesales.wsgi.application"

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
                "django.template.context_processors.i18n",
                "insidesales.orgs.context_processors.membership",
            ],
        },
    }
]

# Inputs, selects and checkbox lists are written in Python, with the markup of Django's templates.
FORM_RENDERER = "insidesales.core.widgets.FastRenderer"

# --- database -------------------------------------------------------------------------------
DATA_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{DATA_DIR / 'insidesales.sqlite3'}")
# Connections come from a per-process pool and go back to it at the end of each request
# (CONN_MAX_AGE = 0): under ASGI every request runs in a fresh thread, so "persistent" per-thread
# connections would be opened anew for every request. DATABASE_POOL=0 turns pooling off (e.g.
# behind PgBouncer in transaction mode); DATABASE_POOL=N caps the connections per process.
DATABASE_POOL = int(os.environ.get("DATABASE_POOL", "16"))
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "insidesales.core.db.sqlite3"
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets the worker and the web process write without blocking readers.
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000;"
            " PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; PRAGMA mmap_size=268435456;"
            " PRAGMA cache_size=-65536;"
        ),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "pool": DATABASE_POOL,  # idle connections kept (see insidesales/core/db/sqlite3/base.py)
    }
    if TESTING:
        # A file, as in production: threads of a test (the dialer worker, a live server) then share the
        # database through WAL, where an in-memory shared cache fails readers with "table is locked".
        DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    # A connection the server dropped while idle is replaced instead of failing the request (with a
    # pool, Django checks each connection as it leaves the pool).
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Server-side binding sends parameters apart from the SQL text. Statements are not prepared
    # (Django's default, `prepare_threshold` unset): measured on the benchmark, preparing every
    # statement saved ~1 ms on list pages but PostgreSQL's generic plans made `name_key LIKE $1`
    # prefix searches slower (55 ms instead of 42 ms for the global search). Only the fixed statements
    # every request runs are prepared (`core.compiled.prepared_statements`).
    DATABASES["default"]["OPTIONS"]["server_side_binding"] = env_bool("DATABASE_SERVER_SIDE_BINDING", True)
    if DATABASE_POOL > 0:
        DATABASES["default"]["OPTIONS"]["pool"] = {"min_size": 1, "max_size": DATABASE_POOL}
    else:
        DATABASES["default"]["CONN_MAX_AGE"] = 0 if TESTING else 60
    if TESTING:
        # Test runs sharing one server (a developer's and CI's, say) each get a database of their own.
        DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME'][:40]}_{os.getpid()}"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
if DATABASES["default"]["ENGINE"] == "insidesales.core.db.sqlite3":
    # The name-key indexes carry INCLUDE columns for PostgreSQL's index-only scans; SQLite leaves them
    # out on purpose (its indexes hold the row id already), which is what this warning is about.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

# --- cache, rate limits -----------------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "insidesales_cache",
        }
    }

# --- background tasks -------------------------------------------------------------------------
TASKS = {
    "default": {
        "BACKEND": os.environ.get("TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
        "QUEUES": ["default"],
    }
}

# Duplicate leads are looked for this often (and after each import, and on demand).
DUPLICATE_SCAN_INTERVAL_HOURS = float(os.environ.get("DUPLICATE_SCAN_INTERVAL_HOURS", "24"))

# The web server collects garbage between requests instead of during them (core/gcpolicy.py).
GC_BETWEEN_REQUESTS = env_bool("GC_BETWEEN_REQUESTS", not TESTING)

# --- auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "orgs.User"
AUTHENTICATION_BACKENDS = ["insidesales.orgs.auth.EmailBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
if TESTING:
    # Argon2 is deliberately slow; tests create thousands of users.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", *PASSWORD_HASHERS]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed logins allowed per (email, IP) and per IP within LOGIN_THROTTLE_WINDOW seconds.
LOGIN_THROTTLE_PER_ACCOUNT = int(os.environ.get("LOGIN_THROTTLE_PER_ACCOUNT", "5"))
LOGIN_THROTTLE_PER_IP = int(os.environ.get("LOGIN_THROTTLE_PER_IP", "30"))
LOGIN_THROTTLE_WINDOW = int(os.environ.get("LOGIN_THROTTLE_WINDOW", "900"))
# Password-reset requests allowed per address and per IP within PASSWORD_RESET_THROTTLE_WINDOW seconds
# (counted whether or not the address belongs to anyone, so the limit reveals nothing).
PASSWORD_RESET_PER_ADDRESS = int(os.environ.get("PASSWORD_RESET_PER_ADDRESS", "3"))
PASSWORD_RESET_PER_IP = int(os.environ.get("PASSWORD_RESET_PER_IP", "20"))
PASSWORD_RESET_THROTTLE_WINDOW = int(os.environ.get("PASSWORD_RESET_THROTTLE_WINDOW", "3600"))
# API requests allowed per key per minute.
# Imported files: the upload is removed when its import has ended, or when it was not started within
# IMPORT_UNSTARTED_KEEP_HOURS; the rejected-rows report IMPORT_REPORT_KEEP_DAYS after the import ended.
# An organization's files kept at one time may not exceed IMPORT_STORAGE_LIMIT_BYTES.
IMPORT_UNSTARTED_KEEP_HOURS = int(os.environ.get("IMPORT_UNSTARTED_KEEP_HOURS", "72"))
IMPORT_REPORT_KEEP_DAYS = int(os.environ.get("IMPORT_REPORT_KEEP_DAYS", "30"))
IMPORT_STORAGE_LIMIT_BYTES = int(os.environ.get("IMPORT_STORAGE_LIMIT_BYTES", str(20 * 1024**3)))
# A merge of duplicate leads can be undone this many days; then its copy of the merged lead is erased.
MERGE_UNDO_KEEP_DAYS = int(os.environ.get("MERGE_UNDO_KEEP_DAYS", "30"))

API_RATE_LIMIT_PER_MINUTE = int(os.environ.get("API_RATE_LIMIT_PER_MINUTE", "600"))

# --- email ------------------------------------------------------------------------------------
EMAIL_BACKEND = os.environ.get(
    "EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Inside Sales <noreply@localhost>")
# The address people reach this server at: unsubscribe links in emails point here.
PUBLIC_URL = os.environ.get("PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")
# How long a mailer worker holds the steps and emails it claimed; after a crash they wait this long.
MAIL_CLAIM_SECONDS = int(os.environ.get("MAIL_CLAIM_SECONDS", "120"))
# Mail servers in this server's own network (loopback, private, link-local) that mailboxes may use:
# host names, addresses or networks, comma-separated (docs/email.md). Tests use servers on loopback.
MAIL_ALLOWED_HOSTS = [
    h.strip() for h in os.environ.get("MAIL_ALLOWED_HOSTS", "127.0.0.1,::1,localhost" if TESTING else "").split(",")
]
# Webhook destinations in this server's own network that subscriptions may use (same form; none by default,
# tests too: a test that delivers to loopback allows it itself).
WEBHOOK_ALLOWED_HOSTS = [h.strip() for h in os.environ.get("WEBHOOK_ALLOWED_HOSTS", "").split(",")]
# SMTP connections a mailer worker opens to one mailbox's server at once (Microsoft 365 allows 3 per mailbox).
MAIL_CONNECTIONS_PER_MAILBOX = int(os.environ.get("MAIL_CONNECTIONS_PER_MAILBOX", "3"))
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("ru", _("Russian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- static -----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing root at start

# --- security ---------------------------------------------------------------------------------
SESSION_ENGINE = "insidesales.orgs.sessions"  # Django's database sessions, read with fixed SQL
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the cookie-free meta tag; kept default.
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}

NINJA_PAGINATION_PER_PAGE = 50
