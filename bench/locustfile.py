"""Locust's side of the benchmark: one simple GET, as fast as possible or at a fixed rate.

BENCH_RATE_PER_USER (requests per second per user) selects the fixed-rate mode; without it each
user sends back to back.
"""

import os

from locust import FastHttpUser, constant, constant_throughput, task

_RATE = os.environ.get("BENCH_RATE_PER_USER")


class Simple(FastHttpUser):
    wait_time = constant_throughput(float(_RATE)) if _RATE else constant(0)

    @task
    def get(self):
        self.client.get("/")
