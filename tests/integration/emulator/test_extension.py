"""The extension API (tests/emulator/README.md), in process: write hooks, periodic tasks, admin routes, pod proxy."""

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from emulator.cluster import Emulator
from emulator.errors import ApiError
from emulator.server import ClusterApp


def test_hooks_routes_and_proxy():
    asyncio.run(_scenario())


async def _scenario():
    emulator = Emulator(["east", "west"])
    seen, ticks = [], []

    def mirror(cluster, event):
        """Copy ConfigMaps labelled mirror=yes into the other cluster (cross-cluster visibility)."""
        seen.append((cluster.name, event.type, event.kind, event.namespace, event.name))
        if event.type == "ADDED" and event.object["metadata"].get("labels", {}).get("mirror") == "yes":
            other = emulator.clusters["west" if cluster.name == "east" else "east"]
            other.apply({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": event.name, "namespace": "default"},
                         "data": event.object.get("data", {})})

    async def tick(cluster):
        ticks.append(cluster.name)

    def license_proxy(cluster, pod, port, path, request):
        del request
        if port == "15014" and path == "/debug/license":
            return {"cluster": cluster.name, "pod": pod["metadata"]["name"]}
        return None

    emulator.on_write(mirror, kinds=[("v1", "ConfigMap")])
    emulator.every(60, tick)
    emulator.add_admin_route("GET", "/_emulator/mesh/ping", lambda cluster, request: {"pong": cluster.name})
    emulator.add_pod_proxy(license_proxy)
    emulator.load_controllers()
    emulator.start()
    try:
        east = emulator.clusters["east"]
        east.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m", "namespace": "default",
                                                                           "labels": {"mirror": "yes"}}, "data": {"a": "1"}})
        await emulator.settle()
        assert emulator.clusters["west"].get("v1", "ConfigMap", "m", "default")["data"] == {"a": "1"}
        assert ("east", "ADDED", "ConfigMap", "default", "m") in seen
        assert sorted(ticks) == ["east", "west"]
        try:
            east.create({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m", "namespace": "default"}})
        except ApiError as exc:
            assert exc.code == 409
        east.create({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "istiod-1", "namespace": "default",
                                                                     "labels": {"app": "istiod"}},
                     "spec": {"containers": [{"name": "discovery", "image": "istiod"}]}})
        await emulator.settle()
        assert east.get("v1", "Pod", "istiod-1", "default")["status"]["phase"] == "Running"
        async with TestClient(TestServer(ClusterApp(emulator, east).app)) as http:
            user = {"Authorization": "Bearer " + east.token}
            admin = {"Authorization": "Bearer " + emulator.admin_token}
            resp = await http.get("/api/v1/namespaces/default/pods/istiod-1:15014/proxy/debug/license", headers=user)
            assert resp.status == 200 and (await resp.json())["pod"] == "istiod-1"
            resp = await http.get("/api/v1/namespaces/default/pods/istiod-1:8080/proxy/other", headers=user)
            assert resp.status == 503
            east.create({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "istiod", "namespace": "default"},
                         "spec": {"selector": {"app": "istiod"}, "ports": [{"name": "http-monitoring", "port": 15014}]}})
            resp = await http.get("/api/v1/namespaces/default/services/istiod:http-monitoring/proxy/debug/license", headers=user)
            assert resp.status == 200 and (await resp.json())["pod"] == "istiod-1"
            resp = await http.get("/_emulator/mesh/ping", headers=admin)
            assert (await resp.json()) == {"pong": "east"}
            resp = await http.get("/_emulator/mesh/ping", headers=user)
            assert resp.status == 401
    finally:
        emulator.stop()
