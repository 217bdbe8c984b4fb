"""Long work as jobs: a row in the database is the job's truth, a queue delivers it.

- ``submit()`` writes the job row in the caller's transaction (with the change
  that asks for it, e.g. a batch moving to "committing"), so a job exists
  exactly when that change committed. A second submit of the same work while
  the first is queued or running gets the first job back (``active_key``).
- ``dispatch()`` hands the committed job to the queue (docs/jobs.md):
  ``rq`` (Redis, workers on any host run `backoffice worker`), ``thread``
  (in this process: the single-host demo without Redis) or ``inline`` (now,
  in the caller: tests). The same runner code runs in all three.
- A worker claims a job with a conditional update (queued -> running), so a
  redelivered job runs once; the job's work and its "done" commit together, so
  a worker killed half-way leaves nothing of it; a running job whose heartbeat
  stops is reaped (failed, its subject handed back) by ``maintain()``.

Runners live beside this module (jobs/imports.py, jobs/rolls.py, jobs/exports.py);
the rules they run stay in services.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import insert, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError

from backoffice.extensions import db
from backoffice.i18n import current_language
from backoffice.models import Job

LANGUAGES = ("en", "hi")
STOPPED = _l("The job stopped on an error. Start it again; if it stops again, tell the "
             "state office.")
LOST = _l("The job stopped before it finished (its worker was restarted). Nothing of it was "
          "kept: start it again.")


@dataclass(frozen=True)
class Runner:
    kind: str
    run: Callable
    on_fail: Callable[[dict], None] | None  # hands the subject back (in the failing txn)
    after: Callable[[dict], dict] | None  # once done is committed: more for the result


RUNNERS: dict[str, Runner] = {}


def define(kind: str, *, on_fail: Callable[[dict], None] | None = None,
           after: Callable[[dict], dict] | None = None):
    """Register fn(context, **args) as the code of jobs of this kind. on_fail(args) runs
    in the transaction that fails the job; after(result) once its "done" is committed
    (e.g. signing what needs the committed audit chain)."""
    def register(fn):
        RUNNERS[kind] = Runner(kind, fn, on_fail, after)
        return fn
    return register


def submit(kind: str, subject: str, args: dict, actor, *, key: str | None = None,
           run_after=None) -> Job:
    """A queued job in the caller's transaction (the caller commits, then dispatches).
    With a key, a job of that key still queued or running is returned instead. With
    ``run_after`` (a UTC datetime), no delivery runs it before then: the workers'
    maintenance hands it to the queue once it is due (``dispatch_later`` in the demo)."""
    _load_runners()
    if kind not in RUNNERS:
        raise LookupError(kind)
    values = {"kind": kind, "subject": subject, "active_key": key, "args": json.dumps(args),
              "state": "queued", "progress": 0, "attempts": 0,
              "created_by_id": getattr(actor, "id", None), "run_after": run_after}
    if key is not None:
        try:
            with db.session.begin_nested():  # a double click: the first job wins
                job_id = db.session.execute(insert(Job).values(**values)
                                            .returning(Job.id)).scalar_one()
        except IntegrityError:
            return db.session.scalars(select(Job).where(Job.active_key == key)).one()
        return db.session.get(Job, job_id)
    job = Job(**values)
    db.session.add(job)
    db.session.flush()
    return job


def dispatch(job: Job | int) -> None:
    """Hand a committed job to the queue. Safe to repeat: a job runs once whatever
    the number of deliveries."""
    from backoffice.jobs import queue

    # The id without loading the (expired) row: the caller's session opens no
    # transaction that the job's own session would run inside.
    queue.deliver(job if isinstance(job, int) else sa_inspect(job).identity[0])


def dispatch_later(job_id: int, when) -> None:
    """After the commit: have a job with ``run_after`` delivered at ``when`` where no
    worker's maintenance would (the demo's threads); with workers, maintenance does."""
    from backoffice.jobs import queue

    queue.deliver_at(job_id, when)


def latest(subject: str) -> Job | None:
    return db.session.scalars(select(Job).where(Job.subject == subject)
                              .order_by(Job.id.desc()).limit(1)).first()


def status(job: Job | None) -> dict | None:
    """What a page shows of a job, in the reader's language, from any host."""
    if job is None:
        return None
    from backoffice.jobs import runner as running

    live = running.live_progress(job.id)
    return {"id": job.id, "kind": job.kind, "state": job.state,
            "progress": live if live is not None else job.progress,
            "total": job.total if job.total is not None else running.live_total(job.id),
            "error": error_text(job),
            "ready": job.state == "done" and "file" in result_of(job) and
            not result_of(job).get("following")}


def error_text(job: Job) -> str | None:
    if not job.error:
        return None
    texts = json.loads(job.error)
    return texts.get(current_language()) or texts.get("en")


def in_languages(message) -> str:
    """A message (lazy or plain) kept in every language, for whoever reads it later."""
    texts = {}
    for language in LANGUAGES:
        with force_locale(language):
            texts[language] = str(message)
    return json.dumps(texts, ensure_ascii=False)


def result_of(job: Job) -> dict:
    return json.loads(job.result or "{}")


def maintain() -> dict:
    """Reap stale running jobs, deliver again queued ones the queue may have lost,
    and remove files past their retention. Workers call it every few seconds."""
    from backoffice.jobs import retention, runner

    done = runner.reap()
    done["redelivered"] = runner.redeliver()
    done.update(retention.purge())
    done["audit_chained"] = _chain_waiting_audit_events()
    return done


def _chain_waiting_audit_events() -> int:
    """Chain audit events a process left waiting (it died between its commit and its
    round, or its background appender failed): nothing else may commit for a while."""
    from backoffice.audit import capture, chain
    from backoffice.extensions import db

    engine = capture.deferring_engine(db.session)
    return chain.chain_all(engine) if engine is not None else 0


def _load_runners() -> None:
    """Import the runner modules (they register themselves)."""
    from backoffice.jobs import exports, imports, notifications, rolls  # noqa: F401


def config(name: str):
    return current_app.config[name]
