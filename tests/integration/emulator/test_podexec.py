"""pods/exec (tests/emulator/podexec.py) in process: the add_pod_exec hook over the v5/v4 channel protocols (stdout,
stderr, stdin until the v5 close signal, the exit Status), what nobody answers (127), and the API server's checks."""

import asyncio
import json

from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from emulator.cluster import Emulator
from emulator.server import ClusterApp

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "tool", "namespace": "default"},
       "spec": {"containers": [{"name": "main", "image": "tool:1"}, {"name": "side", "image": "side:1"}]}}


def test_exec_hook_and_protocols():
    asyncio.run(_scenario())


async def _session(http, token, query, protocol="v5.channel.k8s.io", stdin=None):
    """(channels {n: bytes}, protocol) of one exec session."""
    ws = await http.ws_connect("/api/v1/namespaces/default/pods/tool/exec?" + query, protocols=(protocol,),
                               headers={"Authorization": "Bearer " + token})
    if stdin is not None:
        await ws.send_bytes(b"\x00" + stdin)
        await ws.send_bytes(b"\xff\x00")
    channels = {}
    async for msg in ws:
        if msg.type == WSMsgType.BINARY:
            channels[msg.data[0]] = channels.get(msg.data[0], b"") + msg.data[1:]
    return channels, ws.protocol


async def _scenario():
    emulator = Emulator(["east"])
    calls = []

    async def tool(cluster, pod, container, command, stdin):
        calls.append((cluster.name, pod["metadata"]["name"], container, command))
        if container != "main":
            return None
        if command[0] == "echo":
            return 0, " ".join(command[1:]) + "\n", ""
        if command[0] == "cat":
            return 0, stdin, b""
        if command[0] == "fail":
            return 3, "", "boom\n"
        return None

    emulator.add_pod_exec(tool)
    emulator.load_controllers()
    emulator.start()
    try:
        east = emulator.clusters["east"]
        east.create(POD)
        await emulator.settle()
        async with TestClient(TestServer(ClusterApp(emulator, east).app)) as http:
            channels, protocol = await _session(http, east.token, "command=echo&command=hi&container=main&stdout=true&stderr=true")
            assert protocol == "v5.channel.k8s.io" and channels[1] == b"hi\n"
            assert json.loads(channels[3]) == {"metadata": {}, "status": "Success"}
            assert calls[-1] == ("east", "tool", "main", ["echo", "hi"])

            channels, _p = await _session(http, east.token, "command=fail&container=main&stdout=true&stderr=true", "v4.channel.k8s.io")
            status = json.loads(channels[3])
            assert channels[2] == b"boom\n" and status["status"] == "Failure" and status["reason"] == "NonZeroExitCode"
            assert status["details"]["causes"] == [{"reason": "ExitCode", "message": "3"}]

            channels, _p = await _session(http, east.token, "command=cat&container=main&stdin=true&stdout=true", stdin=b"piped")
            assert channels[1] == b"piped"

            channels, _p = await _session(http, east.token, "command=ls&command=/&container=side&stdout=true&stderr=true")
            assert b'exec: "ls": executable file not found in $PATH' in channels[2]
            assert json.loads(channels[3])["details"]["causes"][0]["message"] == "127"

            auth = {"Authorization": "Bearer " + east.token}
            resp = await http.get("/api/v1/namespaces/default/pods/tool/exec?command=echo&container=main", headers=auth)
            assert resp.status == 400 and (await resp.json())["message"] == "Upgrade request required"
            resp = await http.get("/api/v1/namespaces/default/pods/tool/exec?command=echo", headers=auth)
            assert resp.status == 400 and "a container name must be specified for pod tool, choose one of: [main side]" in (await resp.json())["message"]
            resp = await http.post("/api/v1/namespaces/default/pods/tool/exec?command=echo&container=main", headers=dict(auth, Upgrade="SPDY/3.1"))
            assert resp.status == 400 and "WebSocket only" in (await resp.json())["message"]
            resp = await http.get("/api/v1/namespaces/default/pods/nope/exec?command=echo", headers=auth)
            assert resp.status == 404
            assert east.stats["exec"] == 4
    finally:
        emulator.stop()
