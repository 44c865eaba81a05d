"""The data model of the whole product, in SQLAlchemy 2.0 typed style."""

from hotline.models.audit import AuditEvent
from hotline.models.base import Base
from hotline.models.case import Case, CaseNote
from hotline.models.console_session import ConsoleSession
from hotline.models.contact import Contact
from hotline.models.conversation import Conversation
from hotline.models.flow_version import FlowVersion
from hotline.models.job import DurableJob
from hotline.models.message import InboundMessage, OutboundMessage
from hotline.models.provider import Provider, ProviderContact
from hotline.models.referral import Alert, Referral
from hotline.models.user import User

__all__ = [
    "Alert",
    "AuditEvent",
    "Base",
    "Case",
    "CaseNote",
    "ConsoleSession",
    "Contact",
    "Conversation",
    "DurableJob",
    "FlowVersion",
    "InboundMessage",
    "OutboundMessage",
    "Provider",
    "ProviderContact",
    "Referral",
    "User",
]
