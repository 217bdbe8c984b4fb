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
# No pool pre-ping (a round trip per request): a connection the server dropped fails its
# request with the 503 page and SQLAlchemy replaces the pool's connections (docs/faults.md).
SQLALCHEMY_ENGINE_OPTIONS = {}
DATABASE_CONNECT_TIMEOUT = 3  # seconds to reach PostgreSQL before a request gives up
# PostgreSQL (docs/postgresql.md): each process (a gunicorn worker, a job worker) keeps
# this many connections, plus this many more at a peak; a request waits this long (seconds)
# for one; connections are replaced after this many seconds.
DATABASE_POOL_SIZE = 5
DATABASE_MAX_OVERFLOW = 5
DATABASE_POOL_TIMEOUT = 10
DATABASE_POOL_RECYCLE = 1800
# What one statement, one wait for a lock and one idle open transaction may take in a
# request (milliseconds, 0: no limit). Jobs and CLI commands run without them.
DATABASE_STATEMENT_TIMEOUT_MS = 30_000
DATABASE_LOCK_TIMEOUT_MS = 10_000
DATABASE_IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
# Migrations connect with this URL when set (a role that owns the tables), the app with
# DATABASE_URL (a role that owns nothing: `backoffice db grant-app-role`).
MIGRATION_DATABASE_URL = None

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
# Redis down or restarting: every process counts in its own memory meanwhile (the same
# limits, per process), logs it once, and goes back to Redis when it answers (docs/faults.md).
RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
RATELIMIT_STORAGE_TIMEOUT_SECONDS = 1.0  # a Redis that does not answer fails a check this fast
RATELIMIT_STORAGE_RETRY_SECONDS = 5.0  # how often a process counting alone asks Redis again

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

# SMS: console (demo; refused in production), memory (tests), twilio_verify, twilio_messaging.
SMS_GATEWAY = "console"
SMS_TIMEOUT_SECONDS = 5.0  # Twilio's connection, and each wait for its answer
# After this many sends in a row find the provider not answering, sends fail at once for
# SMS_BREAKER_RESET_SECONDS, then one trial send goes (docs/faults.md).
SMS_BREAKER_FAILURES = 5
SMS_BREAKER_RESET_SECONDS = 60
# A refused /join signup answers as a real send would while the gateway has been failing
# as a whole within this many seconds (backoffice/sms/health.py).
SMS_OUTAGE_WINDOW_SECONDS = 120
TWILIO_ACCOUNT_SID = None
TWILIO_AUTH_TOKEN = None
TWILIO_VERIFY_SERVICE_SID = None
TWILIO_FROM_NUMBER = None
TWILIO_MESSAGING_SERVICE_SID = None
# None: Twilio itself. A loopback URL (http://127.0.0.1:PORT) sends every Twilio request to
# a stand-in on this host (the stack test, a rehearsal); any other host is refused at start.
TWILIO_API_BASE_URL = None
# India's DLT registry: the registered entity, template and header for our OTP text.
# The text below must match the registered template exactly ({code} is its variable).
SMS_DLT_ENTITY_ID = None
SMS_DLT_TEMPLATE_ID = None
SMS_TEMPLATE = {
    "hi": "{code} आपका सदस्यता सत्यापन कोड है। यह 10 मिनट तक मान्य है। किसी को न बताएँ। -Sadasya",
    "en": "{code} is your membership verification code. Valid for 10 minutes. "
          "Do not share it. -Sadasya",
}
# SMS notices to members (docs/notifications.md): the DLT-registered text of each (its
# DLT template id beside it) and how often a send the gateway refused is tried.
SMS_NOTICE_TEMPLATES = {
    "approved": {"hi": "आपकी सदस्यता {number} स्वीकृत हो गई है। {link} -Sadasya",
                 "en": "Your membership {number} is approved. {link} -Sadasya",
                 "dlt_template_id": None},
    "rejected": {"hi": "आपका सदस्यता आवेदन स्वीकार नहीं हुआ: {reason}। अपने ब्लॉक अध्यक्ष से "
                       "संपर्क करें। {status} -Sadasya",
                 "en": "Your membership application was not accepted: {reason}. Contact your "
                       "block president. {status} -Sadasya",
                 "dlt_template_id": None},
    "preliminary": {"hi": "आपका नाम {number} प्रारंभिक सदस्यता सूची में है। दावे या आपत्ति "
                          "{claims_until} तक। {status} -Sadasya",
                    "en": "You are on the preliminary membership roll ({number}). Claims and "
                          "objections until {claims_until}. {status} -Sadasya",
                    "dlt_template_id": None},
}
# ({status} is the member's status page, /status at PUBLIC_BASE_URL: docs/status.md.)
NOTIFY_MAX_ATTEMPTS = 5
# A notice the gateway could not take is tried again after this (doubling each time).
NOTIFY_RETRY_SECONDS = 60
# Notices claimed, sent and recorded together (a worker killed mid-batch leaves at most
# this many "sending": never sent again, docs/notifications.md).
NOTIFY_BATCH = 100
# The sending limits notices count against: per mobile number (a family sharing one
# phone hears of each member's notice, spread out), and the sender's rate for all
# notices (below the provider's for our sender, leaving room for one-time codes). A
# notice over a limit waits (the job waits up to NOTIFY_WAIT_SECONDS for the rate, or
# a new job sends it later): it is never dropped.
NOTIFY_PHONE_LIMIT = "4/hour;8/day"
NOTIFY_RATE_LIMIT = "20/second"
NOTIFY_WAIT_SECONDS = 30
# The public https address of this site, for Twilio's delivery reports and their signatures.
PUBLIC_BASE_URL = None

