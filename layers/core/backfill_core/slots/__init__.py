"""Slots: the work queue's message, and the executor's run of one slot through its execution's attempts."""
