"""Locust's side of the benchmark: one simple GET, as fast as possible or at a fixed rate.

BENCH_RATE_PER_USER (requests per second per user) selects the fixed-rate mode; BENCH_THINK
(`5,9`: seconds, uniform) gives each user a think time between its requests, as loadgate's
`think_time: 5s..9s`; without either each user sends back to back.
"""

import os

from locust import FastHttpUser, between, constant, constant_throughput, task

_RATE = os.environ.get("BENCH_RATE_PER_USER")
_THINK = os.environ.get("BENCH_THINK")


def _wait_time():
    if _THINK:
        low, high = (float(v) for v in _THINK.split(","))
        return between(low, high)
    return constant_throughput(float(_RATE)) if _RATE else constant(0)


class Simple(FastHttpUser):
    wait_time = _wait_time()

    @task
    def get(self):
        self.client.get("/")
