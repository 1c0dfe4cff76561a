"""Loopback servers that speak external services' wire formats, for real-client tests."""
