"""Clients for the vendor APIs behind each source (httpx), sharing one retry policy."""
