"""Strategies: the strategy language (parser, compiler), the backtester, sweeps and screens."""
