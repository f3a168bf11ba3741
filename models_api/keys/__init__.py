"""API keys: the key format, peppered hashes, the key store, and the in-instance key index."""
