"""empathy-bridge analyzer plugin for OpenAI-compatible chat endpoints (vLLM, Ollama, hosted)."""
