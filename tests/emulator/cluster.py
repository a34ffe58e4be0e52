"""Emulated clusters and the extension API that controllers use (see README.md, "Extension API")."""

import asyncio
import collections
import importlib
import inspect
import json
import logging
import pkgutil
import secrets

from emulator import authz, discovery
from emulator.admission import DEFAULT_CLASS_ANNOTATION
from emulator.errors import ApiError
from emulator.kinds import Registry, resource_type, split_api_version
from emulator.store import Store, clone

LOG = logging.getLogger("emulator")

WriteEvent = collections.namedtuple("WriteEvent", "type api_version kind namespace name object old_object")
WriteEvent.__doc__ = ("A committed write as controllers see it: type ADDED/MODIFIED/DELETED, apiVersion, kind, "
                      "namespace ('' when cluster-scoped), name, object (a copy) and old_object (a copy or None).")

DEFAULT_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
DEFAULT_STORAGE_CLASS = "standard"
STORAGE_CLASS_PROVISIONER = "rancher.io/local-path"
FAULT_DEFAULTS = {"error_rate": 0.0, "error_code": 503, "latency_ms": 0, "reset_rate": 0.0, "outage": False,
                  "token_revoked": False, "conflict_rate": 0.0, "fail_next": 0}


async def _maybe_await(value):
    if inspect.isawaitable(value):
        await value


