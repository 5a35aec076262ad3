"""The built-in backends, each a pluggy plugin registered through an entry point."""
