"""Handoffs to staff: why a conversation is handed over, and (later) the queue itself."""
