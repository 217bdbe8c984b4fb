"""/dev/outbox: the codes the console gateway "sent", for demos (debug mode only).

Even in a demo the page holds live one-time codes: only logged-in staff who
check members' phones see it, and only the messages sent to members of their
own units. A message is tied to its member through the send's provider id,
which the gateway makes unique and the verification row keeps (a code sent
again replaces it there, so only each code's latest message is listed).
"""

from __future__ import annotations

from flask_admin import expose
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from backoffice import sms
from backoffice.auth.roles import MEMBER_VERIFY
from backoffice.auth.scoping import member_filter
from backoffice.extensions import db
from backoffice.models import Member, PhoneVerification
from backoffice.services.privacy import mask_phone
from backoffice.views.base import SecureView


class OutboxView(SecureView):
    permission = MEMBER_VERIFY

    def __init__(self):
        super().__init__(name=_l("SMS outbox"), endpoint="outbox", url="/dev/outbox")

    def is_visible(self) -> bool:
        return False  # reached from the phone-check pages' demo note, not the menu

    @expose("/")
    def outbox(self):
        messages = list(sms.gateway().outbox)
        sids = [message.sid for message in messages]
        visible = set(db.session.scalars(
            select(PhoneVerification.provider_sid)
            .join(Member, Member.id == PhoneVerification.member_id)
            .where(PhoneVerification.provider_sid.in_(sids),
                   member_filter(current_user, MEMBER_VERIFY)))) if sids else set()
        return self.render("outbox.html", messages=[
            (mask_phone(m.phone), m.text, m.sent_at) for m in messages if m.sid in visible])