class Cluster:
    """One emulated cluster: its registry, store, token, counters and faults; the object API for controllers.

    Objects are plain dicts. Every method is synchronous (call it from the event loop); errors are ApiError
    (with .code 404/409/422...). Writes made here run the same validation, resourceVersion and generation
    logic as HTTP writes, fire watch events and write hooks, but do not count as client writes in `status`.
    """

    def __init__(self, emulator, name, index, nodes=2, version=None, storage_class=DEFAULT_STORAGE_CLASS, users=()):
        self.emulator = emulator
        self.name = name
        self.index = index
        self.nodes = nodes
        self.token = secrets.token_urlsafe(24)
        self.version = discovery.version_info(version)
        self.storage_class = storage_class
        self.users = authz.Users(self.token)
        for user in users:
            self.users.add(user["name"], user.get("rules"), user.get("groups"), user.get("token"))
        self.registry = Registry()
        self.store = Store(self.registry)
        self.stats = collections.Counter()
        self.faults = dict(FAULT_DEFAULTS)
        self.port = None
        self._queue = collections.deque()
        self._wakeup = None
        self.store.listeners.append(self._queue_event)

    # ---- object API --------------------------------------------------------------------------------------
    def rtype(self, api_version, kind):
        """The ResourceType served for apiVersion/kind (ApiError 404 if none)."""
        rtype = self.registry.by_kind(api_version, kind)
        if rtype is None:
            raise ApiError(404, "no kind %r is registered for version %r" % (kind, api_version))
        return rtype

    def get(self, api_version, kind, name, namespace=None):
        """A copy of one object, or None."""
        entry = self.store.entry(self.rtype(api_version, kind), namespace or "", name)
        return json.loads(entry.raw) if entry else None

    def list(self, api_version, kind, namespace=None, label_selector=None, field_selector=None):
        """Copies of the matching objects (selectors in the API's string syntax)."""
        rtype = self.rtype(api_version, kind)
        return [json.loads(e.raw) for e in self.store.select(rtype, namespace, label_selector, field_selector)]

    def create(self, obj):
        """Create an object (ApiError 409 if it exists); returns a copy of the stored object."""
        rtype = self.rtype(obj.get("apiVersion", ""), obj.get("kind", ""))
        return clone(self.store.create(rtype, obj))

    def update(self, obj):
        """Replace an object; a metadata.resourceVersion in obj is checked (ApiError 409 if stale)."""
        rtype = self.rtype(obj.get("apiVersion", ""), obj.get("kind", ""))
        return clone(self.store.replace(rtype, obj, obj["metadata"].get("namespace")))

    def update_status(self, obj):
        """Replace only the status of an object."""
        rtype = self.rtype(obj.get("apiVersion", ""), obj.get("kind", ""))
        return clone(self.store.replace(rtype, obj, obj["metadata"].get("namespace"), subresource="status"))

    def patch(self, api_version, kind, name, body, namespace=None, patch_type="merge", subresource=None):
        """Patch an object: patch_type merge, strategic, json or apply; subresource None or "status"."""
        rtype = self.rtype(api_version, kind)
        return clone(self.store.patch(rtype, namespace or "", name, patch_type, body, subresource))

    def apply(self, obj):
        """Create the object or strategic-merge it into the existing one (like server-side apply)."""
        meta = obj.get("metadata") or {}
        return self.patch(obj["apiVersion"], obj["kind"], meta["name"], obj, meta.get("namespace"), "apply")

    def delete(self, api_version, kind, name, namespace=None):
        """Delete an object (cascades like the API); returns it, or None if it did not exist."""
        rtype = self.rtype(api_version, kind)
        if self.store.entry(rtype, namespace or "", name) is None:
            return None
        return clone(self.store.delete(rtype, namespace or "", name))

    def add_kind(self, api_version, kind, plural, namespaced=True, has_status=True, short_names=()):
        """Serve an extra built-in kind in this cluster (as if the API server had it compiled in)."""
        group, version = split_api_version(api_version)
        self.registry.add(resource_type(group, version, kind, plural, namespaced, short_names, has_status))

    # ---- write hooks -------------------------------------------------------------------------------------
    def _queue_event(self, event):
        self._queue.append(event)
        if self._wakeup is not None and not self._wakeup.is_set():
            self._wakeup.set()

    async def dispatch_forever(self):
        """Run the write hooks for every committed write, in order (started by Emulator.start)."""
        self._wakeup = asyncio.Event()
        while True:
            while not self._queue:
                self._wakeup.clear()
                await self._wakeup.wait()
            event = self._queue.popleft()
            await self._dispatch(event)

    async def _dispatch(self, event):
        handlers = self.emulator.handlers_for(event.rtype)
        if not handlers:
            return
        meta = (event.object or event.old)["metadata"]
        view = WriteEvent(event.type, event.object["apiVersion"], event.rtype.kind, meta.get("namespace", ""),
                          meta["name"], clone(event.object),
                          clone(event.old) if event.old is not None else None)
        for handler in handlers:
            try:
                await _maybe_await(handler(self, view))
            except Exception:  # pylint: disable=broad-except  # a faulty controller must not stop the emulator
                LOG.exception("write hook %r failed on %s %s/%s", handler, view.kind, view.namespace, view.name)

    def idle(self):
        """Whether every queued write hook has run."""
        return not self._queue

    def set_default_storage_class(self, name=DEFAULT_STORAGE_CLASS, binding_mode="WaitForFirstConsumer"):
        """Make `name` the only default StorageClass (created like kind's local-path class when missing); None: no
        default at all (the annotation is removed from every class; the classes stay)."""
        for sc in self.list("storage.k8s.io/v1", "StorageClass"):
            annotations = sc["metadata"].get("annotations") or {}
            if sc["metadata"]["name"] != name and annotations.get(DEFAULT_CLASS_ANNOTATION) == "true":
                self.patch("storage.k8s.io/v1", "StorageClass", sc["metadata"]["name"],
                           {"metadata": {"annotations": {DEFAULT_CLASS_ANNOTATION: None}}})
        if name is not None:
            if self.get("storage.k8s.io/v1", "StorageClass", name) is None:
                self.create({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {
                    "name": name, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
                    "provisioner": STORAGE_CLASS_PROVISIONER, "reclaimPolicy": "Delete", "volumeBindingMode": binding_mode})
            else:
                self.patch("storage.k8s.io/v1", "StorageClass", name, {"metadata": {"annotations": {DEFAULT_CLASS_ANNOTATION: "true"}}})
        self.storage_class = name
        return self.list("storage.k8s.io/v1", "StorageClass")

    def bootstrap(self):
        """Create the objects every cluster starts with: namespaces, the kubernetes Service, Nodes, the default
        StorageClass (unless started without)."""
        for ns in DEFAULT_NAMESPACES:
            self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        self.create({"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": "kubernetes", "namespace": "default", "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 6443}]}})
        for i in range(1, self.nodes + 1):
            name = "%s-node-%d" % (self.name, i)
            node = self.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64",
                "topology.kubernetes.io/region": "region-%s" % self.name, "topology.kubernetes.io/zone": "zone-%s-%d" % (self.name, i),
            }}, "spec": {"podCIDR": "10.%d.%d.0/24" % (244 - self.index, i)}})
            node["status"] = {
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}],
                "addresses": [{"type": "InternalIP", "address": "172.18.%d.%d" % (self.index, i + 1)},
                              {"type": "Hostname", "address": name}],
                "nodeInfo": {"kubeletVersion": self.version["gitVersion"], "operatingSystem": "linux", "architecture": "amd64",
                             "containerRuntimeVersion": "containerd://2.0.0"},
                "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110"},
                "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110"}}
            self.update_status(node)
        if self.storage_class:
            self.set_default_storage_class(self.storage_class)


