"""Kestra's AWS connection (plugin-aws's AbstractConnection), which every AWS task shares: Lambda, SQS, SNS and
S3 tasks alike. They run in the task runner with its own role, so the credentials a flow could give (keys, a role
to assume, another endpoint) are refused: a flow reaches only what the deployment granted its task runner."""

OWN_ROLE = (
    "not supported: AWS tasks use the task runner's own role (grant it with the FlowAwsPolicyArns parameter), "
    "never credentials, a role or an endpoint from the flow"
)
S3_COMPATIBLE = "not supported: AWS tasks reach AWS itself, not an S3-compatible store"

# Property name -> None when implemented, else why it is refused (see flows/properties.py).
AWS_CONNECTION: dict[str, str | None] = {
    "region": None,
    "endpointOverride": OWN_ROLE,
    "accessKeyId": OWN_ROLE,
    "secretKeyId": OWN_ROLE,
    "sessionToken": OWN_ROLE,
    "stsRoleArn": OWN_ROLE,
    "stsRoleExternalId": OWN_ROLE,
    "stsRoleSessionName": OWN_ROLE,
    "stsRoleSessionDuration": OWN_ROLE,
    "stsEndpointOverride": OWN_ROLE,
    "compatibilityMode": S3_COMPATIBLE,
    "forcePathStyle": S3_COMPATIBLE,
}
