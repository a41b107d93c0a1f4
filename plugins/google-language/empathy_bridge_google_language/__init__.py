"""empathy-bridge analyzer plugin for Google Cloud Natural Language analyzeSentiment."""
