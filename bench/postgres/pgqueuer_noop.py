"""PgQueuer no-op jobs per second (issue 16's reference), run by bench/postgres/pgqueuer.sh.

One round: PRODUCERS coroutines enqueue JOBS jobs between them while one QueueManager (the
usual PgQueuer worker, batch_size 10, LISTEN/NOTIFY wake-ups) dequeues and completes them with
a no-op entrypoint, all at once in one process, as `ares-bench queue-postgres` does for ares.
A round ends when every job ran and PgQueuer's queue table is empty (completions logged).

Two enqueue shapes: "one job per enqueue" (each call its own durable commit, as one ares
submission per request) and "100 jobs per enqueue" (PgQueuer's list form: one commit per 100).

The database comes from $ARES_DATABASE_URL with the password in $ARES_DATABASE_PASSWORD_FILE
(never on a command line); synchronous_commit is the server's (on).

    python pgqueuer_noop.py --jobs 4000 --producers 8      (one pass of both shapes)
"""
import argparse
import asyncio
import os
import statistics
import sys
import time
import urllib.parse

import asyncpg
from pgqueuer import QueueManager, Queries


def connection_arguments():
    url = urllib.parse.urlparse(os.environ["ARES_DATABASE_URL"])
    with open(os.environ["ARES_DATABASE_PASSWORD_FILE"]) as handle:
        password = handle.read().strip()
    return dict(host=url.hostname, port=url.port or 5432, user=url.username, database=url.path.lstrip("/"), password=password)


async def one_round(pool, jobs, producers, per_call):
    completed = 0
    all_ran = asyncio.Event()
    queries = Queries.from_asyncpg_pool(pool)
    worker_connection = await pool.acquire()
    manager = QueueManager(Queries.from_asyncpg_connection(worker_connection))

    @manager.entrypoint("noop")
    async def noop(job):
        nonlocal completed
        completed += 1
        if completed >= jobs:
            all_ran.set()

    async def produce(count):
        left = count
        while left > 0:
            n = min(per_call, left)
            if per_call == 1:
                await queries.enqueue("noop", None)
            else:
                await queries.enqueue(["noop"] * n, [None] * n, [0] * n)
            left -= n

    shares = [jobs // producers + (1 if i < jobs % producers else 0) for i in range(producers)]
    worker = asyncio.create_task(manager.run(batch_size=10))
    await asyncio.sleep(0.5)  # the worker is listening before the clock starts
    started = time.perf_counter()
    await asyncio.gather(*(produce(share) for share in shares))
    await all_ran.wait()
    # Done means completed as PgQueuer records it: the rows are gone from its queue table.
    while await pool.fetchval("SELECT count(*) FROM pgqueuer") > 0:
        await asyncio.sleep(0.005)
    elapsed = time.perf_counter() - started
    manager.shutdown.set()
    await worker
    await pool.release(worker_connection)
    return elapsed


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=4000)
    parser.add_argument("--producers", type=int, default=8)
    args = parser.parse_args()
    pool = await asyncpg.create_pool(min_size=2, max_size=args.producers + 2, **connection_arguments())
    if not await pool.fetchval("SELECT to_regclass('pgqueuer') IS NOT NULL"):
        await Queries.from_asyncpg_pool(pool).install()
    assert await pool.fetchval("SHOW synchronous_commit") == "on", "synchronous_commit must be on"
    for per_call in (1, 100):
        name = "one job per enqueue" if per_call == 1 else "100 jobs per enqueue"
        seconds = await one_round(pool, args.jobs, args.producers, per_call)
        print(f"PgQueuer {name}: {args.jobs} jobs in {seconds:.2f} s = {int(args.jobs / seconds)} jobs/s", flush=True)
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
