"""Chat model providers: OpenAI Chat Completions (and any compatible server) and Anthropic Messages."""
