"""Configuration read from environment variables, with defaults that work with nothing set."""
import os
from datetime import timedelta


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


#: The key a development copy may run with (debug mode and tests only): it is public, so anyone could sign a
#: session or a reset link with it.
DEVELOPMENT_SECRET_KEY = "dev-secret-change-me"
#: Public values a site must not run with: the development key and the placeholder .env.example once had.
PUBLIC_SECRET_KEYS = {DEVELOPMENT_SECRET_KEY, "change-me-to-a-long-random-string"}
SECRET_KEY_MIN_LENGTH = 32


def secret_key_problem(key: str | None) -> str | None:
    """What is wrong with `key` as the SECRET_KEY of a served site, or None when it will do."""
    if not key:
        return "SECRET_KEY is not set"
    if key in PUBLIC_SECRET_KEYS:
        return "SECRET_KEY is a published example value"
    if len(key) < SECRET_KEY_MIN_LENGTH:
        return f"SECRET_KEY is too short ({len(key)} characters; at least {SECRET_KEY_MIN_LENGTH})"
    return None


def _normalise_db_url(url: str) -> str:
    # Accept the URLs hosting providers hand out and use the psycopg 3 driver.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class Config:
    # Signs sessions, CSRF tokens and e-mailed links. Required outside debug mode and tests (create_app refuses
    # to start without a proper one); `make` targets use a key of their own made once in instance/secret_key.
    SECRET_KEY = os.environ.get("SECRET_KEY") or None
    # How many reverse proxies in front of the app add X-Forwarded-For / X-Forwarded-Proto (0: none, the
    # headers are ignored). With the wrong number every visitor has the proxy's address (1 too few) or can
    # choose their own (1 too many).
    TRUSTED_PROXIES = int(os.environ.get("TRUSTED_PROXIES", "0"))
    # None means: SQLite file in the instance folder (set in create_app).
    SQLALCHEMY_DATABASE_URI = (
        _normalise_db_url(os.environ["DATABASE_URL"]) if os.environ.get("DATABASE_URL") else None)
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    # PostgreSQL plans a statement once per connection instead of on every run (core/database.py). Turn off
    # behind a pooler that cannot keep prepared statements (PgBouncer in transaction mode before 1.22).
    DATABASE_PREPARED_STATEMENTS = _bool("DATABASE_PREPARED_STATEMENTS", True)
    # After this many requests a process keeps what it holds out of the garbage collector's way (core/runtime.py).
    GC_FREEZE_AFTER_REQUESTS = int(os.environ.get("GC_FREEZE_AFTER_REQUESTS", "200"))
    BASE_URL = os.environ.get("BASE_URL", "http://127.0.0.1:5000")

    # Mail: SMTP when MAIL_SERVER is set, otherwise the log and instance/mail/.
    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
    MAIL_PORT = int(os.environ.get("MAIL_PORT", "25"))
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_USE_SSL = _bool("MAIL_USE_SSL")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "International Office <international@exchange.test>")
    MAIL_FOLDER = os.environ.get("MAIL_FOLDER")  # default: instance/mail

    UPLOAD_FOLDER = os.environ.get("UPLOAD_FOLDER")  # default: instance/uploads
    MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", str(12 * 1024 * 1024)))
    MAX_IMAGE_PIXELS = int(os.environ.get("MAX_IMAGE_PIXELS", str(4000 * 4000)))  # of a logo, signature, cover
    REDIS_URL = os.environ.get("REDIS_URL", "")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI") or REDIS_URL or "memory://"
    RATELIMIT_HEADERS_ENABLED = True
    # Per address, on the forms that guessers and spammers use (a sign-in, sign-up, reset request).
    AUTH_RATE_LIMIT = os.environ.get("AUTH_RATE_LIMIT", "30 per minute")

    # Background jobs (with REDIS_URL) and bulk certificate rendering
    RQ_QUEUE = os.environ.get("RQ_QUEUE", "exchange")
    JOB_TIMEOUT = int(os.environ.get("JOB_TIMEOUT", "3600"))
    CERTIFICATE_RENDER_PROCESSES = (int(os.environ["CERTIFICATE_RENDER_PROCESSES"])
                                    if os.environ.get("CERTIFICATE_RENDER_PROCESSES") else None)  # None: min(2, CPUs)
    CERTIFICATE_CHUNK_SIZE = int(os.environ.get("CERTIFICATE_CHUNK_SIZE", "50"))
    # Exports of more applications than this run as a background job (the file is offered on its page).
    EXPORT_INLINE_LIMIT = int(os.environ.get("EXPORT_INLINE_LIMIT", "2000"))
    # With Redis, matching runs of calls with more eligible applications than this run on a worker.
    MATCHING_INLINE_LIMIT = int(os.environ.get("MATCHING_INLINE_LIMIT", "2000"))
    VERIFY_RATE_LIMIT = os.environ.get("VERIFY_RATE_LIMIT", "60 per minute")
    # Organisers can check people in from this many minutes before an event starts.
    CHECKIN_OPENS_BEFORE_MINUTES = int(os.environ.get("CHECKIN_OPENS_BEFORE_MINUTES", "120"))

    # Sessions and cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=int(os.environ.get("IDLE_TIMEOUT_MINUTES", "60")))
    SESSION_REFRESH_EACH_REQUEST = True

    # Login throttling (the rules: auth/services.py). An address with LOGIN_MAX_FAILURES failures within
    # LOGIN_WINDOW_MINUTES may not try again until the window has passed; an account with
    # LOGIN_ACCOUNT_MAX_FAILURES failures (from several addresses: always more than one address may make) is
    # closed to addresses it has not signed in from within LOGIN_KNOWN_ADDRESS_DAYS, for the window.
    LOGIN_MAX_FAILURES = int(os.environ.get("LOGIN_MAX_FAILURES", "5"))
    LOGIN_WINDOW_MINUTES = int(os.environ.get("LOGIN_WINDOW_MINUTES", "15"))
    LOGIN_ACCOUNT_MAX_FAILURES = int(os.environ.get("LOGIN_ACCOUNT_MAX_FAILURES", "20"))
    LOGIN_KNOWN_ADDRESS_DAYS = int(os.environ.get("LOGIN_KNOWN_ADDRESS_DAYS", "90"))
    # Reset links and "someone tried to sign up with your address" notices: at most this many per account an hour.
    ACCOUNT_MAILS_PER_HOUR = int(os.environ.get("ACCOUNT_MAILS_PER_HOUR", "3"))
    PASSWORD_RESET_MAX_AGE = int(os.environ.get("PASSWORD_RESET_MAX_AGE", str(60 * 60)))
    INVITATION_MAX_AGE = int(os.environ.get("INVITATION_MAX_AGE", str(7 * 24 * 60 * 60)))

    PASSWORD_HASH_METHOD = "scrypt"

    LANGUAGES = ["en", "es", "fr"]
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = os.environ.get("DEFAULT_TIMEZONE", "Europe/Madrid")

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session
    TESTING = False


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret"
    GC_FREEZE_AFTER_REQUESTS = 0  # a test run's objects are not a serving process's
    SQLALCHEMY_DATABASE_URI = _normalise_db_url(os.environ.get("TEST_DATABASE_URL") or "sqlite://")
    WTF_CSRF_ENABLED = False
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # fast in tests; production uses scrypt
    MAIL_SERVER = ""
    BASE_URL = "http://exchange.test"
    REDIS_URL = ""
    RATELIMIT_STORAGE_URI = "memory://"
    AUTH_RATE_LIMIT = "10000 per minute"  # the tests that check the limit lower it
