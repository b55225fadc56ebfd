"""The municipal citizen assistant's own package: everything but the Rasa server glue."""
