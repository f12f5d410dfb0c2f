"""Django settings, read from the environment (see the README's configuration table)."""

from __future__ import annotations

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
    "trialnode.core",
    "trialnode.audit",
    "trialnode.organisations",
    "trialnode.studies",
    "trialnode.interop",
    "trialnode.jobs",
    "trialnode.statistics",
    "trialnode.counts",
    "trialnode.datarequests",
    "django_tasks",
    "django_tasks_db",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "trialnode.core.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
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
    # short interactive queries; TRIALNODE_PG_OPTIONS overrides the connection options.
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = env_str(
        "TRIALNODE_PG_OPTIONS", "-c jit=off"
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
    }
    DATABASES["default"]["TEST"] = {"NAME": None}
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)

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

# Failed logins per user name (and per address) before a pause of LOGIN_LOCKOUT_MINUTES.
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env_int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", 30)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)

# Records re-confirmed less recently than this are flagged as stale.
TRIALNODE_RECONFIRM_AFTER_DAYS = env_int("TRIALNODE_RECONFIRM_AFTER_DAYS", 365)
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
