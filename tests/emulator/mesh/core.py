"""Wiring of the simulated mesh into the emulator (see README.md): write hooks, a coalesced reconcile of every cluster,
a periodic resync, the trust model's timers and the cross-cluster probe, the /_emulator/mesh/* admin routes, the istiod
/debug/license pod proxy and the spire-server CLI (pods/exec)."""

import asyncio
import logging
import time

from aiohttp import web

from emulator.errors import ApiError
from emulator.mesh import istio, licensing, peering, spire, versions
from emulator.mesh.faults import KEYS as FAULT_KEYS, FaultState
from emulator.mesh.probe import Probe
from emulator.mesh.trust import TICK, TrustModel
from emulator.mesh.util import pod_ready, set_pod_readiness, set_status

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
        self.trust = TrustModel(emulator, getattr(emulator, "settings", None))
        self.probe = Probe(self.trust)
        self.broken = {name: {} for name in emulator.clusters}   # pods crash-looping for broken_version: uid -> last restart

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
            self.reconcile_broken(cluster, faults)
            istio.reconcile_operator(cluster, faults, self.settings[name])
            spire.reconcile(cluster)
            pods = cluster.list("v1", "Pod", label_selector="app in (istiod,ztunnel)")
            for pod in pods:
                istio.reconcile_pod(cluster, pod, faults)
            self.trust.sync(cluster, pods + cluster.list("v1", "Pod", label_selector="gateway.networking.k8s.io/gateway-class-name=istio-eastwest"))
            istio.reconcile_istiod(cluster)
        self.infos = peering.reconcile(self.emulator, lambda n: self.faults[n].active, self.reports)
        self.probe.set_links(self.links())

    def links(self):
        """{(client, server): {namespace, service, connected}} of the istio-remote Gateways the peering simulation resolved."""
        links = {}
        for name, report in self.reports.items():
            for item in report.values():
                if item.get("peer") and item.get("eastwest"):
                    namespace, service = item["eastwest"].split("/", 1)
                    link = links.setdefault((name, item["peer"]), {"namespace": namespace, "service": service, "connected": False})
                    link["connected"] = link["connected"] or bool(item.get("connected"))
        return links

    # ---- versions -----------------------------------------------------------------------------------------------
    def readiness_override(self, cluster, pod):
        """The crash message of a pod running a broken version (util.set_pod_readiness asks), or None."""
        value = self.faults[cluster.name].active.get("broken_version") if cluster.name in self.faults else None
        return versions.broken_message(cluster, pod, value) if value else None

    def reconcile_broken(self, cluster, faults):
        """Pods of a broken version crash-loop (restartCount grows every crashloop_backoff); they recover when it clears."""
        state = self.broken[cluster.name]
        if not faults.get("broken_version") and not state:
            return
        now = time.time()
        for pod in cluster.list("v1", "Pod"):
            uid = pod["metadata"]["uid"]
            message = self.readiness_override(cluster, pod)
            if message and uid not in state:
                set_pod_readiness(cluster, pod, False, "CrashLoopBackOff", message)
                state[uid] = now
            elif message and now - state[uid] >= self.trust.settings["crashloop_backoff"]:
                versions.bump_restart(cluster, pod, set_status)
                state[uid] = now
            elif not message and uid in state:
                del state[uid]
                set_pod_readiness(cluster, pod, True)
        alive = {p["metadata"]["uid"] for p in cluster.list("v1", "Pod")} if state else set()
        for uid in [u for u in state if u not in alive]:
            del state[uid]

    # ---- hooks --------------------------------------------------------------------------------------------------
    def on_write(self, cluster, event):
        """Pods of SPIRE/istiod/ztunnel get their readiness in the same write cascade; everything else is coalesced."""
        rtype = cluster.registry.by_kind(event.api_version, event.kind)
        if rtype is not None and (rtype.group, rtype.kind) in IGNORED_KINDS:
            return
        if event.kind == "Secret" and event.api_version == "v1":
            self.trust.on_secret(cluster, event)
        if event.kind == "Pod" and event.api_version == "v1" and event.type == "DELETED":
            self.trust.on_pod(cluster, event.object, deleted=True)
        elif event.kind == "Pod" and event.api_version == "v1":
            pod = cluster.get("v1", "Pod", event.name, event.namespace)
            if pod is not None:
                if self.faults[cluster.name].active.get("broken_version") and self.readiness_override(cluster, pod) and \
                        pod["metadata"]["uid"] not in self.broken[cluster.name]:
                    set_pod_readiness(cluster, pod, False, "CrashLoopBackOff", self.readiness_override(cluster, pod))
                    self.broken[cluster.name][pod["metadata"]["uid"]] = time.time()
                    pod = cluster.get("v1", "Pod", event.name, event.namespace) or pod
                spire.on_pod(cluster, pod)
                if (pod["metadata"].get("labels") or {}).get("app") in ("istiod", "ztunnel"):
                    istio.reconcile_pod(cluster, pod, self.faults[cluster.name].active)
                if self.trust.kind_of(pod):
                    pod = cluster.get("v1", "Pod", event.name, event.namespace)   # readiness as just reconciled
                    if pod is not None:
                        self.trust.on_pod(cluster, pod)
        self.schedule()

    def periodic(self, cluster):
        """Resync every few seconds (first cluster only: reconcile_all covers all of them)."""
        if cluster.index == 0:
            self.schedule()

    def tick(self, cluster):
        """Every TICK (first cluster only): the trust model's timers, then the probe when it is due."""
        if cluster.index != 0:
            return
        try:
            now = time.time()
            if self.trust.tick(now):
                self.schedule()
            if self.probe.due(now):
                self.probe.tick(now)
        except Exception:  # pylint: disable=broad-except  # a simulation bug must not stop the emulator
            LOG.exception("mesh trust tick failed")

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
        """The trust model's and the probe's settings (the same for every cluster) and this cluster's own (istio.SETTINGS)."""
        return dict(self.trust.settings, **self.settings[cluster.name])

    async def set_settings(self, cluster, request):
        """Merge settings: the trust model's (null resets one to its default) and this cluster's own (null removes one);
        reconcile. Clearing the faults keeps them."""
        try:
            body = await request.json()
        except ValueError as exc:
            raise ApiError(400, "settings must be a JSON object") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "settings must be a JSON object")
        own = dict((k, v) for k, v in body.items() if k in istio.SETTINGS)
        istio.check_settings(own)
        trust = dict((k, v) for k, v in body.items() if k not in istio.SETTINGS)
        if trust:
            self.trust.set(trust)
        for key, value in own.items():
            if value is None:
                self.settings[cluster.name].pop(key, None)
            else:
                self.settings[cluster.name][key] = value
        self.schedule()
        return self.get_settings(cluster, request)

    def status(self, cluster, _request):
        """Debug view: what the simulation concluded for this cluster (peering problems, license, network, roots), the
        trust model (istiod's and SPIRE's CAs and roots, what every ztunnel and east-west gateway holds) and versions."""
        info = self.infos.get(cluster.name) or {}
        return {"cluster": cluster.name, "faults": self.faults[cluster.name].active, "settings": self.settings[cluster.name],
                "reconciles": self.reconciles,
                "istiod": {k: info.get(k) for k in ("ready", "cluster_id", "network", "trust_domain", "license", "multicluster",
                                                    "peering", "select_we", "root", "chain_ok", "plugged")} if info else None,
                "eastwest": info.get("eastwest") if info else None,
                "peering": self.reports.get(cluster.name, {}),
                "trust": self.trust.status(cluster),
                "versions": versions.cluster_versions(cluster, istio.istiod_deployments(cluster))}

    def get_probe(self, _cluster, _request):
        """Probe counters per ordered pair (client->server)."""
        return self.probe.view()

    def reset_probe(self, _cluster, _request):
        """Zero the probe counters."""
        return self.probe.reset()

    # ---- pods/exec ----------------------------------------------------------------------------------------------
    def pod_exec(self, cluster, pod, container, command, _stdin):
        """`spire-server ...` in a SPIRE server container (a change is published at once)."""
        result = self.trust.spire_exec(cluster, pod, container, command)
        if result is not None:
            self.schedule()
        return result

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
    emulator.add_admin_route("GET", "/_emulator/mesh/status", mesh.status)
    emulator.add_admin_route("GET", "/_emulator/mesh/settings", mesh.get_settings)
    emulator.add_admin_route("POST", "/_emulator/mesh/settings", mesh.set_settings)
    emulator.add_admin_route("GET", "/_emulator/mesh/probe", mesh.get_probe)
    emulator.add_admin_route("DELETE", "/_emulator/mesh/probe", mesh.reset_probe)
    emulator.add_admin_route("POST", "/_emulator/mesh/probe/reset", mesh.reset_probe)
    emulator.every(TICK, mesh.tick)
    emulator.add_pod_proxy(mesh.pod_proxy)
    if hasattr(emulator, "add_pod_exec"):
        emulator.add_pod_exec(mesh.pod_exec)
    _extend_core_faults(emulator, mesh)
    return mesh
