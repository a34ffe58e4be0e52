"""Small helpers of the emulator fidelity tests: raw API requests (status, body, headers) and polling."""

import json
import ssl
import time
import urllib.error
import urllib.request


def request(handle, cluster, method, path, body=None, content_type="application/json", token=None):
    """(status, decoded body, headers) of one API request with the cluster's token (or another one)."""
    info = handle.state["clusters"][cluster]
    if isinstance(body, (dict, list)):
        body = json.dumps(body).encode()
    elif isinstance(body, str):
        body = body.encode()
    req = urllib.request.Request(info["server"] + path, data=body, method=method, headers={
        "Authorization": "Bearer " + (token or info["token"]), "Content-Type": content_type, "User-Agent": "fidelity-test/1.0"})
    context = ssl.create_default_context(cafile=handle.state["ca"])
    try:
        with urllib.request.urlopen(req, context=context, timeout=20) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None, response.headers
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw), exc.headers
        except ValueError:
            return exc.code, raw.decode(), exc.headers


def ok(handle, cluster, method, path, body=None, content_type="application/json", token=None):
    """The body of a request that must succeed (2xx)."""
    status, answer, _headers = request(handle, cluster, method, path, body, content_type, token)
    assert 200 <= status < 300, (method, path, status, answer)
    return answer


def wait_for(predicate, timeout=30.0, interval=0.1, what="condition"):
    """Poll predicate() until truthy (generous timeouts: a loaded machine must not fail the test); returns its value."""
    deadline = time.time() + timeout
    value = None
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out waiting for %s (last: %r)" % (what, value))


def wait_value(fetch, accept, timeout=30.0, interval=0.1, what="condition"):
    """Poll fetch() until accept(value) holds; returns that value."""
    last = []

    def attempt():
        last[:] = [fetch()]
        return accept(last[0])
    wait_for(attempt, timeout, interval, what)
    return last[0]


def kubectl_json(handle, *args, context="cluster1"):
    """kubectl ... -o json, decoded."""
    return json.loads(handle.kubectl(*args, "-o", "json", context=context).stdout)


def condition(obj, ctype):
    """The condition of a type in obj.status.conditions, or {}."""
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c.get("type") == ctype), {})
