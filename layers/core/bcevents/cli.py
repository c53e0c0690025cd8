"""Operator commands against a deployment's tables: ``python -m bcevents.cli create-organization``."""

from __future__ import annotations

import argparse
import sys

from bcevents.api.access import create_organization


def main(argv: list[str] | None = None) -> int:
    """Create an organization and print its secrets (once: only their hashes are stored)."""
    parser = argparse.ArgumentParser(prog="bcevents.cli")
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create-organization", help="create an organization with one user")
    create.add_argument("--name", required=True)
    args = parser.parse_args(argv)
    org = create_organization(args.name)
    out = sys.stdout
    out.write(f"organization {org.org_id} created; these secrets are shown once:\n")
    out.write(f"Authorization: User {org.user_secret}, Organization {org.organization_secret}\n")
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
