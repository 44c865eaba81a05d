"""Background jobs and the queue that runs them (RQ on Redis, or in-process)."""
