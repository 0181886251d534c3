"""Storage: one repository per DynamoDB table, and the work queue. Records are mapped here; no domain type is."""
