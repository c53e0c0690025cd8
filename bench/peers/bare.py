"""(a) The client-side ceiling: a bare ``requests`` + ``json`` paging loop over ``/v2/orders``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from email.utils import format_datetime

import _peer
import requests

LIMIT = 250


def main() -> None:
    args = _peer.arguments()
    since = format_datetime(datetime.fromisoformat(args.since))

    def extract() -> Iterator[int]:
        session = requests.Session()
        session.auth = (args.username, args.password)
        session.headers["Accept"] = "application/json"
        page = 1
        while True:
            params: dict[str, str | int] = {
                "min_date_modified": since,
                "sort": "date_modified:asc",
                "limit": LIMIT,
                "page": page,
            }
            response = session.get(
                f"{args.base_url}/api/v2/orders",
                params=params,
                timeout=30,
            )
            response.raise_for_status()
            if response.status_code == 204:
                return
            rows = json.loads(response.content)
            for row in rows:
                yield row["id"]
            if len(rows) < LIMIT:
                return
            page += 1

    _peer.measure(extract, client=f"requests {requests.__version__} + json")


if __name__ == "__main__":
    main()
