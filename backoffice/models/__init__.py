"""The domain model. Importing this package registers every table."""

from backoffice.models.audit import GENESIS, AuditEvent, AuditHead
from backoffice.models.base import Base, utcnow
from backoffice.models.cards import MemberCard
from backoffice.models.imports import ImportBatch, ImportProblem
from backoffice.models.jobs import JOB_STATES, Job
from backoffice.models.members import CHANNELS, GENDERS, RELATIONS, STATUSES, Member
from backoffice.models.rolls import ROLL_STATES, Roll, RollClaim, RollEntry
from backoffice.models.staff import ROLES, RoleAssignment, StaffUser
from backoffice.models.storage import StoredChunk, StoredFile
from backoffice.models.tallies import MemberTally
from backoffice.models.targets import MemberDaily, UnitTarget
from backoffice.models.units import LEVELS, Unit, level_depth
from backoffice.models.verification import (
    JoinSignup,
    PhoneRecord,
    PhoneVerification,
    SmsStatusEvent,
)

__all__ = [
    "GENESIS",
    "ImportBatch",
    "ImportProblem",
    "JOB_STATES",
    "Job",
    "JoinSignup",
    "AuditEvent",
    "AuditHead",
    "CHANNELS",
    "GENDERS",
    "LEVELS",
    "RELATIONS",
    "ROLES",
    "STATUSES",
    "Base",
    "Member",
    "MemberCard",
    "MemberDaily",
    "MemberTally",
    "UnitTarget",
    "PhoneRecord",
    "PhoneVerification",
    "ROLL_STATES",
    "RoleAssignment",
    "Roll",
    "RollClaim",
    "RollEntry",
    "SmsStatusEvent",
    "StaffUser",
    "StoredChunk",
    "StoredFile",
    "Unit",
    "level_depth",
    "utcnow",
]
