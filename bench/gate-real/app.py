"""The service under test of the real-service gate benchmark: a JSON API over Redis.

Served by gunicorn (gthread, 4 workers x 4 threads) on loopback; documents of about 15 KB live
in Redis as JSON strings (seeded by seed.py). Five endpoints:

  GET  /docs/<id>              one document                       ("get doc")
  GET  /docs?category=C        up to 10 documents of a category, summarised ("search")
  POST /docs                   store a new document (201)         ("create")
  PUT  /docs/<id>              read-modify-write one document      ("update")
  GET  /stats/<category>       totals over 20 documents of a category ("aggregate")

Injected changes, chosen by environment variables read once at start (all off by default):

  GATE_SLOW_ENDPOINT=update GATE_SLOW_MS=1.2   every request of that endpoint takes that much
                                               longer (a busy wait on the wall clock: a sleep
                                               this short overshoots by the scheduler's wake-up
                                               delay, which on a busy machine doubles it)
  GATE_TAIL_ENDPOINT=get GATE_TAIL_SHARE=0.10 GATE_TAIL_MS=40
                                               that share of its requests sleeps that long
  GATE_ERROR_ENDPOINT=search GATE_ERROR_SHARE=0.02
                                               that share of its requests answers 500

The service-wide swing (change d) is not in the code: the driver runs a CPU-burning neighbour.
"""

import json
import os
import random
import time

import redis

CATEGORIES = 20
PORT_REDIS = int(os.environ.get("GATE_REDIS_PORT", "6379"))
REDIS = redis.Redis(
    host="127.0.0.1",
    port=PORT_REDIS,
    # One pool per worker process, shared by its threads.
    max_connections=16,
    socket_timeout=5,
)


def _env_float(name, default):
    value = os.environ.get(name, "")
    return float(value) if value else default


SLOW_ENDPOINT = os.environ.get("GATE_SLOW_ENDPOINT", "")
SLOW_S = _env_float("GATE_SLOW_MS", 0.0) / 1000.0
TAIL_ENDPOINT = os.environ.get("GATE_TAIL_ENDPOINT", "")
TAIL_SHARE = _env_float("GATE_TAIL_SHARE", 0.10)
TAIL_S = _env_float("GATE_TAIL_MS", 40.0) / 1000.0
ERROR_ENDPOINT = os.environ.get("GATE_ERROR_ENDPOINT", "")
ERROR_SHARE = _env_float("GATE_ERROR_SHARE", 0.02)


def _respond(start_response, status, payload, extra_headers=()):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
    headers.extend(extra_headers)
    start_response(status, headers)
    return [body]


def _read_body(environ):
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0 or length > 1_000_000:
        return None
    try:
        return json.loads(environ["wsgi.input"].read(length))
    except ValueError:
        return None


def get_doc(doc_id):
    raw = REDIS.get(f"doc:{doc_id}")
    if raw is None:
        return "404 Not Found", {"error": f"no document {doc_id}"}
    doc = json.loads(raw)
    doc["served_at"] = time.time()
    return "200 OK", doc


def search(query):
    params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
    try:
        category = int(params.get("category", "0")) % CATEGORIES
        limit = max(1, min(int(params.get("limit", "10")), 50))
    except ValueError:
        return "400 Bad Request", {"error": "category and limit must be integers"}
    ids = REDIS.srandmember(f"cat:{category}", limit)
    docs = REDIS.mget([f"doc:{i.decode()}" for i in ids]) if ids else []
    items = []
    for raw in docs:
        if raw is None:
            continue
        doc = json.loads(raw)
        items.append(
            {
                "id": doc["id"],
                "name": doc["customer"]["name"],
                "email": doc["customer"]["email"],
                "lines": len(doc["orders"]),
                "status": doc.get("status", "new"),
            }
        )
    return "200 OK", {"category": category, "count": len(items), "items": items}


