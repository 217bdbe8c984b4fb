"""The job queue's own cost: handing a job id to RQ and a worker taking it, on Redis.

    .venv/bin/python benchmarks/jobs.py [--redis redis://127.0.0.1:6379/8] [--jobs 2000]

Against the baseline of a bare Redis RPUSH / LPOP of the same ids: what RQ adds per
job (its job hash, registries) on top of the list it uses. Uses a queue of its own
and deletes it after. Medians of 5 rounds, in milliseconds per job.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

from redis import Redis
from rq import Queue


def _round(redis: Redis, jobs: int) -> tuple[float, float, float, float]:
    queue = Queue(f"bench-{uuid.uuid4().hex[:8]}", connection=redis)
    started = time.perf_counter()
    for n in range(jobs):
        queue.enqueue("backoffice.jobs.worker.perform", n, job_id=f"{queue.name}-{n}",
                      result_ttl=0)
    enqueue = (time.perf_counter() - started) / jobs
    started = time.perf_counter()
    while Queue.dequeue_any([queue], None, connection=redis) is not None:
        pass
    dequeue = (time.perf_counter() - started) / jobs
    queue.empty()
    queue.delete(delete_jobs=True)
    key = f"bench-list-{uuid.uuid4().hex[:8]}"
    started = time.perf_counter()
    for n in range(jobs):
        redis.rpush(key, n)
    push = (time.perf_counter() - started) / jobs
    started = time.perf_counter()
    while redis.lpop(key) is not None:
        pass
    pop = (time.perf_counter() - started) / jobs
    return enqueue, dequeue, push, pop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/8")
    parser.add_argument("--jobs", type=int, default=2000)
    args = parser.parse_args()
    redis = Redis.from_url(args.redis)
    rounds = [_round(redis, args.jobs) for _ in range(5)]
    names = ("RQ enqueue", "RQ dequeue", "baseline RPUSH", "baseline LPOP")
    for name, values in zip(names, zip(*rounds, strict=True), strict=True):
        print(f"{name:15} {statistics.median(values) * 1000:.3f} ms/job")


if __name__ == "__main__":
    main()
