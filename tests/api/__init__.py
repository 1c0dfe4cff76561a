"""Tests of the HTTP API over the real app and stores."""
