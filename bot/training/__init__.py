"""The trainer studio: where trainers' edits live (the inbox of harvested messages, first)."""
