"""Chat model providers: OpenAI Chat Completions (and any compatible server) and Anthropic Messages."""

import logging

# The SDKs log each request's options, prompts included, at DEBUG: never let them through.
for _name in ("openai", "anthropic"):
    logging.getLogger(_name).setLevel(logging.WARNING)
