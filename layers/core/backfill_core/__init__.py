"""Kestra-compatible schedule backfills: the domain and data access shared by every function."""
