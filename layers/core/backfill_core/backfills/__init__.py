"""Backfills: the record and its state machine, planning, commands, holds, a slot's life, the watchdog, reads."""
