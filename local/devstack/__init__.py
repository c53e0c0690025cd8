"""The local stack: the whole product on one machine, no AWS account, no Docker."""
