"""Production: a real secret key is required; HTTPS everywhere; JSON logs."""

from config.env import ConfigError, env_bool, env_int, env_required, parse_email_url

from .base import *  # noqa: F403
from .base import LOGGING, _fail

try:
    SECRET_KEY = env_required("SECRET_KEY")
    if len(SECRET_KEY) < 50 or SECRET_KEY.startswith("dev-only"):
        raise ConfigError("SECRET_KEY must be a random string of at least 50 characters")
    # Replies go out by email: production needs a real SMTP server, never the console.
    MAILERS = {"default": parse_email_url(env_required("EMAIL_URL")).mailer()}
    if "smtp" not in MAILERS["default"]["BACKEND"]:
        raise ConfigError("EMAIL_URL must be an smtp:// URL in production")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
except ConfigError as exc:
    _fail(exc)

DEBUG = False
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
LOGGING["handlers"]["console"]["formatter"] = "json"
