#!/usr/bin/env python3
"""Drive an XML-RPC server with Python's own xmlrpc.client, as Launchpad does.

stdin: a JSON list of calls, each {"url": ..., "method": ..., "args": [...],
        "until": {key: value, ...} (optional: repeat the call until the struct result
        contains these items, at most "max_polls" times, 20 ms apart)}.
stdout: a JSON list with one entry per call:
        {"ok": value} | {"fault": {"code": n, "string": s}} | {"error": text, "kind": exception class}.
JSON cannot carry Binary, so Binary values travel as {"$binary": base64} both ways, and a
result also records Python's type for checks such as "logtail is an xmlrpc.client.Binary".
"""
import base64
import json
import sys
import time
import xmlrpc.client


def to_json(v):
    if isinstance(v, xmlrpc.client.Binary):
        return {"$binary": base64.b64encode(v.data).decode("ascii")}
    if isinstance(v, xmlrpc.client.DateTime):
        return {"$datetime": v.value}
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    if isinstance(v, dict):
        return {k: to_json(x) for k, x in v.items()}
    return v


def from_json(v):
    if isinstance(v, dict):
        if set(v) == {"$binary"}:
            return xmlrpc.client.Binary(base64.b64decode(v["$binary"]))
        return {k: from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_json(x) for x in v]
    return v


def matches(result, until):
    return isinstance(result, dict) and all(result.get(k) == want for k, want in until.items())


def run(call):
    proxy = xmlrpc.client.ServerProxy(call["url"], allow_none=call.get("allow_none", True))
    args = from_json(call.get("args", []))
    until = call.get("until")
    polls = call.get("max_polls", 1500)
    try:
        while True:
            result = getattr(proxy, call["method"])(*args)
            polls -= 1
            if until is None or matches(result, until) or polls <= 0:
                return {"ok": to_json(result)}
            time.sleep(0.02)
    except xmlrpc.client.Fault as f:
        return {"fault": {"code": f.faultCode, "string": f.faultString}}
    except Exception as e:  # transport errors: refused connection, HTTP status errors
        return {"error": str(e), "kind": type(e).__name__}


def main():
    calls = json.load(sys.stdin)
    json.dump([run(c) for c in calls], sys.stdout)


if __name__ == "__main__":
    main()
