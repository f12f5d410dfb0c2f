"""Django settings, read from the environment (see the README's configuration table)."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from trialnode.env import data_dir, env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = data_dir()

DEBUG = env_bool("DEBUG", False)

# SECRET_KEY comes from the environment, or from the key file that `trialnode demo`
# and `trialnode serve` create in the data directory on first start.
SECRET_KEY_FILE = DATA_DIR / "secret_key"
SECRET_KEY = env_str("SECRET_KEY") or (
    SECRET_KEY_FILE.read_text(encoding="utf-8").strip() if SECRET_KEY_FILE.is_file() else ""
)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            f"SECRET_KEY must be set when DEBUG is off (or a key kept in {SECRET_KEY_FILE})."
        )
    SECRET_KEY = "insecure-development-key-not-for-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "ninja",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "trialnode.core",
    "trialnode.audit",
    "trialnode.organisations",
    "trialnode.studies",
    "trialnode.interop",
    "trialnode.jobs",
    "trialnode.statistics",
    "trialnode.counts",
    "trialnode.feasibility",
    "trialnode.datarequests",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "trialnode.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # A kept search page for a visitor who can only be anonymous, before the session.
    "trialnode.studies.search_page.KeptSearchPageMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "trialnode.core.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "trialnode.organisations.middleware.SecondFactorMiddleware",
    "trialnode.audit.middleware.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "trialnode.urls"
WSGI_APPLICATION = "trialnode.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "trialnode.core.context_processors.site",
                "trialnode.counts.context_processors.menu",
                "trialnode.feasibility.context_processors.menu",
            ],
        },
    },
]

_DEFAULT_DATABASE_URL = f"sqlite:///{DATA_DIR / 'trialnode.sqlite3'}"
DATABASE_URL = env_str("DATABASE_URL") or _DEFAULT_DATABASE_URL
try:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from exc
if DATABASES["default"]["ENGINE"] not in (
    "django.db.backends.sqlite3",
    "django.db.backends.postgresql",
):
    raise ImproperlyConfigured("DATABASE_URL must name an sqlite:/// or postgres:// database")
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # PostgreSQL's JIT compiles every facet statement anew and costs more than it saves on
    # short interactive queries; the statements prepared through ``core.prepared`` keep
    # one generic plan. TRIALNODE_PG_OPTIONS overrides the connection options.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = env_str(
        "TRIALNODE_PG_OPTIONS", "-c jit=off -c plan_cache_mode=force_generic_plan"
    )
    # Statements are prepared only where asked for (``core.prepared``): psycopg prepares
    # a statement on request once a threshold is set, and this one is never reached.
    DATABASES["default"]["OPTIONS"]["prepare_threshold"] = 2**31 - 1
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": None}
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

# The application may run as a database role that only reads and writes rows, while
# `trialnode migrate` creates and alters the tables as their owner (see the README).
DATABASE_MIGRATE_URL = env_str("DATABASE_MIGRATE_URL") or ""

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "organisations.User"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "studies:workspace"
LOGOUT_REDIRECT_URL = "studies:search"

LANGUAGE_CODE = "sv"
LANGUAGES = [("sv", _("Swedish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Stockholm"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# Static files are served from their source folders (WhiteNoise finders); STATIC_ROOT is
# only needed for collectstatic behind another web server.
STATIC_ROOT = env_str("STATIC_ROOT") or None
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

EMAIL_HOST = env_str("EMAIL_HOST", "") or ""
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "") or ""
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD", "") or ""
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "trialnode <noreply@localhost>")

# Sessions end after SESSION_IDLE_MINUTES without a request (and when the browser closes).
SESSION_COOKIE_AGE = env_int("SESSION_IDLE_MINUTES", 30) * 60
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# Behind HTTPS in production: TRIALNODE_HTTPS=true turns on secure cookies, HSTS and the
# redirect to HTTPS (and `manage.py check --deploy` is then clean).
HTTPS = env_bool("TRIALNODE_HTTPS", False)
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# Roles that see personal data must confirm a second factor (TOTP) after the password.
REQUIRE_SECOND_FACTOR = env_bool("TRIALNODE_REQUIRE_SECOND_FACTOR", True)
OTP_TOTP_ISSUER = "trialnode"

# Login protection (django-axes, counters in the database): after LOGIN_FAILURE_LIMIT
# failures for one user name from one address, that pair waits LOGIN_COOLOFF_MINUTES,
# doubled for each further lock-out within LOGIN_COOLOFF_MAX_HOURS (the longest wait). The client address
# is taken from X-Forwarded-For only when the request comes from one of
# TRIALNODE_TRUSTED_PROXIES.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_COOLOFF_MINUTES = env_int("LOGIN_COOLOFF_MINUTES", 5)
LOGIN_COOLOFF_MAX_HOURS = env_int("LOGIN_COOLOFF_MAX_HOURS", 24)
TRIALNODE_TRUSTED_PROXIES = env_list("TRIALNODE_TRUSTED_PROXIES", [])
for _proxy in TRIALNODE_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"TRIALNODE_TRUSTED_PROXIES: {_proxy!r} is not an address or network"
        ) from None
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_COOLOFF_TIME = "trialnode.organisations.login_protection.cool_off"
AXES_CLIENT_IP_CALLABLE = "trialnode.core.client_address.client_address"
AXES_LOCKOUT_CALLABLE = "trialnode.organisations.login_protection.locked_out_response"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False

# The audit trail's keys, kept outside the database (default: files in the data
# directory, created on first use), and where its signed checkpoints go.
TRIALNODE_AUDIT_KEY = env_str("TRIALNODE_AUDIT_KEY") or ""
TRIALNODE_AUDIT_SIGNING_KEY = env_str("TRIALNODE_AUDIT_SIGNING_KEY") or ""
TRIALNODE_AUDIT_CHECKPOINT_DIR = env_str("TRIALNODE_AUDIT_CHECKPOINT_DIR") or ""
TRIALNODE_AUDIT_CHECKPOINT_MAIL = env_list("TRIALNODE_AUDIT_CHECKPOINT_MAIL", [])
TRIALNODE_AUDIT_CHECKPOINT_HOURS = env_int("TRIALNODE_AUDIT_CHECKPOINT_HOURS", 24)

# Records re-confirmed less recently than this are flagged as stale.
TRIALNODE_RECONFIRM_AFTER_DAYS = env_int("TRIALNODE_RECONFIRM_AFTER_DAYS", 365)
# When `trialnode worker` runs the daily reminders and deadline checks (local time).
TRIALNODE_DAILY_AT = env_str("TRIALNODE_DAILY_AT", "06:00")
TRIALNODE_SEARCH_PAGE_SIZE = 20
# Imported registry records are public at once; a node may have coordinators review them.
TRIALNODE_IMPORT_REVIEW = env_bool("TRIALNODE_IMPORT_REVIEW", False)
TRIALNODE_CTGOV_API_URL = env_str("TRIALNODE_CTGOV_API_URL", "https://clinicaltrials.gov/api/v2")

# Background jobs (registry imports, yearly reports) wait in the database for
# `trialnode worker`, which `trialnode serve` and `trialnode demo` start beside the server.
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# Base URLs of the trialnode instances whose statistics the national view adds up.
TRIALNODE_NATIONAL_INSTANCES = env_list("TRIALNODE_NATIONAL_INSTANCES", [])
# Registry files uploaded for import may be as large as the bulk download.
TRIALNODE_UPLOAD_LIMIT_MB = env_int("TRIALNODE_UPLOAD_LIMIT_MB", 2048)

# Patient counts (trialnode/counts): disclosure protection, limits, the hub's name.
TRIALNODE_COUNTS_THRESHOLD = env_int("TRIALNODE_COUNTS_THRESHOLD", 10)
TRIALNODE_COUNTS_ROUND_TO = env_int("TRIALNODE_COUNTS_ROUND_TO", 10)
TRIALNODE_COUNTS_NOISE = env_int("TRIALNODE_COUNTS_NOISE", 5)
TRIALNODE_COUNTS_DAILY_LIMIT = env_int("TRIALNODE_COUNTS_DAILY_LIMIT", 50)
TRIALNODE_COUNTS_TIMEOUT_SECONDS = env_int("TRIALNODE_COUNTS_TIMEOUT_SECONDS", 120)
TRIALNODE_COUNTS_SECRET = env_str("TRIALNODE_COUNTS_SECRET") or ""
TRIALNODE_COUNTS_HUB_NAME = env_str("TRIALNODE_COUNTS_HUB_NAME", "trialnode") or "trialnode"
TRIALNODE_COUNTS_SELF_URL = env_str("TRIALNODE_COUNTS_SELF_URL", "http://127.0.0.1:8000") or ""

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "WARNING")},
}
