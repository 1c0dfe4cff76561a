"""Indicators: TA-Lib and our own functions as series joined to chart slices."""
