"""`backfill`, the command line of the backfills API: a client of the public HTTP API only (the local stack, or the
deployed API signed with SigV4 or a token), never of the tables or queues behind it."""
