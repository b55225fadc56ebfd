"""The public-records archive: every exchange, kept complete and unaltered, and its exports."""
