"""Safe defaults. No secrets live here.

Loaded by path (not imported), then overridden in order by instance/config.py,
BACKOFFICE_* environment variables and, in tests, the test mapping.
"""

# "production" or "development". Production refuses the default secret key.
ENV = "production"

# Sentinel: the app refuses to start in production while SECRET_KEY is this.
SECRET_KEY = "change-me"  # noqa: S105 - the sentinel production refuses

# None: a SQLite file under instance/. BACKOFFICE_DATABASE_URL overrides it,
# e.g. postgresql+psycopg://postgres@127.0.0.1:5432/sadasya
DATABASE_URL = None
SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

# Languages: Hindi first, because most users read it most easily.
LANGUAGES = ["hi", "en"]
BABEL_DEFAULT_LOCALE = "hi"
BABEL_DEFAULT_TIMEZONE = "Asia/Kolkata"

# Cookies: Secure follows ENV unless set explicitly (None = auto).
SESSION_COOKIE_SECURE = None
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_HTTPONLY = True
PERMANENT_SESSION_LIFETIME = 8 * 3600
WTF_CSRF_TIME_LIMIT = 8 * 3600

# Membership numbers read "CG" + 8 digits + a Verhoeff check digit.
MEMBERSHIP_PREFIX = "CG"

# Argon2id parameters (argon2-cffi defaults, RFC 9106 second choice).
PASSWORD_HASH = {"time_cost": 3, "memory_cost": 65536, "parallelism": 4}

# Rate limits: in memory unless BACKOFFICE_RATELIMIT_STORAGE_URL names Redis.
RATELIMIT_STORAGE_URI = "memory://"
RATELIMIT_HEADERS_ENABLED = True

# Demo seeding.
DEMO_MEMBERS = 3000
DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 - printed demo logins, development only

# Admin list pages.
LIST_PAGE_SIZE = 50

# Staff login: lock an account for a while after this many wrong passwords.
LOGIN_MAX_FAILURES = 5
LOGIN_LOCKOUT_MINUTES = 15
# Login attempts per client address (Flask-Limiter syntax), before the lockout.
LOGIN_RATE_LIMIT = "20/minute;200/hour"
# TOTP codes accepted one 30-second step either side (clock drift on phones).
TOTP_VALID_WINDOW = 1
# Members: how many may share one phone (families do), and the privacy notice in force.
MAX_MEMBERS_PER_PHONE = 5
PRIVACY_NOTICE_VERSION = "2026-11"
