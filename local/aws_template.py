"""template.yaml read as data: the local stack and the tests make their tables and queues from it.

So the local stack, the tests and the deployed stack cannot drift apart: names, keys, indexes, queue
attributes and the functions' environment all come from the one template.
"""

import json
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads CloudFormation's short tags (!Ref X) as their long forms ({"Ref": X})."""


def _tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_CfnLoader.add_multi_constructor("!", _tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


def resources_of_type(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r.get("Properties", {}) for name, r in template["Resources"].items() if r["Type"] == kind}


class LocalResources:
    """Tables named after their logical ids, queues likewise; `resolve` turns !Ref/!GetAtt into values."""

    def __init__(self, template: dict[str, Any], region: str):
        self.template = template
        self.region = region
        self.queue_urls: dict[str, str] = {}
        self.queue_arns: dict[str, str] = {}
        self.secret_arns: dict[str, str] = {}
        self.conditions: set[str] = set()  # the template's conditions that hold here

    def bucket_name(self, logical_id: str) -> str:
        """S3 wants lowercase names; on AWS CloudFormation makes one up."""
        return logical_id.lower()

    def create(self, dynamodb, sqs, s3=None, events=None) -> None:
        if events is not None:  # EventBridge buses, named after their logical ids (as !Ref resolves here)
            for name in resources_of_type(self.template, "AWS::Events::EventBus"):
                events.create_event_bus(Name=name)
        if s3 is not None:
            for name in resources_of_type(self.template, "AWS::S3::Bucket"):
                s3.create_bucket(Bucket=self.bucket_name(name))
        for name, props in resources_of_type(self.template, "AWS::DynamoDB::Table").items():
            request = {
                "TableName": name,
                "AttributeDefinitions": props["AttributeDefinitions"],
                "KeySchema": props["KeySchema"],
                "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
            }
            if props.get("GlobalSecondaryIndexes"):
                request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
            dynamodb.create_table(**request)
            ttl = props.get("TimeToLiveSpecification")
            if ttl:
                dynamodb.update_time_to_live(TableName=name, TimeToLiveSpecification=ttl)
        queues = resources_of_type(self.template, "AWS::SQS::Queue")
        for name in queues:
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            self.queue_urls[name] = url
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            self.queue_arns[name] = arn
        for name, props in queues.items():
            attributes = {}
            for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"):
                if key in props:
                    attributes[key] = str(props[key])
            if "RedrivePolicy" in props:
                attributes["RedrivePolicy"] = json.dumps(self.resolve(props["RedrivePolicy"]))
            if attributes:
                sqs.set_queue_attributes(QueueUrl=self.queue_urls[name], Attributes=attributes)

    def create_api_token_secret(self, secretsmanager, token: str) -> str:
        """ApiTokenSecret, holding the given token (on AWS the stack generates one), and its condition true;
        returns the secret's ARN."""
        secret = self.template["Resources"]["ApiTokenSecret"]
        arn = secretsmanager.create_secret(Name="ApiTokenSecret", SecretString=token)["ARN"]
        self.secret_arns["ApiTokenSecret"] = arn
        self.conditions.add(secret["Condition"])
        return arn

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and set(value) == {"Ref"}:
            target = value["Ref"]
            if self.template["Resources"].get(target, {}).get("Type") == "AWS::S3::Bucket":
                return self.bucket_name(target)
            return self.secret_arns.get(target) or self.queue_urls.get(target, target)
        if isinstance(value, dict) and set(value) == {"Fn::If"}:
            condition, when_true, when_false = value["Fn::If"]
            return self.resolve(when_true if condition in self.conditions else when_false)
        if isinstance(value, dict) and set(value) == {"Fn::GetAtt"}:
            name, attribute = value["Fn::GetAtt"]
            if attribute == "Arn" and name in self.queue_arns:
                return self.queue_arns[name]
            if attribute == "QueueUrl":
                return self.queue_urls[name]
            return f"arn:aws:dynamodb:{self.region}:123456789012:table/{name}"
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def function_environment(self, function: str | None = None) -> dict[str, str]:
        """The environment a function gets: Globals, then its own variables, with parameters' defaults."""
        parameters = {k: str(v.get("Default", "")) for k, v in self.template.get("Parameters", {}).items()}
        variables = dict(self.template["Globals"]["Function"]["Environment"]["Variables"])
        if function:
            own = self.template["Resources"][function]["Properties"].get("Environment", {})
            variables.update(own.get("Variables", {}))
        env = {}
        for key, value in variables.items():
            if isinstance(value, dict) and "Ref" in value and value["Ref"] in parameters:
                env[key] = parameters[value["Ref"]]
            else:
                env[key] = str(self.resolve(value))
        return env

    def function_properties(self, function: str) -> dict[str, Any]:
        merged = {k: v for k, v in self.template["Globals"]["Function"].items() if k != "Environment"}
        merged.update(self.template["Resources"][function]["Properties"])
        return merged

    def work_queue_event_source(self) -> dict[str, Any]:
        """The executor's SQS event source: batch size and the queue it reads."""
        events = self.template["Resources"]["ExecutorFunction"]["Properties"]["Events"]
        source = next(e["Properties"] for e in events.values() if e["Type"] == "SQS")
        return {"BatchSize": source.get("BatchSize", 10), "Queue": source["Queue"]["Fn::GetAtt"][0]}
