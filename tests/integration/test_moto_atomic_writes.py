"""The local stack and the threaded tests rely on DynamoDB's atomic conditional writes: every write that
succeeds moves the version once, however many threads race (moto alone loses some; see local/moto_thread_safety.py)."""

import threading

import boto3
from botocore.exceptions import ClientError

THREADS, WRITES = 4, 60


def test_racing_conditional_writes_lose_no_update(aws):
    client = boto3.client("dynamodb")
    name = client.list_tables()["TableNames"][0]
    keys = {a["AttributeName"]: {"S": "race"} for a in client.describe_table(TableName=name)["Table"]["KeySchema"]}
    client.put_item(TableName=name, Item={**keys, "version": {"N": "0"}})
    succeeded = []

    def writer():
        done = 0
        while done < WRITES:
            seen = client.get_item(TableName=name, Key=keys, ConsistentRead=True)["Item"]["version"]["N"]
            try:
                client.update_item(
                    TableName=name,
                    Key=keys,
                    UpdateExpression="SET version = :next",
                    ConditionExpression="version = :seen",
                    ExpressionAttributeValues={":seen": {"N": seen}, ":next": {"N": str(int(seen) + 1)}},
                )
                done += 1
            except ClientError as error:
                assert error.response["Error"]["Code"] == "ConditionalCheckFailedException"
        succeeded.append(done)

    threads = [threading.Thread(target=writer) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    final = client.get_item(TableName=name, Key=keys, ConsistentRead=True)["Item"]["version"]["N"]
    assert int(final) == sum(succeeded) == THREADS * WRITES
