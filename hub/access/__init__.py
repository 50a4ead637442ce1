"""Who may do what: API tokens (and, later, users and sessions)."""
