"""`backoffice worker`: a process that runs queued jobs, on any host (docs/jobs.md).

RQ's SimpleWorker runs each job in this process, inside one app; between jobs
it runs maintain() every JOB_MAINTENANCE_SECONDS (reap stale jobs, deliver
lost ones again, purge files past retention). Start as many as the hosts and
cores allow: each takes one job at a time.
"""

from __future__ import annotations

import logging

import click
from flask import current_app
from flask.cli import with_appcontext

from backoffice.extensions import db
from backoffice.jobs import queue

log = logging.getLogger(__name__)


def perform(job_id: int) -> str:
    """What RQ calls: run the job inside the worker's app."""
    from backoffice.jobs.runner import run

    app = current_app._get_current_object()
    try:
        with app.test_request_context():
            return run(job_id)
    finally:
        db.session.remove()  # each job starts with an empty session


def _worker_class():
    from rq.worker import SimpleWorker

    class Worker(SimpleWorker):
        def run_maintenance_tasks(self):
            super().run_maintenance_tasks()
            from backoffice import jobs

            with current_app.test_request_context():
                try:
                    log.info("maintenance: %s", jobs.maintain())
                except Exception:  # noqa: BLE001 - the next round retries
                    log.exception("maintenance failed")

    return Worker


@click.command("worker")
@click.option("--burst", is_flag=True, help="Stop when the queue is empty (for scripts).")
@with_appcontext
def worker(burst: bool) -> None:
    """Run queued jobs (imports, roll files, large exports) until stopped."""
    if queue.mode() != "rq":
        raise click.ClickException(
            "Set JOBS_REDIS_URL (e.g. redis://127.0.0.1:6379/1): without Redis, jobs run "
            "inside the app process and no worker is needed.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    every = current_app.config["JOB_MAINTENANCE_SECONDS"]
    # RQ runs maintenance between blocking reads of at most worker_ttl - 15 seconds.
    rq_worker = _worker_class()([queue.rq_queue()], connection=queue.redis_connection(),
                                worker_ttl=every + 15, maintenance_interval=every)
    rq_worker.work(burst=burst, with_scheduler=False)


@click.command("jobs-maintain")
@with_appcontext
def maintain_command() -> None:
    """Reap stale jobs, deliver lost ones again, delete files past their retention (what
    workers do every JOB_MAINTENANCE_SECONDS; for cron where no worker runs)."""
    from backoffice import jobs

    with current_app.test_request_context():
        click.echo(jobs.maintain())