# One-time codes (docs/sms-otp.md): NIST SP 800-63B, OWASP ASVS, Twilio's limits.
OTP_TTL_SECONDS = 600
OTP_MAX_CHECKS = 5
OTP_MAX_SENDS = 5
OTP_RESEND_COOLDOWN_SECONDS = 30  # doubles with each resend of the same code
OTP_PHONE_LIMIT = "3/hour;6/day"
OTP_IP_LIMIT = "30/hour"
OTP_ENROLLER_LIMIT = "60/hour"
OTP_PHONE_FAILURE_CAP = 30  # wrong codes for one number, ever (NIST: under 100)
OTP_FAILURE_WAIT_SECONDS = 60  # after 5 wrong codes in a row, then doubling

# Request bodies: at most this many bytes, except on the views that take a file, which
# allow their file's limit (PHOTO_MAX_BYTES, IMPORT_MAX_BYTES) plus the form around it.
MAX_CONTENT_LENGTH = 1_000_000

# Member photos: kept in storage (below) as photos/<ab>/<sha256>.jpg; the largest upload.
PHOTO_MAX_BYTES = 5_000_000

# Files (photos, paper-form uploads, exports, manifests; docs/storage.md): "database" keeps
# them in PostgreSQL, shared by every app host; "filesystem" in STORAGE_DIR (default: the
# instance folder), for the single-host demo. None: database on PostgreSQL, else filesystem.
STORAGE_BACKEND = None
STORAGE_DIR = None

# Public self-enrolment (/join): posts per client address, and the fastest a person fills it.
JOIN_RATE_LIMIT = "10/hour"
JOIN_MIN_SECONDS = 4
# ...and the longest its signed time stamp stays good (then the form is shown again).
JOIN_FORM_MAX_SECONDS = 2 * 3600
# A telephone number people joining may call for help, shown on the join pages ("" hides it).
JOIN_HELPLINE = ""
# A member's status lookup (/status, docs/status.md): posts per client address; code sends
# and code checks per membership number or voter ID typed; how long the status page
# stays open after the code is checked.
STATUS_RATE_LIMIT = "20/hour"
STATUS_LOOKUP_LIMIT = "3/hour;6/day"
STATUS_CHECK_LIMIT = "10/hour;20/day"
STATUS_SESSION_SECONDS = 300
# Reverse proxies in front of the app (0: none). Their X-Forwarded-* headers are
# trusted only with this set, for client addresses and https URLs. None: production
# refuses to start until the operator sets it (0 included); development takes 0.
PROXY_COUNT = None

# Logging (docs/logging.md): JSON lines on standard error, configured by the app unless
# testing (LOG_CONFIGURE True or False decides instead); a request slower than
# SLOW_REQUEST_MS milliseconds also gets a warning line.
LOG_CONFIGURE = None
LOG_LEVEL = "INFO"
SLOW_REQUEST_MS = 1000

# Audit log: the Ed25519 key that signs checkpoints (default instance/audit-signing-key.pem
# in development; production refuses to start until it is set; keep it off the database
# server), and the key of the HMACs standing for personal values
# (default: derived from SECRET_KEY).
AUDIT_SIGNING_KEY = None
AUDIT_HMAC_KEY = None
# PostgreSQL: a web request's events are committed with its change into audit_pending
# and chained by a background thread of the process, so the request's thread does not
# wait for the chaining round (docs/audit-log.md, "Throughput"). False: every commit
# waits until its events are chained, as commands and jobs always do.
AUDIT_CHAIN_IN_BACKGROUND = True
# The public keys (base64, as `backoffice audit keygen` prints them) whose signed
# checkpoints `backoffice audit verify --checkpoint` accepts; a checkpoint signed by any
# other key fails. A list, or one string with the keys separated by commas or spaces.
AUDIT_TRUSTED_KEYS = ()

