"""Which database errors get the 503 "not answering" page: the server unreachable,
shutting down or starting up, or no pooled connection free; not a statement that was
cancelled or waited too long for a lock (those stay a 500)."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors
from sqlalchemy import exc

from backoffice.database import unavailable


def wrapped(original: Exception, invalidated: bool = False) -> exc.DBAPIError:
    return exc.OperationalError("SELECT 1", {}, original, connection_invalidated=invalidated)


@pytest.mark.parametrize("error, outage", [
    (wrapped(psycopg.OperationalError("connection refused")), True),
    (wrapped(errors.AdminShutdown("terminating connection")), True),
    (wrapped(errors.CannotConnectNow("the database system is starting up")), True),
    (wrapped(errors.ConnectionFailure("connection failure")), True),
    (wrapped(errors.QueryCanceled("statement timeout"), invalidated=True), True),
    (exc.TimeoutError("QueuePool limit reached"), True),
    (wrapped(errors.QueryCanceled("canceling statement due to statement timeout")), False),
    (wrapped(errors.LockNotAvailable("canceling statement due to lock timeout")), False),
    (exc.IntegrityError("INSERT", {}, errors.UniqueViolation("duplicate key")), False),
    (RuntimeError("anything else"), False),
])
def test_only_an_unreachable_database_is_an_outage(error, outage):
    assert unavailable(error) is outage
