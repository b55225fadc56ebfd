"""Input channels of our own (served by the Rasa server under /webhooks/<name>/)."""
