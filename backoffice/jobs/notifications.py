"""The job that sends one SMS notice (services/notifications.py, docs/notifications.md).

The notice's own row decides whether it is sent, not the job: the job commits the
claim before the gateway is asked, so a job redelivered, retried or run again after
its worker died finds the notice taken and sends nothing.
"""

from __future__ import annotations

from backoffice import jobs
from backoffice.services import notifications


@jobs.define("notify.send")
def send(context, id: int) -> dict:  # noqa: A002 - the job's argument name
    outcome = notifications.send(id)
    if outcome == "retry":  # the gateway was down: a new job, after this one is done
        retry = jobs.submit("notify.send", f"notification:{id}", {"id": id}, None)
        return {"outcome": outcome, "retry_job": retry.id}
    return {"outcome": outcome}
