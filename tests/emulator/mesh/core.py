"""Wiring of the simulated mesh into the emulator (see README.md): write hooks, a coalesced reconcile of every cluster,
a periodic resync, the /_emulator/mesh/* admin routes and the istiod /debug/license pod proxy."""

import asyncio
import logging

from aiohttp import web

from emulator.mesh import istio, licensing, peering, spire
from emulator.mesh.faults import KEYS as FAULT_KEYS, FaultState
from emulator.mesh.util import pod_ready

LOG = logging.getLogger("emulator.mesh")
MIN_INTERVAL = 0.05
IGNORED_KINDS = {("", "Event"), ("events.k8s.io", "Event"), ("coordination.k8s.io", "Lease")}


class Mesh:
    """The simulated mesh of one emulator process."""

    def __init__(self, emulator):
        self.emulator = emulator
        self.faults = {name: FaultState() for name in emulator.clusters}
        self.settings = {name: {} for name in emulator.clusters}
        self.reports = {}
        self.infos = {}
        self._scheduled = False
        self._last = 0.0
        self._interval = MIN_INTERVAL
        self.reconciles = 0

    # ---- scheduling ---------------------------------------------------------------------------------------------
    def schedule(self):
        """Run reconcile_all once soon: bursts of writes are coalesced, at most one run per interval (MIN_INTERVAL, or
        10x the last run's duration: bulk seeding of thousands of objects must not cost one full reconcile per request)."""
        if not self._scheduled:
            self._scheduled = True
            loop = asyncio.get_event_loop()
            loop.call_later(max(0.0, self._last + self._interval - loop.time()), self._run)

    def _run(self):
        self._scheduled = False
        loop = asyncio.get_event_loop()
        start = loop.time()
        try:
            self.reconcile_all()
        except Exception:  # pylint: disable=broad-except  # a simulation bug must not stop the emulator
            LOG.exception("mesh reconcile failed")
        self._last = loop.time()
        # at most ~10% of the loop for the simulation, whatever the object count (bulk seeding)
        self._interval = max(MIN_INTERVAL, 10 * (self._last - start))

    def reconcile_all(self):
        """Every simulated controller over every cluster."""
        self.reconciles += 1
        for name, cluster in self.emulator.clusters.items():
            faults = self.faults[name].active
            istio.reconcile_operator(cluster, faults, self.settings[name])
            spire.reconcile(cluster)
            for pod in cluster.list("v1", "Pod", label_selector="app in (istiod,ztunnel)"):
                istio.reconcile_pod(cluster, pod, faults)
            istio.reconcile_istiod(cluster)
        self.infos = peering.reconcile(self.emulator, lambda n: self.faults[n].active, self.reports)

    # ---- hooks --------------------------------------------------------------------------------------------------
    def on_write(self, cluster, event):
        """Pods of SPIRE/istiod/ztunnel get their readiness in the same write cascade; everything else is coalesced."""
        rtype = cluster.registry.by_kind(event.api_version, event.kind)
        if rtype is not None and (rtype.group, rtype.kind) in IGNORED_KINDS:
            return
        if event.kind == "Pod" and event.api_version == "v1" and event.type != "DELETED":
            pod = cluster.get("v1", "Pod", event.name, event.namespace)
            if pod is not None:
                spire.on_pod(cluster, pod)
                if (pod["metadata"].get("labels") or {}).get("app") in ("istiod", "ztunnel"):
                    istio.reconcile_pod(cluster, pod, self.faults[cluster.name].active)
        self.schedule()

    def periodic(self, cluster):
        """Resync every few seconds (first cluster only: reconcile_all covers all of them)."""
        if cluster.index == 0:
            self.schedule()

    # ---- admin routes -------------------------------------------------------------------------------------------
    def get_faults(self, cluster, _request):
        """Active mesh faults of this cluster."""
        return self.faults[cluster.name].active

    async def set_faults(self, cluster, request):
        """Merge mesh faults (see faults.py) and reconcile."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        result = self.faults[cluster.name].set(cluster, body)
        self.schedule()
        return result

    def clear_faults(self, cluster, _request):
        """Clear every mesh fault of this cluster (restoring what they changed)."""
        result = self.faults[cluster.name].clear(cluster)
        self.schedule()
        return result

    def get_settings(self, cluster, _request):
        """Mesh settings of this cluster (istio.SETTINGS)."""
        return self.settings[cluster.name]

    async def set_settings(self, cluster, request):
        """Merge mesh settings (a null value removes one) and reconcile. Clearing the faults keeps them."""
        try:
            body = await request.json()
        except ValueError:
            body = None
        istio.check_settings(body)
        for key, value in body.items():
            if value is None:
                self.settings[cluster.name].pop(key, None)
            else:
                self.settings[cluster.name][key] = value
        self.schedule()
        return self.settings[cluster.name]

    def status(self, cluster, _request):
        """Debug view: what the simulation concluded for this cluster (peering problems, license, network, roots)."""
        info = self.infos.get(cluster.name) or {}
        return {"cluster": cluster.name, "faults": self.faults[cluster.name].active, "settings": self.settings[cluster.name],
                "reconciles": self.reconciles,
                "istiod": {k: info.get(k) for k in ("ready", "cluster_id", "network", "trust_domain", "license", "multicluster",
                                                    "peering", "select_we", "root", "chain_ok", "plugged")} if info else None,
                "eastwest": info.get("eastwest") if info else None,
                "peering": self.reports.get(cluster.name, {})}

    # ---- pod proxy ----------------------------------------------------------------------------------------------
    def pod_proxy(self, cluster, pod, port, path, _request):
        """GET .../pods/<istiod>:15014/proxy/debug/license -> {"State", "Product"} (404 before Istio 1.27)."""
        labels = pod["metadata"].get("labels") or {}
        if (pod["metadata"].get("annotations") or {}).get(istio.SIMULATED) != "true" or labels.get("app") != "istiod" or \
                port not in ("15014", "") or path.rstrip("/") != "/debug/license":
            return None
        if not pod_ready(pod):
            return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 503, "reason": "ServiceUnavailable",
                                      "message": "error trying to reach service: dial tcp %s:15014: connect: connection refused" % (
                                          (pod.get("status") or {}).get("podIP") or "")}, status=503)
        container = next((c for c in pod["spec"].get("containers") or [] if c.get("name") == "discovery"), {})
        image = container.get("image") or ""
        version = licensing.version_tuple(image.rsplit(":", 1)[-1]) if ":" in image else None
        if version is not None and version < (1, 27):
            return web.Response(status=404, text="404 page not found\n")
        env = istio.env_of(container)
        return licensing.decode(licensing.istiod_license_key(cluster, env))


async def _call(handler, cluster, request):
    result = handler(cluster, request)
    if asyncio.iscoroutine(result):
        result = await result
    return result


class _Body:
    """A stand-in request whose json() is a given body (to hand the core's fault handler its share of the keys)."""

    def __init__(self, body):
        self._body = body

    async def json(self):
        """The body."""
        return self._body


def _extend_core_faults(emulator, mesh):
    """Let `scripts/emulator fault CLUSTER KEY=VALUE|clear` (the core's /_emulator/faults) take the mesh keys too:
    mesh keys go to the mesh, the others to the core handler; DELETE clears both; GET shows both."""
    core_get = emulator.admin_routes.get(("GET", "/_emulator/faults"))
    core_post = emulator.admin_routes.get(("POST", "/_emulator/faults"))
    core_delete = emulator.admin_routes.get(("DELETE", "/_emulator/faults"))
    if not (core_get and core_post and core_delete):
        return

    async def post(cluster, request):
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return await _call(core_post, cluster, _Body(body))
        mine = {k: v for k, v in body.items() if k in FAULT_KEYS}
        rest = {k: v for k, v in body.items() if k not in FAULT_KEYS}
        result = dict(await _call(core_post, cluster, _Body(rest)) if rest or not mine else await _call(core_get, cluster, request))
        if mine:
            mesh.faults[cluster.name].set(cluster, mine)
            mesh.schedule()
            return dict(result, mesh=mesh.faults[cluster.name].active)
        return result

    async def delete(cluster, request):
        result = dict(await _call(core_delete, cluster, request))
        mesh.faults[cluster.name].clear(cluster)
        mesh.schedule()
        return result

    async def get(cluster, request):
        result = await _call(core_get, cluster, request)
        active = mesh.faults[cluster.name].active
        return dict(result, mesh=active) if active else result

    emulator.add_admin_route("GET", "/_emulator/faults", get)
    emulator.add_admin_route("POST", "/_emulator/faults", post)
    emulator.add_admin_route("DELETE", "/_emulator/faults", delete)


def setup(emulator):
    """Register the simulated mesh with the emulator core."""
    mesh = Mesh(emulator)
    emulator.mesh = mesh
    emulator.on_write(mesh.on_write)
    emulator.every(2.0, mesh.periodic)
    emulator.add_admin_route("GET", "/_emulator/mesh/faults", mesh.get_faults)
    emulator.add_admin_route("POST", "/_emulator/mesh/faults", mesh.set_faults)
    emulator.add_admin_route("DELETE", "/_emulator/mesh/faults", mesh.clear_faults)
    emulator.add_admin_route("GET", "/_emulator/mesh/settings", mesh.get_settings)
    emulator.add_admin_route("POST", "/_emulator/mesh/settings", mesh.set_settings)
    emulator.add_admin_route("GET", "/_emulator/mesh/status", mesh.status)
    emulator.add_pod_proxy(mesh.pod_proxy)
    _extend_core_faults(emulator, mesh)
    return mesh
