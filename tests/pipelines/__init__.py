"""Tests of the pipelines layer."""
