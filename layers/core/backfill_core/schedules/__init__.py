"""Schedules: cron slots, exact counting, Kestra time, the order slots run in. Pure: no I/O."""