# Audit reports: what counts as suspicious (per enroller-hour at night, members per phone,
# consecutive phone numbers), and the default window in days.
AUDIT_BURST_MIN_SIGNUPS = 10
AUDIT_NIGHT_HOURS = (23, 5)
AUDIT_SHARED_PHONE_MIN = 4
AUDIT_PHONE_RUN_MIN = 4
# One recruiter's recruits (docs/referrals.md): this many on one phone, or signed up from
# one client address (the join form allows 10 posts an hour per address), are reported.
AUDIT_REFERRAL_PHONE_MIN = 3
AUDIT_REFERRAL_ADDRESS_MIN = 10
AUDIT_REPORT_DAYS = 7

# Rolls: a single PDF holds at most this many lines (bigger rolls: one PDF per booth, zipped).
ROLL_PDF_MAX_LINES = 60000

# Paper-form imports: "otp" (imported members verify their phone like anyone) or
# "paper_evidence" (the block president may approve them on the paper form).
PAPER_APPROVAL = "otp"
# How long the person who approved, rejected or revoked a member may undo it (seconds).
UNDO_SECONDS = 120
# The largest paper-form spreadsheet one upload may carry.
IMPORT_MAX_BYTES = 60_000_000
# Import checks and commits, roll files and large exports run as jobs (docs/jobs.md).
# JOBS_REDIS_URL (e.g. redis://127.0.0.1:6379/1) sends them to `backoffice worker` processes
# on any host; without it they run in a thread of the app process (the single-host demo).
# JOBS_QUEUE forces one: "rq", "thread" or "inline" (at once, in the request: tests).
JOBS_REDIS_URL = None
JOBS_QUEUE = None
JOBS_QUEUE_NAME = "sadasya"  # the Redis list workers read (one per deployment sharing a Redis)
JOB_THREADS = 2  # the in-process runner's threads
JOB_TIMEOUT_SECONDS = 3 * 3600  # RQ stops a job running longer (a state-wide roll PDF is minutes)
JOB_HEARTBEAT_SECONDS = 5  # a running job writes its heartbeat and progress this often
JOB_STALE_SECONDS = 120  # a running job without a heartbeat this long is reaped (failed)
JOB_REDELIVER_SECONDS = 60  # a job still queued after this is handed to the queue again
JOB_MAINTENANCE_SECONDS = 30  # workers reap, redeliver and purge this often
# Uploaded paper-form files (members' personal data) are deleted this many days after their
# batch commits or, never committed, after upload; their SHA-256 stays in the audit log.
IMPORT_FILE_RETENTION_DAYS = 30
# Files jobs wrote for download (roll files, large exports) are deleted after this.
EXPORT_RETENTION_HOURS = 48
# A list export of more rows than this (the search and filters applied, as the list's
# bounded count sees them) is made by a job; smaller ones are sent at once. At most the
# lists' count bound (10,000), which the count never passes (docs/jobs.md).
EXPORT_JOB_ROWS = 5000

# The drive: the state aims to finish by DRIVE_AIM; the party's deadline is DRIVE_DEADLINE.
DRIVE_AIM = "2027-02-28"
DRIVE_DEADLINE = "2027-03-31"

# Membership cards (docs/cards.md): the Ed25519 key file that signs card statements and
# the revocation list (default instance/card-signing-key.pem, made on first use in
# development; production refuses to start until it is set; `backoffice cards keygen`
# makes it; keep it like the audit key), how long an SMS card link opens the card,
# and how often one address may open card links.
CARD_SIGNING_KEY = None
# Earlier card keys' public keys (base64, as `backoffice cards public-key` printed them
# before the key was replaced): cards they signed still verify at /check until the key
# is taken off this list. A list, or one string with the keys separated by commas or spaces.
CARD_TRUSTED_KEYS = ()
CARD_LINK_DAYS = 30
CARD_RATE_LIMIT = "30 per hour"
# How long a process serves the same /check/rolls.json (the final rolls a typed number
# is looked up in, and the numbers revoked since): a revocation reaches the checkers
# after at most this long; a roll finalised is served at once (docs/cards.md).
CHECK_ROLLS_SECONDS = 60
# The same for /check/revoked.json, the card revocation list: a card revoked (or its
# member's approval undone, or the member erased) stops verifying on the checkers after
# at most this long (docs/cards.md).
CHECK_REVOKED_SECONDS = 60
