"""The template's functions as the local stack runs them: handler, code, limits, environment, triggers.

Everything comes from ``template.yaml`` (Globals merged with each function, intrinsics resolved the
way CloudFormation would resolve them for a stack named ``bcevents``), so a new environment
variable, route or queue trigger in the template reaches the local stack without a change here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from devstack.resources import TEMPLATE, load_template

REGION = "us-east-1"
#: moto's default account: the ARNs it mints carry it, so ours do too.
ACCOUNT_ID = "123456789012"
STACK_NAME = "bcevents"


@dataclass(frozen=True)
class Deployment:
    """What CloudFormation would have created: how ``Ref``, ``GetAtt`` and ``Sub`` resolve."""

    refs: Mapping[str, str]
    arns: Mapping[str, str]
    parameters: Mapping[str, str]
    region: str = REGION
    account_id: str = ACCOUNT_ID
    stack_name: str = STACK_NAME

    def function_name(self, logical_id: str) -> str:
        """The physical name of a function (CloudFormation would add a random suffix; we don't)."""
        return f"{self.stack_name}-{logical_id}"

    def function_arn(self, logical_id: str) -> str:
        """The ARN of a function, as the scheduler and the api function name it."""
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name(logical_id)}"

    def resolve(self, value: Any, resources: Mapping[str, Any]) -> str:
        """A template value with its intrinsics resolved to a string."""
        if not isinstance(value, dict):
            return str(value).lower() if isinstance(value, bool) else str(value)
        if "Ref" in value:
            return self._ref(str(value["Ref"]), resources)
        if "Fn::GetAtt" in value:
            logical, attribute = value["Fn::GetAtt"]
            return self._get_att(logical, attribute, resources)
        if "Fn::Sub" in value:
            return re.sub(r"\$\{([^}]+)\}", lambda m: self._sub(m.group(1), resources), value["Fn::Sub"])
        raise ValueError(f"the local stack cannot resolve {value!r}")

    def _ref(self, name: str, resources: Mapping[str, Any]) -> str:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        if resources.get(name, {}).get("Type") == "AWS::Serverless::Function":
            return self.function_name(name)
        raise ValueError(f"the local stack has no value for !Ref {name}")

    def _get_att(self, logical: str, attribute: str, resources: Mapping[str, Any]) -> str:
        kind = resources.get(logical, {}).get("Type")
        if attribute == "Arn" and kind == "AWS::Serverless::Function":
            return self.function_arn(logical)
        if attribute == "Arn" and kind == "AWS::IAM::Role":
            return f"arn:aws:iam::{self.account_id}:role/{self.stack_name}-{logical}"
        if attribute == "Arn" and logical in self.arns:
            return self.arns[logical]
        if attribute == "QueueName" and logical in self.refs:
            return self.refs[logical].rstrip("/").rsplit("/", 1)[-1]
        raise ValueError(f"the local stack has no value for !GetAtt {logical}.{attribute}")

    def _sub(self, name: str, resources: Mapping[str, Any]) -> str:
        if "." in name:
            logical, attribute = name.split(".", 1)
            return self._get_att(logical, attribute, resources)
        return self._ref(name, resources)


@dataclass(frozen=True)
class FunctionSpec:
    """One function of the template, ready to run: where its code is and what environment it gets."""

    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    layer_dirs: tuple[Path, ...]
    timeout: int
    memory: int
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def module(self) -> str:
        """The handler's module (``poll_handler`` of ``poll_handler.lambda_handler``)."""
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        """The handler's function name inside its module."""
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class ApiRoute:
    """An ``Api`` event: which function answers ``method path`` (path as in the template)."""

    method: str
    path: str
    function: str

    def match(self, path: str) -> dict[str, str] | None:
        """The path parameters when ``path`` is this route's, else None."""
        pattern = re.sub(
            r"\\\{([A-Za-z0-9_]+)(\\\+)?\\\}",
            lambda m: f"(?P<{m.group(1)}>.+)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)",
            re.escape(self.path),
        )
        found = re.fullmatch(pattern, path)
        return {k: unquote(v) for k, v in found.groupdict().items()} if found else None


@dataclass(frozen=True)
class QueueTrigger:
    """An ``SQS`` event: a queue whose messages a function consumes, and how."""

    function: str
    queue: str
    batch_size: int
    window_seconds: float
    report_failures: bool


