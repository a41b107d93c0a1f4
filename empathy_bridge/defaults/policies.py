"""Built-in decision policies (placeholder until issue 7)."""
