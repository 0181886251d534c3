"""Data access, one module per DynamoDB table (and one for the work queue)."""
