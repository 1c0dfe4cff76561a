"""Tests of the storage layer against real stores."""
