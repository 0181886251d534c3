"""Kestra's API: request models, Kestra's JSON shaped from the domain, and the searches of the read side."""
