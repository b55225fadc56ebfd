"""The staff web app: sign-in, the handoff queue, conversations, notes and the audit log."""
