"""Checking the chain, and signed checkpoints that outside witnesses keep.

Internal verification finds any edited, deleted, reordered or inserted row.
It cannot catch someone who rewrites the whole chain; a checkpoint signed
with a key kept off the database (Ed25519) can: verification against an
earlier checkpoint fails if anything up to it was rewritten.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backoffice.audit.chain import HASHED_FIELDS, row_hash
from backoffice.audit.state import consistent_snapshot
from backoffice.models import GENESIS, AuditEvent, AuditHead, utcnow
from backoffice.models.audit import AuditPending

BATCH = 5000


@dataclass
class Report:
    ok: bool
    checked: int
    broken_at: int | None = None  # the first position that does not verify
    problem: str = ""
    pending: int = 0  # events committed and not chained yet (not part of ``checked``)
    pending_since: str | None = None  # when the oldest of them happened


def verify_chain(session: Session, *, upto: int | None = None) -> Report:
    """Walk the chain in order, recomputing every hash; name the first bad position.

    Events waiting in audit_pending are counted, not checked: they have no position
    yet. On PostgreSQL a command-line run reads chain, head and pending in one
    snapshot, so appends going on meanwhile do not look like a broken end.
    """
    consistent_snapshot(session)
    report = _walk(session, upto)
    report.pending, report.pending_since = session.execute(
        select(func.count(), func.min(AuditPending.occurred_at))).one()
    return report


def _walk(session: Session, upto: int | None) -> Report:
    expected_seq, prev, checked, last = 1, GENESIS, 0, 0
    columns = [getattr(AuditEvent, name) for name in (*HASHED_FIELDS, "prev_hash", "row_hash")]
    query = select(*columns).order_by(AuditEvent.seq)  # rows, not cached ORM objects
    if upto is not None:
        query = query.where(AuditEvent.seq <= upto)
    result = session.execute(query.execution_options(yield_per=BATCH))
    try:  # a server-side cursor on PostgreSQL: closed even when we stop early
        for event in result:
            if event.seq != expected_seq:
                return Report(False, checked, expected_seq,
                              f"position {expected_seq} is missing (next is {event.seq})")
            if event.prev_hash != prev:
                return Report(False, checked, event.seq,
                              "does not follow the position before it")
            values = {name: getattr(event, name) for name in HASHED_FIELDS}
            if row_hash(prev, values) != event.row_hash:
                return Report(False, checked, event.seq, "its content was changed")
            prev, checked, last = event.row_hash, checked + 1, event.seq
            expected_seq += 1
    finally:
        result.close()
    head = session.execute(select(AuditHead.seq, AuditHead.row_hash)
                           .where(AuditHead.id == 1)).first()
    if upto is None and head is not None and (head.seq, head.row_hash) != (last, prev):
        return Report(False, checked, last + 1, "the chain ends before its recorded head")
    if upto is not None and last != upto:
        return Report(False, checked, last + 1, f"position {last + 1} is missing")
    return Report(True, checked)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    return serialization.load_pem_private_key(path.read_bytes(), password=None)


def new_key(path: Path) -> str:
    """Write a new signing key (mode 600); return its public key, to publish."""
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=False)
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return _public_b64(key.public_key())


def _public_b64(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def _message(seq: int, digest: str) -> bytes:
    return f"sadasya-audit-checkpoint:{seq}:{digest}".encode()


def checkpoint(session: Session, key: Ed25519PrivateKey) -> dict:
    """Sign the chain's current head: (seq, row_hash), after checking the chain."""
    report = verify_chain(session)
    if not report.ok:
        raise ValueError(f"the chain is broken at position {report.broken_at}: "
                         f"{report.problem}; no checkpoint signed")
    head = session.execute(select(AuditHead.seq, AuditHead.row_hash)
                           .where(AuditHead.id == 1)).one()
    return {"seq": head.seq, "row_hash": head.row_hash,
            "signed_at": utcnow().isoformat(timespec="seconds") + "Z",
            "public_key": _public_b64(key.public_key()),
            "signature": base64.b64encode(key.sign(_message(head.seq, head.row_hash))).decode()}


def verify_checkpoint(session: Session, data: dict, trusted_keys: Iterable[str]) -> Report:
    """The checkpoint is signed by a key we trust, and the chain up to it verifies and
    still ends in the signed hash.

    Trust comes from the caller (the AUDIT_TRUSTED_KEYS setting), never from the
    file: a checkpoint names its own public key, and whoever forged it would name theirs.
    """
    trusted = [key for key in trusted_keys if key]
    if not trusted:
        return Report(False, 0, None, "no trusted public key is configured "
                                      "(AUDIT_TRUSTED_KEYS): nothing can vouch for a checkpoint")
    if not any(_signed_by(key, data) for key in trusted):
        return Report(False, 0, None, "the checkpoint is not signed by a trusted key")
    seq = int(data["seq"])
    report = verify_chain(session, upto=seq)
    if not report.ok:
        return report
    signed_hash = session.scalar(select(AuditEvent.row_hash).where(AuditEvent.seq == seq))
    if seq and signed_hash != data["row_hash"]:
        return Report(False, report.checked, seq,
                      "the log was rewritten: this position no longer has the signed hash")
    return report


def _signed_by(public: str, data: dict) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public, validate=True)).verify(
            base64.b64decode(data["signature"], validate=True),
            _message(int(data["seq"]), str(data["row_hash"])))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


def write_checkpoint(data: dict, path: Path) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
