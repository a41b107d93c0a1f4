"""Built-in conversation trajectory (placeholder until issue 3)."""
