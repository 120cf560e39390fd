#!/usr/bin/env python3
"""A persistent codec worker for codecbench, in the standard library only: copy it, load your
model (or open your library) once in `Model.__init__`, and put its calls in `encode`/`decode`.

    [[external]]
    name = "myworker"
    worker = ["python3", "{defdir}/worker_template.py"]

codecbench starts the worker once per worker thread and sends one JSON request per line on
stdin; the worker answers each with one JSON line on stdout (docs/worker-protocol.md). Print
logs to stderr: anything else on stdout breaks the protocol. The worker times the codec call
itself (`ns`), so model loading, Python start-up and file I/O are not in the rows.

The stand-in codec quantises samples to multiples of `step` and deflates them.
"""
import json
import os
import sys
import time
import zlib

PROTOCOL = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)  # a library that prints cannot corrupt the replies


class Model:
    def __init__(self):
        # Load weights here, once per worker: this is not timed.
        self.version = f"worker_template 1 (zlib {zlib.ZLIB_RUNTIME_VERSION})"

    def encode(self, raw, width, height, channels, depth, params):
        step = int(params["step"])
        size = 2 if depth == 16 else 1
        samples = [int.from_bytes(raw[i:i + size], "little") for i in range(0, len(raw), size)]
        q = bytes(min(255, (s // step)) for s in samples) if depth == 8 else \
            b"".join((s // step).to_bytes(2, "little") for s in samples)
        head = json.dumps([width, height, channels, depth, step]).encode() + b"\n"
        return head + zlib.compress(q, 9)

    def decode(self, data):
        head, body = data.split(b"\n", 1)
        width, height, channels, depth, step = json.loads(head)
        q = zlib.decompress(body)
        if depth == 8:
            raw = bytes(min(255, v * step + step // 2) if step > 1 else v for v in q)
        else:
            vals = [int.from_bytes(q[i:i + 2], "little") for i in range(0, len(q), 2)]
            raw = b"".join(min(65535, v * step + step // 2 if step > 1 else v).to_bytes(2, "little")
                           for v in vals)
        return raw, width, height, channels, depth


def handle(model, req):
    op = req["op"]
    if op == "version":
        return {"version": model.version}
    if op == "encode":
        with open(req["input"], "rb") as f:
            raw = f.read()
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        data = model.encode(raw, req["width"], req["height"], req["channels"], req["depth"],
                            req["params"])
        ns, cpu = time.perf_counter_ns() - t0, time.process_time_ns() - c0
        with open(req["output"], "wb") as f:
            f.write(data)
        return {"ns": ns, "cpu_ns": cpu}
    if op == "decode":
        with open(req["input"], "rb") as f:
            data = f.read()
        t0, c0 = time.perf_counter_ns(), time.process_time_ns()
        raw, w, h, c, depth = model.decode(data)
        ns, cpu = time.perf_counter_ns() - t0, time.process_time_ns() - c0
        with open(req["output"], "wb") as f:
            f.write(raw)
        return {"width": w, "height": h, "channels": c, "depth": depth, "ns": ns, "cpu_ns": cpu}
    raise ValueError(f"unknown op {op!r}")


def main():
    model = Model()
    for line in sys.stdin:
        try:
            reply = handle(model, json.loads(line))
            reply["ok"] = True
        except Exception as e:  # noqa: BLE001  (one failed cell, not a dead worker)
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        PROTOCOL.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
