"""Rendered from records alone: report, compare, check, history and the published site."""
