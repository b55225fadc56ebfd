"""Tables of our own channels: the Messenger message ids already seen, and conversation secrets.

Meta delivers a webhook event again when it does not get its 200 in time, sometimes twice at once.
A message id is recorded here (unique) before its message is processed, so a redelivery, also
one that arrives after a restart or at a second server, is recognised and ignored. Only the
opaque id and when it was seen are kept; what the citizen wrote is in the archive.
"""
from __future__ import annotations

from sqlalchemy import Column, DateTime, String

from bot.storage.base import Base, Id

#: Longest message id accepted (Meta's ids are about 100 characters).
MAX_MID_LENGTH = 255


class MessengerSeenMessage(Base):
    """A Messenger message id (``message.mid`` or ``postback.mid``) that was taken for processing."""

    __tablename__ = "messenger_seen_messages"

    id = Column(Id, primary_key=True, autoincrement=True)
    mid = Column(String(MAX_MID_LENGTH), nullable=False, unique=True)
    seen_at = Column(DateTime(timezone=True), nullable=False, index=True)


class ConversationSecret(Base):
    """The hash of the secret that lets a REST or widget client read its staff replies
    (see :mod:`bot.channels.conversations`)."""

    __tablename__ = "conversation_secrets"

    conversation_id = Column(String(200), primary_key=True)
    secret_hash = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False)
