"""Seeds a fresh Redis with the benchmark's documents: 2,000 JSON documents of about 15 KB
(a customer and 110 order lines), indexed by category. Deterministic (seed 42), so every
instance starts from the same data. Usage: seed.py PORT."""

import json
import random
import sys

import redis

DOCS = 2000
CATEGORIES = 20
LINES = 110


def document(rng, doc_id):
    first = rng.choice(["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken"])
    last = rng.choice(["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen"])
    return {
        "id": str(doc_id),
        "category": doc_id % CATEGORIES,
        "customer": {
            "name": f"{first} {last}",
            "email": f"{first.lower()}.{last.lower()}{doc_id}@example.test",
            "address": {"street": f"{rng.randint(1, 999)} Main Street", "city": "Springfield"},
        },
        "status": "new",
        "version": 0,
        "orders": [
            {
                "line": i,
                "sku": f"SKU-{rng.randint(1000, 1400)}",
                "quantity": rng.randint(1, 5),
                "unit_price": rng.randint(100, 9999) / 100,
                "note": "standard delivery, leave at the front door if nobody answers",
            }
            for i in range(LINES)
        ],
    }


def main():
    port = int(sys.argv[1])
    client = redis.Redis(host="127.0.0.1", port=port)
    rng = random.Random(42)
    pipe = client.pipeline(transaction=False)
    sizes = []
    for doc_id in range(1, DOCS + 1):
        raw = json.dumps(document(rng, doc_id))
        sizes.append(len(raw))
        pipe.set(f"doc:{doc_id}", raw)
        pipe.sadd(f"cat:{doc_id % CATEGORIES}", doc_id)
        if doc_id % 200 == 0:
            pipe.execute()
    pipe.execute()
    sizes.sort()
    print(f"seeded {DOCS} documents, median size {sizes[len(sizes) // 2]} bytes")


if __name__ == "__main__":
    main()
