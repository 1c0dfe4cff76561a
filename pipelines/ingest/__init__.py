"""Bars in: sources, the bar file reader, fetch, flat-file loads, file imports and the live stream."""
