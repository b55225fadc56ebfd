"""Website content: ingestion, passages, the search index and answer selection."""
