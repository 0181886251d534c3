"""`python -m backfill_cli`, the same as the `backfill` console script."""

from backfill_cli.commands import main

main()
