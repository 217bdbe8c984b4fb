"""Delivering job ids to whatever runs them (JOBS_QUEUE, docs/jobs.md).

- ``rq``: a Redis list that `backoffice worker` processes on any host read
  (RQ's SimpleWorker); the job row, not RQ, keeps the job's state.
- ``thread``: a small thread pool in this process, for the single-host demo
  without Redis (the same runner code; progress read in-process on SQLite).
- ``inline``: run at once in the caller, after its commit (tests).
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from flask import Flask, current_app

log = logging.getLogger(__name__)
PERFORM = "backoffice.jobs.worker.perform"


def mode(app: Flask | None = None) -> str:
    config = (app or current_app).config
    return config.get("JOBS_QUEUE") or ("rq" if config.get("JOBS_REDIS_URL") else "thread")


def deliver(job_id: int, *, again: bool = False) -> None:
    kind = mode()
    if kind == "inline":
        from backoffice.jobs.runner import run

        run(job_id)
    elif kind == "thread":
        _pool().submit(_run_in_thread, current_app._get_current_object(), job_id)
    elif kind == "rq":
        _enqueue(job_id, again=again)
    else:
        raise ValueError(f"JOBS_QUEUE must be rq, thread or inline, not {kind!r}")


def deliver_at(job_id: int, when) -> None:
    """Deliver a job that may not run before ``when`` (UTC): in the app's threads, a
    timer; with workers (rq), their maintenance hands it over once due; inline: not at
    all (tests run it when they choose)."""
    if mode() != "thread":
        return
    import threading

    from backoffice.models.base import utcnow

    app = current_app._get_current_object()
    delay = max(0.0, (when - utcnow()).total_seconds()) + 0.5
    timer = threading.Timer(delay, lambda: _pool_of(app).submit(_run_in_thread, app, job_id))
    timer.daemon = True
    timer.start()


def _pool_of(app: Flask) -> ThreadPoolExecutor:
    with app.app_context():
        return _pool()


def redis_connection(app: Flask | None = None):
    from redis import Redis

    app = app or current_app
    connection = app.extensions.get("jobs_redis")
    if connection is None:
        connection = app.extensions["jobs_redis"] = Redis.from_url(
            app.config["JOBS_REDIS_URL"], socket_connect_timeout=5, socket_timeout=30)
    return connection


def rq_queue(app: Flask | None = None):
    from rq import Queue

    app = app or current_app
    return Queue(app.config["JOBS_QUEUE_NAME"], connection=redis_connection(app))


def _enqueue(job_id: int, *, again: bool) -> None:
    from rq.job import Job as RqJob
    from rq.job import JobStatus

    queue = rq_queue()
    rq_id = f"{queue.name}-job-{job_id}"
    if again:
        try:
            found = RqJob.fetch(rq_id, connection=queue.connection)
        except Exception:  # noqa: BLE001 - not there any more: deliver it again
            found = None
        if found is not None and found.get_status() in (JobStatus.QUEUED, JobStatus.STARTED):
            return  # still waiting its turn or being run: nothing was lost
    try:
        queue.enqueue(PERFORM, job_id, job_id=rq_id,
                      job_timeout=current_app.config["JOB_TIMEOUT_SECONDS"], result_ttl=0,
                      failure_ttl=24 * 3600)
    except Exception:  # noqa: BLE001 - Redis down: the job row waits; maintain() retries
        log.warning("job %s: not handed to the queue now; delivered again later", job_id)


def _pool() -> ThreadPoolExecutor:
    app = current_app._get_current_object()
    pool = app.extensions.get("jobs_pool")
    if pool is None:
        pool = app.extensions["jobs_pool"] = ThreadPoolExecutor(
            max_workers=app.config["JOB_THREADS"], thread_name_prefix="job")
        pool.submit(_maintain_in_thread, app)  # jobs a previous run of this process left
    return pool


def _run_in_thread(app: Flask, job_id: int) -> None:
    from backoffice.jobs.runner import run

    with app.app_context(), app.test_request_context():
        try:
            run(job_id)
        except Exception:  # noqa: BLE001 - a thread has nobody to raise to
            log.exception("job %s: the runner itself failed", job_id)


def _maintain_in_thread(app: Flask) -> None:
    from backoffice import jobs

    with app.app_context(), app.test_request_context():
        try:
            jobs.maintain()
        except Exception:  # noqa: BLE001
            log.exception("jobs: maintenance failed")
