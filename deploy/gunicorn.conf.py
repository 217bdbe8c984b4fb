"""gunicorn settings for one Sadasya app server (`deploy/sadasya-web.service` starts
`gunicorn -c deploy/gunicorn.conf.py wsgi:app`). Sized and explained in docs/deploying.md.

Environment (all optional; the env file from deploy/sadasya.env.template sets them):
  SADASYA_BIND      where to listen, e.g. 127.0.0.1:8001 (nginx in front; default that)
  SADASYA_WORKERS   processes (default: 2 per core, at least 2)
  SADASYA_THREADS   threads per process (default 4)
  SADASYA_TIMEOUT   seconds a request may run before its worker is replaced (default 60)
"""

import multiprocessing
import os

bind = os.environ.get("SADASYA_BIND", "127.0.0.1:8001").split()

# Threads, not async: the app is synchronous and most of a request's time is waiting for
# PostgreSQL, Redis or Twilio, which a thread gives back. Processes for the CPU-bound
# part (Argon2 at login, templates; PDFs run in the job workers): measured in
# docs/deploying.md, 2 processes per core x 4 threads recorded the most members with the
# shortest slow tail; 4 x 4 was worse on every figure. Each process keeps its own database
# pool (DATABASE_POOL_SIZE 5
# + DATABASE_MAX_OVERFLOW 5 >= threads), so PostgreSQL's max_connections must cover
# workers x 10 per app server, plus the job workers'.
worker_class = "gthread"
workers = int(os.environ.get("SADASYA_WORKERS") or max(2, 2 * multiprocessing.cpu_count()))
threads = int(os.environ.get("SADASYA_THREADS") or 4)

# Time-outs. A request that runs past `timeout` gets its worker killed and replaced
# (PostgreSQL's statement time-out, 30 s, ends a stuck query first: it answers an error
# page, not a dead connection). graceful_timeout: on a reload or stop, workers finish the
# requests in hand for this long. keepalive: nginx opens a connection per request (no
# upstream keep-alive, docs/deploying.md), so an idle one is closed after gunicorn's 2 s.
timeout = int(os.environ.get("SADASYA_TIMEOUT") or 60)
graceful_timeout = 30
keepalive = 2

# Graceful restarts: `systemctl reload sadasya-web` sends SIGHUP; gunicorn starts new
# workers with the new code and settings, then stops the old ones after their requests.
# Not preloaded, so a reload reads the new release's code and each worker opens its own
# database connections after the fork (none shared across processes).
preload_app = False
# Replace each worker after about this many requests (jitter: not all at once), so a slow
# leak in a library cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200

# Logs. No gunicorn access log: the app writes its own access line per request as JSON
# with the request id, the user's id and the duration, masked like every other line
# (docs/logging.md); gunicorn's would repeat it without the request id, and with the
# query string, where list searches (names, phones) live. gunicorn's own messages (worker
# started, timed out, exited) go to standard error, into the journal.
accesslog = None
errorlog = "-"
loglevel = "info"
capture_output = False

# Behind nginx on the loopback: the app itself trusts X-Forwarded-* only from
# BACKOFFICE_PROXY_COUNT proxies (werkzeug's ProxyFix); gunicorn need not.
forwarded_allow_ips = "127.0.0.1,::1"
proc_name = "sadasya-web"
# gunicorn's control socket ($HOME/.gunicorn/gunicorn.ctl) is not used: systemctl
# signals the master; two app servers on one host would otherwise share one socket path.
control_socket_disable = True
# Request line and header limits: gunicorn's defaults (4094 bytes, 100 headers);
# nginx refuses larger ones before they reach us.
