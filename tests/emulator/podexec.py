"""pods/exec over WebSocket: the channel.k8s.io subprotocols kubectl (1.30+: WebSocket first) and the kubernetes Python
client's stream() speak. Controllers answer commands through Emulator.add_pod_exec (see README.md, "Extension API").

Each binary message is one channel byte + data: 0 stdin, 1 stdout, 2 stderr, 3 error (a v1 Status in v4/v5, the exit
status), 4 resize; v5 adds 255 + channel = "the client closed that channel" (stdin EOF). SPDY is not served: kubectl
1.33 only falls back to it when the WebSocket upgrade itself fails."""

import asyncio
import collections
import inspect
import json
import logging

from aiohttp import WSMsgType, web

from emulator.errors import ApiError

LOG = logging.getLogger("emulator")
PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, CLOSE = 0, 1, 2, 3, 255
CHUNK = 32 * 1024
STDIN_IDLE = 0.5   # protocols before v5 cannot signal stdin EOF: stdin is what arrived until it stays quiet this long

ExecResult = collections.namedtuple("ExecResult", "exit_code stdout stderr")
ExecResult.__doc__ = "What a command printed and its exit code (stdout/stderr as str or bytes)."


def not_found(command):
    """What a container answers for an executable it does not have."""
    return ExecResult(127, b"", ('OCI runtime exec failed: exec failed: unable to start container process: exec: "%s": '
                                 "executable file not found in $PATH: unknown\n" % (command[0] if command else "")).encode())


def _target(pod, query):
    """(container name, command) after the API server's checks (ApiError 400/500 otherwise)."""
    name = pod["metadata"]["name"]
    command = query.getall("command", [])
    if not command:
        raise ApiError(400, "you must specify at least 1 command", "BadRequest")
    containers = [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]
    container = query.get("container") or ""
    if not container:
        if len(containers) != 1:
            raise ApiError(400, "a container name must be specified for pod %s, choose one of: [%s]" % (name, " ".join(containers)), "BadRequest")
        container = containers[0]
    elif container not in containers:
        raise ApiError(400, "container %s is not valid for pod %s" % (container, name), "BadRequest")
    status = pod.get("status") or {}
    phase = status.get("phase") or "Pending"
    if phase in ("Succeeded", "Failed"):
        raise ApiError(400, "cannot exec into a container in a completed pod; current phase is %s" % phase, "BadRequest")
    if not (pod.get("spec") or {}).get("nodeName"):
        raise ApiError(400, "pod %s does not have a host assigned" % name, "BadRequest")
    state = next((s.get("state") or {} for s in status.get("containerStatuses") or [] if s.get("name") == container), {})
    if phase != "Running" or "running" not in state:
        raise ApiError(500, 'unable to upgrade connection: container not found ("%s")' % container, "InternalError")
    return container, command


def _exit_status(protocol, result, command):
    """The message of the error channel: a Status for v4/v5, a plain text for the older protocols (nothing on success)."""
    if protocol in PROTOCOLS[:2]:
        if result.exit_code == 0:
            return json.dumps({"metadata": {}, "status": "Success"}).encode()
        return json.dumps({"metadata": {}, "status": "Failure", "message": "command terminated with non-zero exit code: error executing "
                           "command [%s], exit code %d" % (" ".join(command), result.exit_code), "reason": "NonZeroExitCode",
                           "details": {"causes": [{"reason": "ExitCode", "message": str(result.exit_code)}]}}).encode()
    if result.exit_code == 0:
        return b""
    return ("command terminated with non-zero exit code: exit code %d" % result.exit_code).encode()


async def _read_stdin(ws, protocol):
    """stdin until the client closes it (v5), closes the connection, or goes quiet (older protocols)."""
    data = bytearray()
    while True:
        try:
            msg = await asyncio.wait_for(ws.receive(), None if protocol == PROTOCOLS[0] else STDIN_IDLE)
        except asyncio.TimeoutError:
            return bytes(data)
        if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT):
            return bytes(data)
        raw = msg.data.encode() if isinstance(msg.data, str) else msg.data
        if not raw:
            continue
        if raw[0] == CLOSE and protocol == PROTOCOLS[0] and raw[1:2] == bytes([STDIN]):
            return bytes(data)
        if raw[0] == STDIN:
            data += raw[1:]


async def _run(emulator, cluster, pod, container, command, stdin):
    for handler in emulator.pod_execs:
        result = handler(cluster, pod, container, list(command), stdin)
        if inspect.isawaitable(result):
            result = await result
        if result is not None:
            return ExecResult(*result)
    return not_found(command)


def _flag(value, default):
    return default if value is None else value.lower() in ("true", "1")


def _bytes(value):
    return value.encode() if isinstance(value, str) else bytes(value or b"")


async def serve(emulator, cluster, request, pod):
    """GET/POST .../pods/NAME/exec?command=...&container=...&stdin=&stdout=&stderr=&tty= (WebSocket upgrade)."""
    container, command = _target(pod, request.query)
    if request.headers.get("Upgrade", "").lower() != "websocket":
        if "spdy" in request.headers.get("Upgrade", "").lower():
            raise ApiError(400, "the emulator serves pods/exec over WebSocket only (%s): use kubectl 1.30 or later, or the "
                           "kubernetes Python client's stream()" % ", ".join(PROTOCOLS[:2]), "BadRequest")
        raise ApiError(400, "Upgrade request required", "BadRequest")
    cluster.stats["exec"] += 1
    ws = web.WebSocketResponse(protocols=PROTOCOLS, autoping=True)
    await ws.prepare(request)
    protocol = ws.ws_protocol or "channel.k8s.io"
    query = request.query
    stdin = await _read_stdin(ws, protocol) if _flag(query.get("stdin"), False) else b""
    try:
        result = await _run(emulator, cluster, pod, container, command, stdin)
    except Exception:  # pylint: disable=broad-except  # a faulty handler must not stop the emulator
        LOG.exception("exec handler failed on %s/%s %s", pod["metadata"]["namespace"], pod["metadata"]["name"], command)
        result = ExecResult(126, b"", b"emulator: the exec handler failed (see the emulator log)\n")
    try:
        for channel, wanted, data in ((STDOUT, _flag(query.get("stdout"), True), _bytes(result.stdout)),
                                      (STDERR, _flag(query.get("stderr"), True), _bytes(result.stderr))):
            if wanted:
                for start in range(0, len(data), CHUNK):
                    await ws.send_bytes(bytes([channel]) + data[start:start + CHUNK])
        status = _exit_status(protocol, result, command)
        if status:
            await ws.send_bytes(bytes([ERROR]) + status)
        await ws.close()
    except (ConnectionResetError, ConnectionError):
        pass
    return ws
