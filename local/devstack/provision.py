"""What a deployment of the template would have, made locally: resources, keys, environments, secrets, data.

Only the functions' environment differs from AWS, and only in where clients connect: the
endpoint variables, fake credentials, private networks allowed, BigCommerce URLs at the sandbox.
"""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Mapping
from typing import Any

import boto3

from bcsandbox import SandboxStore
from devstack.config import LocalSettings
from devstack.functions import REGION, Deployment, StackModel, load_model, parameter_values
from devstack.resources import StackResources, load_template


def session() -> boto3.session.Session:
    """A boto3 session with the emulator's (fake) credentials."""
    return boto3.session.Session(
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 - the emulator's, not a secret
        region_name=REGION,
    )


def queue_arns(sqs: Any, resources: StackResources) -> dict[str, str]:
    """The ARN of each queue, by logical id (``!GetAtt Queue.Arn``)."""
    return {
        logical: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for logical, url in resources.refs().items()
        if url.startswith("http")
    }


def create_keys(kms: Any) -> None:
    """The template's KMS keys (the tables' encryption key), so the account looks like a deployment's."""
    for spec in load_template()["Resources"].values():
        if spec["Type"] == "AWS::KMS::Key":
            kms.create_key(Description=spec["Properties"].get("Description", ""))


def local_model(
    resources: StackResources, arns: Mapping[str, str], urls: Mapping[str, str], overrides: Mapping[str, str]
) -> StackModel:
    """The template's functions with the environment a deployment would give them, pointed at the local stack."""
    local_defaults = {"AllowPrivateNetworks": "true"}
    if "sandbox" in urls:
        local_defaults |= {"BigCommerceLoginUrl": urls["sandbox"], "BigCommerceApiUrl": urls["sandbox"]}
    deployment = Deployment(
        refs=resources.refs(), arns=arns, parameters=parameter_values(overrides, local_defaults)
    )
    model = load_model(deployment)
    common = {
        "AWS_ENDPOINT_URL": urls["aws"],
        "AWS_ENDPOINT_URL_LAMBDA": urls["lambda"],
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        # Nothing of the user's own AWS setup may leak in: no profile, no config, no instance metadata.
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        # No X-Ray daemon here; Powertools' tracer would only complain.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    }
    functions = {
        name: dataclasses.replace(
            spec,
            environment={
                **common,
                "AWS_LAMBDA_FUNCTION_NAME": spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
                **spec.environment,
            },
        )
        for name, spec in model.functions.items()
    }
    return dataclasses.replace(model, functions=functions)


def organization_secrets(settings: LocalSettings) -> tuple[str, str, str]:
    """The bootstrap organization's user and organization secrets, and where they come from.

    Unset, they are generated once and kept in the state directory: a restart must not lock the
    user out of the instances the previous secrets created.
    """
    if settings.user_secret and settings.org_secret:
        return settings.user_secret, settings.org_secret, "from LOCAL_USER_SECRET and LOCAL_ORG_SECRET"
    path = settings.state_dir / "credentials.json"
    if path.exists():
        saved = json.loads(path.read_text())
        return saved["user_secret"], saved["org_secret"], f"generated earlier, kept in {path}"
    user = settings.user_secret or secrets.token_urlsafe(24)
    org = settings.org_secret or secrets.token_urlsafe(24)
    path.write_text(json.dumps({"user_secret": user, "org_secret": org}))
    path.chmod(0o600)
    return user, org, f"generated, kept in {path}"


def seed(store: SandboxStore, count: int = 5) -> None:
    """A few records a minute apart, the newest a minute old.

    Older than any instance created from now on: a new instance reports what changes after
    its creation, and a seed record from the very second of the creation would be one of those.
    """
    now = store.clock.seconds()
    for resource in ("customers", "products", "orders"):
        getattr(store, f"create_{resource}")(count, start=now - 60 * count, step_seconds=60)
