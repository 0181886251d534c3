"""SigV4 for the deployed API (API Gateway with AWS_IAM): botocore signs each request with the credentials of the
usual AWS chain (environment, profile, SSO, instance role), as the AWS CLI would."""

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from botocore.credentials import Credentials

SERVICE = "execute-api"
# https://<api id>.execute-api.<region>.amazonaws.com[/stage]
EXECUTE_API_HOST = re.compile(r"^[a-z0-9]+\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$")


class SigningUnavailable(Exception):
    """SigV4 was asked for (or implied by the URL) but cannot be done: no region or no credentials."""


def region_in_url(url: str) -> str | None:
    """The region an execute-api URL names, or None for any other host (a custom domain, a stand-in)."""
    match = EXECUTE_API_HOST.match(urlsplit(url).hostname or "")
    return match.group(1) if match else None


def is_aws_url(url: str) -> bool:
    """An AWS endpoint: its calls must be signed whatever the options say."""
    return (urlsplit(url).hostname or "").endswith((".amazonaws.com", ".amazonaws.com.cn"))


@dataclass(frozen=True)
class SigV4Signer:
    """Signs one prepared request at a time; credentials are read again each time, so refreshed ones are used."""

    region: str
    credentials: "Credentials"

    @classmethod
    def from_chain(cls, url: str, region: str | None) -> "SigV4Signer":
        import botocore.session

        session = botocore.session.Session()
        region = region or region_in_url(url) or session.get_config_variable("region")
        if not region:
            raise SigningUnavailable("--region: no AWS region given, none in the URL nor in the AWS configuration")
        credentials = session.get_credentials()
        if credentials is None:
            raise SigningUnavailable(
                "--sigv4: no AWS credentials found (environment, ~/.aws profile, SSO or instance role)"
            )
        return cls(region, credentials)

    def headers_for(self, method: str, url: str, body: bytes | None, content_type: str | None) -> dict[str, str]:
        """Authorization, X-Amz-Date and (with temporary credentials) X-Amz-Security-Token for this request;
        `url` must be the one sent, query included, and `content_type` is signed with it."""
        from botocore.auth import SigV4Auth
        from botocore.awsrequest import AWSRequest

        headers = {"Content-Type": content_type} if content_type else {}
        request = AWSRequest(method=method, url=url, data=body or b"", headers=headers)
        SigV4Auth(self.credentials.get_frozen_credentials(), SERVICE, self.region).add_auth(request)
        return {k: v for k, v in request.headers.items() if k.lower() != "content-type"}
