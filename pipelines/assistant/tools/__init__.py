"""The assistant's tools: thin calls into our own services, each under the caller's role."""
