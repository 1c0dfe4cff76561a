"""Tests of K2 Quant."""
