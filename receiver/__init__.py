"""The receiver: accept briefs over HTTP, keep them in a durable outbox, fire repository_dispatch."""
