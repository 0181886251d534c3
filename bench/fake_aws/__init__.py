"""An in-memory DynamoDB and SQS behind botocore, for the AWS-like bench (bench/aws_like.py)."""
