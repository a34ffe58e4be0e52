"""The HTTP side: one aiohttp application per cluster (discovery, REST verbs, watch, admin, pod proxy)."""

import asyncio
import json
import logging
import random

import yaml
from aiohttp import web

from emulator import authz, discovery, podexec, protobuf
from emulator.errors import ApiError
from emulator.kinds import CREATE_ONLY
from emulator.store import dumps

LOG = logging.getLogger("emulator")
MAX_BODY = 3 * 1024 * 1024
JSON = "application/json"
PATCH_TYPES = {"application/json-patch+json": "json", "application/merge-patch+json": "merge",
               "application/strategic-merge-patch+json": "strategic", "application/apply-patch+yaml": "apply",
               "application/apply-patch+cbor": None}
WRITE_VERBS = ("POST", "PUT", "PATCH", "DELETE")
STATIC = {"/version": None, "/api": discovery.api_versions(), "/apis": None,
          "/healthz": "ok", "/livez": "ok", "/readyz": "ok"}


def _response(body, status=200, content_type=JSON):
    if not isinstance(body, bytes):
        body = dumps(body)
    return web.Response(body=body, status=status, content_type=content_type)


def _error(exc):
    return _response(exc.body(), exc.code)


def _truthy(value):
    return value not in (None, "", "0", "false", "False")


