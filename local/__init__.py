"""The local stack: moto as DynamoDB and SQS, the handlers served and driven as Lambda would drive them."""