@dataclass(frozen=True)
class StackModel:
    """Functions, routes and queue triggers of the template."""

    functions: Mapping[str, FunctionSpec]
    routes: tuple[ApiRoute, ...]
    triggers: tuple[QueueTrigger, ...]
    stage: str

    def function_for(self, name: str) -> FunctionSpec | None:
        """The function a Lambda ``FunctionName`` names: an ARN (qualifier allowed), a name or a logical id."""
        if name.startswith("arn:"):
            parts = name.split(":")
            name = parts[6] if len(parts) > 6 else name
        else:
            name = name.split(":", 1)[0]
        for spec in self.functions.values():
            if name in (spec.name, spec.logical_id):
                return spec
        return None


def load_model(deployment: Deployment, template_path: Path = TEMPLATE) -> StackModel:
    """Read the template's functions with the deployment's names filled in."""
    template = load_template(template_path)
    resources: dict[str, Any] = template["Resources"]
    root = template_path.parent
    globals_ = template.get("Globals", {}).get("Function", {})
    functions: dict[str, FunctionSpec] = {}
    routes: list[ApiRoute] = []
    triggers: list[QueueTrigger] = []
    stage = "v1"
    for logical, spec in resources.items():
        if spec["Type"] == "AWS::Serverless::Api":
            stage = str(spec["Properties"].get("StageName", stage))
        if spec["Type"] != "AWS::Serverless::Function":
            continue
        props = {**globals_, **spec["Properties"]}
        variables = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **spec["Properties"].get("Environment", {}).get("Variables", {}),
        }
        layers = tuple(
            root / resources[layer["Ref"]]["Properties"]["ContentUri"]
            for layer in props.get("Layers", [])
            if isinstance(layer, dict) and "Ref" in layer
        )
        functions[logical] = FunctionSpec(
            logical_id=logical,
            name=deployment.function_name(logical),
            arn=deployment.function_arn(logical),
            handler=str(props["Handler"]),
            code_dir=root / str(props["CodeUri"]),
            layer_dirs=layers,
            timeout=int(props.get("Timeout", 3)),
            memory=int(props.get("MemorySize", 128)),
            environment={k: deployment.resolve(v, resources) for k, v in variables.items()},
        )
        for event in spec["Properties"].get("Events", {}).values():
            routes += _routes(logical, event)
            triggers += _triggers(logical, event)
    return StackModel(functions, tuple(routes), tuple(triggers), stage)


def _routes(function: str, event: dict[str, Any]) -> list[ApiRoute]:
    if event.get("Type") != "Api":
        return []
    props = event["Properties"]
    return [ApiRoute(str(props["Method"]).upper(), str(props["Path"]), function)]


def _triggers(function: str, event: dict[str, Any]) -> list[QueueTrigger]:
    if event.get("Type") != "SQS":
        return []
    props = event["Properties"]
    queue = props["Queue"]["Fn::GetAtt"][0]
    return [
        QueueTrigger(
            function=function,
            queue=queue,
            batch_size=int(props.get("BatchSize", 10)),
            window_seconds=float(props.get("MaximumBatchingWindowInSeconds", 0)),
            report_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
        )
    ]


def parameter_values(
    overrides: Mapping[str, str], local_defaults: Mapping[str, str], template_path: Path = TEMPLATE
) -> dict[str, str]:
    """Each template parameter's value: the environment variable that carries it, a local default, its Default.

    A parameter is overridden by the name of the function environment variable it feeds
    (``DELIVERY_RETRY_SCHEDULE`` for ``DeliveryRetrySchedule``), the name a user already knows.
    """
    template = load_template(template_path)
    carriers: dict[str, str] = {}
    for spec in [template.get("Globals", {}).get("Function", {}), *template["Resources"].values()]:
        variables = spec.get("Environment", spec.get("Properties", {}).get("Environment", {}))
        for variable, value in variables.get("Variables", {}).items():
            if isinstance(value, dict) and "Ref" in value:
                carriers[str(value["Ref"])] = variable
    values: dict[str, str] = {}
    for name, spec in template.get("Parameters", {}).items():
        carrier = carriers.get(name)
        if carrier and overrides.get(carrier):
            values[name] = overrides[carrier]
        elif name in local_defaults:
            values[name] = local_defaults[name]
        else:
            values[name] = str(spec.get("Default", ""))
    return values
