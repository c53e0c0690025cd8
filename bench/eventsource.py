"""Lambda's SQS event source, emulated: receive up to ten messages, invoke deliver, delete the successes."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from bench.calls import CallStats, counting
from bench.common import REGION, add_code_paths
from bench.invocation import Invocation, LambdaContext, invoke

add_code_paths()

from devstack.sqs_source import lambda_record  # noqa: E402

#: The template's ``BatchSize``.
BATCH_SIZE = 10


@dataclass
class DeliverRun:
    """What draining the events queue took."""

    invocations: list[Invocation] = field(default_factory=list)
    failures: int = 0
    wall: float = 0.0  # everything: receives, deletes, the handler and the emulator

    @property
    def handler_cpu(self) -> float:
        return sum(i.cpu for i in self.invocations)

    @property
    def handler_wall(self) -> float:
        return sum(i.wall for i in self.invocations)


class SqsEventSource:
    """Feeds the events queue to the deliver function as Lambda's event source mapping does.

    Its own ReceiveMessage and DeleteMessageBatch calls are counted under ``sqs-event-source``:
    they are billed to the account, but made by Lambda, not by our code.
    """

    def __init__(self, queue_url: str, stats: CallStats) -> None:
        import boto3

        self.queue_url = queue_url
        self.stats = stats
        self.sqs = boto3.session.Session(region_name=REGION).client("sqs")
        arn_name = queue_url.rsplit("/", 1)[-1]
        self.arn = f"arn:aws:sqs:{REGION}:123456789012:{arn_name}"

    def drain(self, *, max_batches: int = 100_000) -> DeliverRun:
        """Invoke deliver until the queue answers empty."""
        from deliver_handler import lambda_handler

        run = DeliverRun()
        started = time.perf_counter()
        for _ in range(max_batches):
            # An empty receive is Lambda polling an idle queue: counted apart (the cost model has it).
            scratch = CallStats()
            with counting(scratch, "sqs-event-source"):
                messages = self.sqs.receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=BATCH_SIZE,
                    AttributeNames=["All"],
                    MessageAttributeNames=["All"],
                ).get("Messages", [])
            if not messages:
                self.stats.add("sqs-event-source-idle", "sqs", "ReceiveMessage", 1.0)
                break
            self.stats.calls.update(scratch.calls)
            for key, units in scratch.units.items():
                self.stats.units[key] = self.stats.units.get(key, 0.0) + units
            event = {"Records": [lambda_record(dict(m), self.arn, REGION) for m in messages]}
            with counting(self.stats, "deliver"):
                invocation = invoke(lambda_handler, event, LambdaContext(function_name="DeliverFunction"))
            run.invocations.append(invocation)
            failed = {f["itemIdentifier"] for f in invocation.result.get("batchItemFailures", [])}
            run.failures += len(failed)
            done = [m for m in messages if m["MessageId"] not in failed]
            if done:
                with counting(self.stats, "sqs-event-source"):
                    self.sqs.delete_message_batch(
                        QueueUrl=self.queue_url,
                        Entries=[
                            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                        ],
                    )
        run.wall = time.perf_counter() - started
        return run
