"""HTTP API, CLI, settings and the embedded stack: the ways into K2 Quant and its composition root."""
