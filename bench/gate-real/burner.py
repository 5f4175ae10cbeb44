"""A noisy neighbour for change (d), the service-wide swing with unchanged code: PROCS
processes that each burn the CPU for DUTY of every 10 ms, until SECONDS have passed (always
bounded). Usage: burner.py PROCS DUTY SECONDS. It sends no traffic anywhere."""

import multiprocessing
import signal
import sys
import time

PERIOD_S = 0.010


def burn(duty, deadline):
    busy_s = PERIOD_S * duty
    x = 0
    while True:
        start = time.monotonic()
        if start >= deadline:
            return
        while time.monotonic() - start < busy_s:
            x = (x * 31 + 7) % 1_000_003
        rest = PERIOD_S - (time.monotonic() - start)
        if rest > 0:
            time.sleep(rest)


def main():
    procs = int(sys.argv[1])
    duty = min(max(float(sys.argv[2]), 0.0), 1.0)
    seconds = min(float(sys.argv[3]), 600.0)
    deadline = time.monotonic() + seconds
    workers = [
        multiprocessing.Process(target=burn, args=(duty, deadline), daemon=True)
        for _ in range(procs)
    ]
    for w in workers:
        w.start()

    def stop(_signum, _frame):
        for w in workers:
            w.terminate()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    for w in workers:
        w.join(timeout=seconds + 5)


if __name__ == "__main__":
    main()
