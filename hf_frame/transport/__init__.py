"""Getting one request answered: httpx clients, retries with backoff, concurrency and rate limits."""