def create(environ):
    doc = _read_body(environ)
    if not isinstance(doc, dict) or "customer" not in doc or "orders" not in doc:
        return "400 Bad Request", {"error": "expected a document with customer and orders"}
    new_id = REDIS.incr("next_new_id")
    doc["id"] = f"n{new_id}"
    doc["category"] = new_id % CATEGORIES
    doc["total"] = round(sum(o["quantity"] * o["unit_price"] for o in doc["orders"]), 2)
    pipe = REDIS.pipeline(transaction=False)
    pipe.set(f"new:{new_id}", json.dumps(doc))
    pipe.expire(f"new:{new_id}", 600)
    pipe.execute()
    return "201 Created", {"ok": True, "id": doc["id"], "total": doc["total"]}


def update(doc_id, environ):
    patch = _read_body(environ)
    if not isinstance(patch, dict):
        return "400 Bad Request", {"error": "expected a JSON object"}
    key = f"doc:{doc_id}"
    raw = REDIS.get(key)
    if raw is None:
        return "404 Not Found", {"error": f"no document {doc_id}"}
    doc = json.loads(raw)
    doc["status"] = str(patch.get("status", doc.get("status", "new")))
    doc["version"] = doc.get("version", 0) + 1
    notes = doc.setdefault("notes", [])
    notes.append(str(patch.get("note", ""))[:200])
    del notes[:-5]
    REDIS.set(key, json.dumps(doc))
    return "200 OK", {"ok": True, "id": doc["id"], "version": doc["version"]}


def aggregate(category):
    try:
        category = int(category) % CATEGORIES
    except ValueError:
        return "400 Bad Request", {"error": "category must be an integer"}
    ids = REDIS.srandmember(f"cat:{category}", 20)
    docs = REDIS.mget([f"doc:{i.decode()}" for i in ids]) if ids else []
    quantity = 0
    revenue = 0.0
    skus = {}
    for raw in docs:
        if raw is None:
            continue
        for line in json.loads(raw)["orders"]:
            quantity += line["quantity"]
            revenue += line["quantity"] * line["unit_price"]
            skus[line["sku"]] = skus.get(line["sku"], 0) + line["quantity"]
    top = sorted(skus.items(), key=lambda kv: -kv[1])[:5]
    return "200 OK", {
        "category": category,
        "documents": len(docs),
        "quantity": quantity,
        "revenue": round(revenue, 2),
        "top_skus": [{"sku": s, "quantity": q} for s, q in top],
    }


def route(environ):
    """Returns (endpoint name for injections, status, payload)."""
    method = environ["REQUEST_METHOD"]
    parts = [p for p in environ.get("PATH_INFO", "/").split("/") if p]
    if parts == ["health"]:
        REDIS.ping()
        return "health", "200 OK", {"ok": True}
    if parts[:1] == ["docs"]:
        if len(parts) == 1 and method == "GET":
            return "search", *search(environ.get("QUERY_STRING", ""))
        if len(parts) == 1 and method == "POST":
            return "create", *create(environ)
        if len(parts) == 2 and method == "GET":
            return "get", *get_doc(parts[1])
        if len(parts) == 2 and method == "PUT":
            return "update", *update(parts[1], environ)
    if len(parts) == 2 and parts[0] == "stats" and method == "GET":
        return "aggregate", *aggregate(parts[1])
    return "none", "404 Not Found", {"error": "no such route"}


def application(environ, start_response):
    endpoint, status, payload = route(environ)
    if endpoint == SLOW_ENDPOINT and SLOW_S > 0:
        until = time.perf_counter() + SLOW_S
        while time.perf_counter() < until:
            pass
    if endpoint == TAIL_ENDPOINT and random.random() < TAIL_SHARE:
        time.sleep(TAIL_S)
    if endpoint == ERROR_ENDPOINT and random.random() < ERROR_SHARE:
        return _respond(start_response, "500 Internal Server Error", {"error": "injected"})
    return _respond(start_response, status, payload)
