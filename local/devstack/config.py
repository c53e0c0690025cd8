"""The local stack's own settings, read from the environment in this one place (documented in the README)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


class SettingError(ValueError):
    """An environment variable of the local stack has a value it cannot use."""


@dataclass(frozen=True)
class LocalSettings:
    """Ports, the sandbox switch, the bootstrap organization's secrets, time scale and state directory.

    A port of 0 binds a free one (tests do that); the ready line tells which.
    """

    api_port: int = 3000
    lambda_port: int = 3001
    aws_port: int = 5000
    sandbox_port: int = 8010
    callback_port: int = 3002
    sandbox: bool = True
    user_secret: str | None = None
    org_secret: str | None = None
    #: Real seconds per scheduled minute: 60 is real time; 0.1 makes rate(15 minutes) fire every 1.5 s.
    minute_seconds: float = 60.0
    #: Execution environments per function (Lambda would run as many as the work needs).
    concurrency: int = 2
    state_dir: Path = REPO / ".local"
    #: The environment the stack started with: template parameters are overridden from it by the
    #: name of the function environment variable that carries them (``DELIVERY_RETRY_SCHEDULE``...).
    overrides: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> LocalSettings:
        """Read ``LOCAL_*`` variables; raise SettingError naming the first bad one."""
        env = dict(os.environ if environ is None else environ)
        return cls(
            api_port=_port(env, "LOCAL_API_PORT", 3000),
            lambda_port=_port(env, "LOCAL_LAMBDA_PORT", 3001),
            aws_port=_port(env, "LOCAL_AWS_PORT", 5000),
            sandbox_port=_port(env, "LOCAL_SANDBOX_PORT", 8010),
            callback_port=_port(env, "LOCAL_CALLBACK_PORT", 3002),
            sandbox=_flag(env, "LOCAL_SANDBOX", True),
            user_secret=env.get("LOCAL_USER_SECRET") or None,
            org_secret=env.get("LOCAL_ORG_SECRET") or None,
            minute_seconds=_positive(env, "LOCAL_MINUTE_SECONDS", 60.0),
            concurrency=_count(env, "LOCAL_CONCURRENCY", 2),
            state_dir=Path(env.get("LOCAL_STATE_DIR") or REPO / ".local").resolve(),
            overrides=env,
        )

    def on_free_ports(self, **changes: Any) -> LocalSettings:
        """These settings with every port free (0: picked at start), the sandbox on, and ``changes``.

        For a stack started by a program (the demo, the load run) beside anything already running.
        """
        return replace(
            self,
            **{
                "api_port": 0,
                "lambda_port": 0,
                "aws_port": 0,
                "sandbox_port": 0,
                "callback_port": 0,
                "sandbox": True,
                **changes,
            },
        )


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > 65535:
        raise SettingError(f"{name}={raw!r} is not a port number (0 picks a free one)")
    return int(raw)


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= 64:
        raise SettingError(f"{name}={raw!r} is not a whole number from 1 to 64")
    return int(raw)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingError(f"{name}={raw!r} is not 1 or 0")


def _positive(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r} is not a number of seconds") from None
    if not value > 0:
        raise SettingError(f"{name}={raw!r} must be more than 0")
    return value
