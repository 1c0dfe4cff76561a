"""The AI assistant: providers, tools over our own services, chat turns and agent workflows."""
