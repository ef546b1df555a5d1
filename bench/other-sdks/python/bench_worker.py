"""BenchWorkflow/BenchActivity in the Temporal Python SDK, with default worker options.

Same contract as workflows/src/bench.rs so `make bench` can compare SDKs on one server.
Configured only through the environment the bench driver sets (bench/src/processes.rs).
"""

import asyncio
import os
import signal
import sys
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker


@activity.defn(name="BenchActivity")
async def bench_activity(payload: str) -> int:
    # Length in bytes, not characters, as the contract says (same for ASCII `x`s).
    return len(payload.encode())


@workflow.defn(name="BenchWorkflow")
class BenchWorkflow:
    @workflow.run
    async def run(self, input: dict) -> int:
        payload = "x" * int(input["payload_bytes"])
        total = 0
        for _ in range(int(input["activities"])):
            total += await workflow.execute_activity(
                "BenchActivity",
                payload,
                start_to_close_timeout=timedelta(seconds=30),
                result_type=int,
            )
        return total


async def main() -> None:
    client = await Client.connect(
        os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"),
        namespace=os.environ.get("TEMPORAL_NAMESPACE", "default"),
    )
    worker = Worker(
        client,
        task_queue=os.environ["PUNCTUAL_TASK_QUEUE"],
        workflows=[BenchWorkflow],
        activities=[bench_activity],
    )
    # The driver stops workers with SIGTERM and waits 10 s: shut down gracefully on it.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        # The driver waits for this exact text before it starts measuring.
        print("worker polling", flush=True)
        await stop.wait()


if __name__ == "__main__":
    if sys.argv[1:2] != ["worker"]:
        sys.exit("usage: bench_worker.py worker")
    asyncio.run(main())
    # The worker has drained by now. Skip interpreter teardown: the SDK's Rust threads can abort
    # it with "PyGILState_Release ... finalizing" (SIGABRT, temporalio/sdk-python#300).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
