"""Projections: forecasting methods, their stored paths and bands, scoring and evaluation."""
