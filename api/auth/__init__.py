"""Access control: credentials, sessions, API keys, guards, rate limits and the audit trail."""