class Emulator:
    """Every emulated cluster of one process, plus the registrations controllers make in setup()."""

    def __init__(self, names, nodes=2, options=None):
        """options: {cluster name: {"version": "1.29", "storage_class": "standard" or None, "users": [{name, rules, ...}]}}."""
        options = options or {}
        self.clusters = {name: Cluster(self, name, i, nodes, **options.get(name, {})) for i, name in enumerate(names)}
        self.admin_token = secrets.token_urlsafe(24)
        self.ca_pem = None         # PEM text of the CA that signs the serving certificate (set by serve())
        self._handlers = []        # (callable, {(group, kind)} or None)
        self._periodic = []        # (seconds, callable)
        self.admin_routes = {}     # (METHOD, path) -> callable(cluster, request)
        self.pod_proxies = []      # callable(cluster, pod, port, path, request)
        self.pod_execs = []        # callable(cluster, pod, container, command, stdin)
        self.settings = {}         # KEY=VALUE settings of `up --set` for controllers (values YAML-decoded)
        self._tasks = []

    # ---- registration API (call from a controller module's setup(emulator)) -------------------------------
    def on_write(self, handler, kinds=None):
        """handler(cluster, WriteEvent) after every committed write (sync or async), optionally only for
        kinds = [(apiVersion, kind), ...] (the version is ignored: every version of the kind matches)."""
        wanted = None if kinds is None else {(split_api_version(av)[0], k) for av, k in kinds}
        self._handlers.append((handler, wanted))

    def every(self, seconds, handler):
        """handler(cluster) every `seconds` for every cluster (sync or async)."""
        self._periodic.append((seconds, handler))

    def add_admin_route(self, method, path, handler):
        """Serve METHOD path (must start with /_emulator/) on every cluster port with the admin token:
        handler(cluster, aiohttp request) returns a JSON-able value or an aiohttp Response (may be async)."""
        if not path.startswith("/_emulator/"):
            raise ValueError("admin routes live under /_emulator/")
        self.admin_routes[(method.upper(), path)] = handler

    def add_pod_proxy(self, handler):
        """handler(cluster, pod, port, path, request) for /api/v1/namespaces/NS/pods/NAME[:PORT]/proxy/PATH; it
        returns an aiohttp Response (or a str/bytes/JSON-able value for 200), or None to let the next handler try."""
        self.pod_proxies.append(handler)

    def add_pod_exec(self, handler):
        """handler(cluster, pod, container, command, stdin) for pods/exec (WebSocket, see podexec.py): command is the argv
        list, stdin bytes (b"" unless the client sends stdin); it returns (exit_code, stdout, stderr) -- str or bytes --
        or None to let the next handler try (nobody: exit code 127, "executable file not found"). May be async."""
        self.pod_execs.append(handler)

    # ---- runtime -----------------------------------------------------------------------------------------
    def handlers_for(self, rtype):
        """Write hooks interested in a resource type."""
        return [h for h, kinds in self._handlers if kinds is None or (rtype.group, rtype.kind) in kinds]

    def load_controllers(self):
        """Import every module of emulator.controllers (builtin first) and call its setup(emulator)."""
        package = importlib.import_module("emulator.controllers")
        names = sorted(m.name for m in pkgutil.iter_modules(package.__path__))
        names.sort(key=lambda n: n != "builtin")
        for name in names:
            module = importlib.import_module("emulator.controllers." + name)
            if hasattr(module, "setup"):
                module.setup(self)

    def start(self):
        """Bootstrap every cluster and start the hook dispatchers and periodic tasks (inside the loop)."""
        for cluster in self.clusters.values():
            self._tasks.append(asyncio.ensure_future(cluster.dispatch_forever()))
            cluster.bootstrap()
            for seconds, handler in self._periodic:
                self._tasks.append(asyncio.ensure_future(self._every(cluster, seconds, handler)))

    @staticmethod
    async def _every(cluster, seconds, handler):
        while True:
            try:
                await _maybe_await(handler(cluster))
            except Exception:  # pylint: disable=broad-except  # a faulty controller must not stop the emulator
                LOG.exception("periodic %r failed on %s", handler, cluster.name)
            await asyncio.sleep(seconds)

    async def settle(self, timeout=5.0):
        """Wait until no write hook is pending in any cluster (for in-process tests)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if all(c.idle() for c in self.clusters.values()):
                await asyncio.sleep(0)
                if all(c.idle() for c in self.clusters.values()):
                    return True
            await asyncio.sleep(0.01)
        return False

    def stop(self):
        """Cancel the background tasks."""
        for task in self._tasks:
            task.cancel()
