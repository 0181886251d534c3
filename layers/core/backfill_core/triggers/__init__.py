"""Triggers: a trigger's key and state, Kestra's PUT /api/v1/triggers, the live schedule."""