class ClusterApp:
    """Request handling for one cluster."""

    def __init__(self, emulator, cluster):
        self.emulator = emulator
        self.cluster = cluster
        self.app = web.Application(client_max_size=MAX_BODY)
        self.app.router.add_route("*", "/{tail:.*}", self.handle)

    # ---- entry point -------------------------------------------------------------------------------------
    async def handle(self, request):
        """Faults, authentication, then dispatch; every failure becomes a Status."""
        try:
            if request.path.startswith("/_emulator/"):
                return await self.admin(request)
            fault = await self._fault(request)
            if fault is not None:
                return fault
            user = self.cluster.users.authenticate(request.headers.get("Authorization"))
            if user is None:
                raise ApiError(401, "Unauthorized")
            self.cluster.stats["requests"] += 1
            return await self.route(request, user)
        except ApiError as exc:
            return _error(exc)
        except web.HTTPRequestEntityTooLarge:
            return _error(ApiError(413, "the request body is too large (limit %d bytes)" % MAX_BODY))
        except (asyncio.CancelledError, ConnectionResetError):
            raise
        except Exception as exc:  # pylint: disable=broad-except  # bad input must never stop the server
            LOG.exception("internal error on %s %s", request.method, request.path_qs)
            return _error(ApiError(500, "internal error: %s" % exc))

    async def _fault(self, request):
        faults = self.cluster.faults
        if faults["outage"] or (faults["reset_rate"] and random.random() < faults["reset_rate"]):
            if request.transport is not None:
                request.transport.abort()
            raise ConnectionResetError("emulated fault")
        if faults["latency_ms"]:
            await asyncio.sleep(faults["latency_ms"] / 1000.0)
        if faults["token_revoked"]:
            return _error(ApiError(401, "Unauthorized"))
        if faults["fail_next"] > 0:
            faults["fail_next"] -= 1
            return _error(ApiError(int(faults["error_code"]), "emulated fault: the server is currently unable to handle the request"))
        if faults["error_rate"] and random.random() < faults["error_rate"]:
            code = int(faults["error_code"])
            return _error(ApiError(code, "emulated fault: the server is currently unable to handle the request"))
        if faults["conflict_rate"] and request.method in ("PUT", "PATCH", "DELETE") and random.random() < faults["conflict_rate"]:
            return _error(ApiError(409, "Operation cannot be fulfilled: emulated fault: the object has been modified; "
                                   "please apply your changes to the latest version and try again", "Conflict"))
        return None

    # ---- routing -----------------------------------------------------------------------------------------
    async def route(self, request, user):
        """Discovery documents or a resource path."""
        path = request.path.rstrip("/") or "/"
        registry = self.cluster.registry
        if path in STATIC and request.method == "GET":
            if path == "/apis":
                return _response(discovery.group_list(registry))
            if path == "/version":
                return _response(self.cluster.version)
            value = STATIC[path]
            return web.Response(text=value) if isinstance(value, str) else _response(value)
        if path.startswith("/openapi/"):
            return self.openapi(path)
        parts = path.strip("/").split("/")
        if parts[0] == "api" and len(parts) >= 2:
            group, version, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis" and len(parts) >= 2:
            if len(parts) == 2:
                doc = discovery.group(registry, parts[1])
                if doc is None:
                    raise ApiError(404, "the server could not find the requested resource")
                return _response(doc)
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(404, "the server could not find the requested resource")
        if not rest:
            if not registry.in_group_version(group, version):
                raise ApiError(404, "the server could not find the requested resource")
            return _response(discovery.resource_list(registry, group, version))
        return await self.resource(request, group, version, rest, user)

    def openapi(self, path):
        """OpenAPI v3 only (kubectl and helm then validate on the server); /openapi/v2 is 404 (see README)."""
        registry = self.cluster.registry
        if path == "/openapi/v3":
            return _response(discovery.openapi_v3_index(registry))
        parts = path.split("/")[3:]
        doc = None
        if len(parts) == 2 and parts[0] == "api":
            doc = discovery.openapi_v3_document(registry, "", parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            doc = discovery.openapi_v3_document(registry, parts[1], parts[2])
        if doc is None:
            raise ApiError(404, "the server could not find the requested resource")
        return _response(doc)

    async def resource(self, request, group, version, rest, user):
        """A resource request; admission warnings become Warning headers (as kubectl and helm print them)."""
        store = self.cluster.store
        store.warnings = []
        try:
            response = await self._resource(request, group, version, rest, user)
        except ApiError:
            store.warnings = []
            raise
        for warning in dict.fromkeys(store.warnings):
            response.headers.add("Warning", '299 - "%s"' % warning.replace('"', '\\"'))
        store.warnings = []
        return response

    async def _resource(self, request, group, version, rest, user):
        """Parse /<prefix>/[watch/][namespaces/NS/]PLURAL[/NAME[/SUBRESOURCE[/...]]] and run the verb."""
        query = request.query
        watch = _truthy(query.get("watch"))
        if rest[0] == "watch":
            watch, rest = True, rest[1:]
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces" and not (group == "" and len(rest) == 3 and rest[2] in ("status", "finalize")):
            namespace, rest = rest[1], rest[2:]
        plural, name = rest[0], rest[1] if len(rest) > 1 else None
        sub, extra = (rest[2] if len(rest) > 2 else None), "/".join(rest[3:])
        rtype = self.cluster.registry.by_plural(group, version, plural)
        if rtype is None or (namespace is not None and not rtype.namespaced):
            raise ApiError(404, "the server could not find the requested resource")
        ns = namespace or "" if rtype.namespaced else ""
        if rtype.namespaced and name and not namespace:
            raise ApiError(404, "the server could not find the requested resource")
        method = request.method
        if (group, plural) in CREATE_ONLY:
            if method != "POST" or name:
                raise ApiError(405, "the server does not allow this method on the requested resource", "MethodNotAllowed")
            return _response(authz.REVIEWS[(group, plural)](user, await self.body(request)), 201)
        verb = _verb(method, name, watch, sub)
        if not authz.allows(user, verb, group, plural, sub if sub in ("status", "scale", "proxy", "log") else "", ns, name or ""):
            raise authz.forbidden(user, verb, group, plural, sub if sub in ("status", "scale", "proxy", "log") else "", ns, name or "")
        if sub in ("proxy", "log"):
            return await self.subresource(request, rtype, ns, name, sub, extra)
        if sub == "exec" and rtype.kind == "Pod" and not extra and request.method in ("GET", "POST"):
            return await podexec.serve(self.emulator, self.cluster, request, self.cluster.store.get(rtype, ns, name))
        if sub not in (None, "status", "scale") or (sub and not name):
            raise ApiError(404, "the server could not find the requested resource")
        if method in WRITE_VERBS:
            dry_run = "dryRun" in query
            self.cluster.stats["dry_runs" if dry_run else "writes"] += 1
            self.cluster.stats[method.lower()] += 1
        store = self.cluster.store
        if sub == "scale":
            return await self.scale(request, rtype, ns, name)
        if method == "GET" and watch:
            return await self.watch(request, rtype, namespace)
        if method == "GET" and name:
            return _response(store.get_raw(rtype, ns, name))
        if method == "GET":
            return self.list(request, rtype, namespace)
        manager = query.get("fieldManager") or _agent_manager(request)
        if method == "POST" and not name:
            body = await self.body(request)
            return _response(store.create(rtype, body, ns, "dryRun" in query, manager=manager), 201)
        if method == "PUT" and name:
            body = await self.body(request)
            return _response(store.replace(rtype, body, ns, name, sub, "dryRun" in query, manager=manager))
        if method == "PATCH" and name:
            patch_type = PATCH_TYPES.get(request.content_type)
            if patch_type is None:
                raise ApiError(415, "the body of the request was in an unknown format - accepted media types include: "
                               + ", ".join(t for t, v in PATCH_TYPES.items() if v))
            if patch_type == "apply" and not query.get("fieldManager"):
                raise ApiError(422, 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
                               "Invalid")
            if patch_type != "apply" and "force" in query:
                raise ApiError(422, 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: may not be specified for non-apply patch',
                               "Invalid")
            body = await self.body(request, yaml_ok=patch_type == "apply")
            existed = store.entry(rtype, ns, name) is not None
            obj = store.patch(rtype, ns, name, patch_type, body, sub, "dryRun" in query, _truthy(query.get("force")), manager)
            return _response(obj, 200 if existed else 201)
        if method == "DELETE":
            options = await self.body(request, optional=True) or {}
            propagation = query.get("propagationPolicy") or options.get("propagationPolicy") or "Background"
            if name:
                return _response(store.delete(rtype, ns, name, propagation, "dryRun" in query, options.get("preconditions")))
            for entry in store.select(rtype, namespace, query.get("labelSelector"), query.get("fieldSelector")):
                meta = entry.obj["metadata"]
                store.delete(rtype, meta.get("namespace", ""), meta["name"], propagation, "dryRun" in query)
            return _response({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"})
        raise ApiError(405, "the server does not allow this method on the requested resource")

    async def scale(self, request, rtype, namespace, name):
        """The scale subresource (autoscaling/v1 Scale) of Deployments, StatefulSets, ReplicaSets."""
        store = self.cluster.store
        obj = store.get(rtype, namespace, name)
        if request.method in ("PUT", "PATCH"):
            body = await self.body(request)
            if request.method == "PATCH":
                patch_type = PATCH_TYPES.get(request.content_type) or "merge"
                body = store.patch_object(_scale_of(obj), patch_type, body)
            replicas = (body.get("spec") or {}).get("replicas") if isinstance(body, dict) else None
            if not isinstance(replicas, int) or replicas < 0:
                raise ApiError(422, "spec.replicas must be a non-negative integer", "Invalid")
            obj = store.patch(rtype, namespace, name, "merge", {"spec": {"replicas": replicas}}, None, "dryRun" in request.query,
                              field_manager=request.query.get("fieldManager") or _agent_manager(request), via="scale")
        elif request.method != "GET":
            raise ApiError(405, "the server does not allow this method on the requested resource")
        return _response(_scale_of(obj))

    def list(self, request, rtype, namespace):
        """LIST (or a Table for kubectl's human-readable output)."""
        query = request.query
        store = self.cluster.store
        if "as=Table" in request.headers.get("Accept", ""):
            entries = store.select(rtype, namespace, query.get("labelSelector"), query.get("fieldSelector"))
            return _response(discovery.table(rtype.kind, [e.obj for e in entries], str(store.rv)))
        return _response(store.list_raw(rtype, namespace, query.get("labelSelector"), query.get("fieldSelector")))

    async def body(self, request, yaml_ok=False, optional=False):
        """The decoded request body (JSON, YAML or protobuf)."""
        raw = await request.read()
        if not raw:
            if optional:
                return None
            raise ApiError(400, "the request body is empty")
        if request.content_type == "application/vnd.kubernetes.protobuf":
            try:
                obj = protobuf.decode(raw)
                if obj.get("kind") not in protobuf.DECODED_KINDS:
                    raise ApiError(415, "the body of the request was in an unknown format - accepted media types include: "
                                   "application/json, application/yaml (protobuf only for %s)" % ", ".join(protobuf.DECODED_KINDS))
                return obj
            except protobuf.ProtobufError as exc:
                raise ApiError(400, "the protobuf body could not be decoded: %s" % exc) from exc
        try:
            return json.loads(raw)
        except ValueError as exc:
            if not (yaml_ok or request.content_type.endswith("yaml")):
                raise ApiError(400, "the body of the request was in an unknown format: %s" % exc) from exc
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise ApiError(400, "the body of the request was in an unknown format: %s" % exc) from exc

    async def watch(self, request, rtype, namespace):
        """A streamed watch: one JSON event per line until timeoutSeconds or the client goes away."""
        query = request.query
        watcher = self.cluster.store.watch(
            rtype, namespace, query.get("labelSelector"), query.get("fieldSelector"), query.get("resourceVersion"),
            _truthy(query.get("sendInitialEvents")))
        response = web.StreamResponse(headers={"Content-Type": JSON, "Transfer-Encoding": "chunked"})
        timeout = float(query.get("timeoutSeconds") or 1800)
        try:
            await response.prepare(request)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while True:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    event_type, obj = await asyncio.wait_for(watcher.queue.get(), remaining)
                except asyncio.TimeoutError:
                    break
                await response.write(b'{"type":"' + event_type.encode() + b'","object":' + dumps(obj) + b"}\n")
            await response.write_eof()
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            watcher.close()
        return response

    async def subresource(self, request, rtype, namespace, name, sub, path):
        """pods/log (empty) and the pod proxy (handlers registered with Emulator.add_pod_proxy)."""
        if sub == "log":
            self.cluster.store.get(rtype, namespace, name)
            return web.Response(text="")
        obj_name, _sep, port = name.partition(":")
        pod = self.cluster.store.get(rtype, namespace, obj_name)
        if rtype.kind == "Service":
            pod, port = self._service_backend(pod, port)
        for handler in self.emulator.pod_proxies:
            result = handler(self.cluster, pod, port, "/" + path, request)
            if asyncio.iscoroutine(result):
                result = await result
            if result is not None:
                return _as_response(result)
        raise ApiError(503, "error trying to reach service: dial tcp %s:%s: connect: connection refused" % (
            (pod.get("status") or {}).get("podIP", "10.244.0.1"), port or "80"), "ServiceUnavailable")

    def _service_backend(self, svc, port):
        """The first ready Pod behind a Service and the target port of the requested service port (name or number)."""
        spec = svc.get("spec") or {}
        selector = ",".join("%s=%s" % kv for kv in sorted((spec.get("selector") or {}).items()))
        pods = [e.obj for e in self.cluster.store.select(self.cluster.rtype("v1", "Pod"), svc["metadata"]["namespace"],
                                                         selector)] if selector else []
        pods = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
        if not pods:
            raise ApiError(503, 'no endpoints available for service "%s"' % svc["metadata"]["name"], "ServiceUnavailable")
        for svc_port in spec.get("ports") or []:
            if port in ("", str(svc_port.get("port")), svc_port.get("name")):
                return pods[0], str(svc_port.get("targetPort", svc_port.get("port")))
        return pods[0], port

    # ---- admin -------------------------------------------------------------------------------------------
    async def admin(self, request):
        """/_emulator/... routes, authenticated with the admin token; never subject to faults."""
        if request.headers.get("Authorization") != "Bearer " + self.emulator.admin_token:
            raise ApiError(401, "Unauthorized (admin token required)")
        handler = self.emulator.admin_routes.get((request.method, request.path.rstrip("/")))
        if handler is None:
            raise ApiError(404, "no admin route %s %s" % (request.method, request.path))
        result = handler(self.cluster, request)
        if asyncio.iscoroutine(result):
            result = await result
        return _as_response(result)


def _agent_manager(request):
    """The default field manager: the User-Agent up to its first "/" (as the API server derives it)."""
    agent = request.headers.get("User-Agent") or ""
    return agent.split("/", 1)[0][:128] or "unknown"


def _verb(method, name, watch, sub):
    """The authorization verb of a request."""
    if method == "GET":
        return "watch" if watch else ("get" if name else "list")
    if sub == "proxy":
        return {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}.get(method, "get")
    if method == "DELETE":
        return "delete" if name else "deletecollection"
    return {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())


def _scale_of(obj):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    selector = ",".join("%s=%s" % kv for kv in sorted(((spec.get("selector") or {}).get("matchLabels") or {}).items()))
    meta = {k: v for k, v in obj["metadata"].items() if k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")}
    return {"kind": "Scale", "apiVersion": "autoscaling/v1", "metadata": meta, "spec": {"replicas": spec.get("replicas", 1)},
            "status": {"replicas": status.get("replicas", 0), "selector": selector}}


def _as_response(result):
    if isinstance(result, web.StreamResponse):
        return result
    if isinstance(result, bytes):
        return web.Response(body=result)
    if isinstance(result, str):
        return web.Response(text=result)
    return _response(result)
