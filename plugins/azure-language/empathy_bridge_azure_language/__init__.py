"""empathy-bridge analyzer plugin: Azure AI Language sentiment with opinion mining."""
