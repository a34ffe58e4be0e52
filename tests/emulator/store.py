"""The object store of one emulated cluster: Kubernetes write semantics, watch events, write hooks.

Every stored object is treated as immutable: a write stores a new dict. Readers inside the process get
copies (get/list); the HTTP layer serialises the stored dict (cached JSON bytes) directly.
"""

import asyncio
import base64
import collections
import datetime
import json
import re
import uuid

from emulator import admission, defaults, errors, fieldmanager, patch as patching
from emulator.errors import ApiError
from emulator.kinds import BUILTIN_TYPES, api_version_of
from emulator.selectors import field_matcher, label_matcher

Event = collections.namedtuple("Event", "type rtype object old rv")
Event.__doc__ = "A committed write: type ADDED/MODIFIED/DELETED, the ResourceType, new object, previous object, rv."

_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_PATH_SEGMENT = re.compile(r"^[^/%]+$")
_BUILTIN_KINDS = {(t.group, t.kind) for t in BUILTIN_TYPES}
_NO_GENERATION = {"Namespace", "Node", "ConfigMap", "Secret", "ServiceAccount", "Event", "Endpoints", "Lease", "EndpointSlice"}
HISTORY = 50000


def _name_pattern(rtype):
    """DNS labels for Namespaces and Services, DNS subdomains for core/apps/batch, any path segment otherwise."""
    if rtype.kind in ("Namespace", "Service") and rtype.group == "":
        return _DNS_LABEL
    if rtype.group in ("", "apps", "batch"):
        return _DNS_SUBDOMAIN
    return _PATH_SEGMENT


def dumps(obj):
    """Compact JSON bytes."""
    return json.dumps(obj, separators=(",", ":")).encode()


def clone(obj):
    """A deep copy of a JSON-style object (faster than copy.deepcopy for these)."""
    return json.loads(dumps(obj))


def now():
    """An RFC 3339 timestamp (seconds), as the API writes them."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class Entry:
    """A stored object and its cached JSON encoding."""
    __slots__ = ("obj", "_raw")

    def __init__(self, obj):
        self.obj = obj
        self._raw = None

    @property
    def raw(self):
        """JSON bytes of the object."""
        if self._raw is None:
            self._raw = dumps(self.obj)
        return self._raw


def _without(obj, *keys):
    return {k: v for k, v in obj.items() if k not in keys}


def _as_version(rtype, obj):
    """The object as the requested version of its type (no conversion beyond apiVersion)."""
    api_version = api_version_of(rtype)
    if obj.get("apiVersion") == api_version:
        return obj
    return dict(obj, apiVersion=api_version)


class Watcher:
    """One open watch: a queue of events matching a type, namespace and selectors."""

    def __init__(self, store, rtype, namespace, label_selector, field_selector):
        self.store = store
        self.rtype = rtype
        self.namespace = namespace
        self.labels = label_matcher(label_selector)
        self.fields = field_matcher(field_selector)
        self.queue = asyncio.Queue()

    def matches(self, obj):
        """Whether an object is in this watch's scope."""
        if obj is None:
            return False
        meta = obj.get("metadata", {})
        if self.namespace and meta.get("namespace") != self.namespace:
            return False
        if self.labels and not self.labels(meta.get("labels") or {}):
            return False
        return not (self.fields and not self.fields(obj))

    def offer(self, event):
        """Queue an event as this watch sees it (objects entering/leaving the selection become ADDED/DELETED)."""
        if (event.rtype.group, event.rtype.plural) != (self.rtype.group, self.rtype.plural):
            return
        new, old = self.matches(event.object), self.matches(event.old)
        if event.type == "DELETED":
            if old or new:
                self.queue.put_nowait(("DELETED", event.object))
        elif new:
            self.queue.put_nowait(("MODIFIED" if old else "ADDED", event.object))
        elif old:
            self.queue.put_nowait(("DELETED", event.object))

    def close(self):
        """Stop receiving events."""
        self.store.watchers.discard(self)


class Store:
    """Objects of one cluster, keyed by (group, plural) then (namespace, name)."""

    def __init__(self, registry):
        self.registry = registry
        self.rv = 1
        self.data = collections.defaultdict(dict)
        self.history = collections.deque(maxlen=HISTORY)
        self.watchers = set()
        self.listeners = []   # callables(event), called synchronously after each committed write
        self._owned = collections.defaultdict(set)   # owner uid -> {(storage key, namespace, name)}
        self.warnings = []    # warnings of the current request (admission), sent as Warning headers

    # ---- reads -------------------------------------------------------------------------------------------
    def count(self):
        """Number of stored objects."""
        return sum(len(objs) for objs in self.data.values())

    def entry(self, rtype, namespace, name):
        """The Entry of one object, or None."""
        return self.data[(rtype.group, rtype.plural)].get((namespace if rtype.namespaced else "", name))

    def get(self, rtype, namespace, name):
        """The stored object (do not mutate) or raise 404."""
        entry = self.entry(rtype, namespace, name)
        if entry is None:
            raise errors.not_found(rtype, name)
        return _as_version(rtype, entry.obj)

    def get_raw(self, rtype, namespace, name):
        """JSON bytes of one object or raise 404."""
        entry = self.entry(rtype, namespace, name)
        if entry is None:
            raise errors.not_found(rtype, name)
        if entry.obj.get("apiVersion") == api_version_of(rtype):
            return entry.raw
        return dumps(_as_version(rtype, entry.obj))

    def select(self, rtype, namespace=None, label_selector=None, field_selector=None):
        """Entries of a type, filtered by namespace and selectors."""
        labels, fields = label_matcher(label_selector), field_matcher(field_selector)
        result = []
        for (ns, _name), entry in self.data[(rtype.group, rtype.plural)].items():
            if namespace and ns != namespace:
                continue
            if labels and not labels(entry.obj["metadata"].get("labels") or {}):
                continue
            if fields and not fields(entry.obj):
                continue
            result.append(entry)
        return result

    def list_raw(self, rtype, namespace=None, label_selector=None, field_selector=None):
        """A List object as JSON bytes."""
        api_version = api_version_of(rtype)
        items = [e.raw if e.obj.get("apiVersion") == api_version else dumps(_as_version(rtype, e.obj))
                 for e in self.select(rtype, namespace, label_selector, field_selector)]
        head = dumps({"kind": rtype.kind + "List", "apiVersion": api_version, "metadata": {"resourceVersion": str(self.rv)}})
        return head[:-1] + b',"items":[' + b",".join(items) + b"]}"

    # ---- watch -------------------------------------------------------------------------------------------
    def watch(self, rtype, namespace=None, label_selector=None, field_selector=None, resource_version=None,
              initial_events=False):
        """Open a Watcher, preloaded with the events after resource_version (or with the current objects)."""
        watcher = Watcher(self, rtype, namespace, label_selector, field_selector)
        if resource_version in (None, "", "0") or initial_events:
            for entry in self.select(rtype, namespace, label_selector, field_selector):
                watcher.queue.put_nowait(("ADDED", entry.obj))
            if initial_events:
                watcher.queue.put_nowait(("BOOKMARK", {
                    "kind": rtype.kind, "apiVersion": api_version_of(rtype), "metadata": {
                        "resourceVersion": str(self.rv), "annotations": {"k8s.io/initial-events-end": "true"}}}))
        else:
            try:
                since = int(resource_version)
            except ValueError as exc:
                raise ApiError(400, "invalid resourceVersion %r" % resource_version) from exc
            if self.history and since < self.history[0].rv - 1 and since < self.rv:
                raise ApiError(410, "too old resource version: %d (%d)" % (since, self.history[0].rv - 1), "Expired")
            for event in self.history:
                if event.rv > since:
                    watcher.offer(event)
        self.watchers.add(watcher)
        return watcher

    # ---- writes ------------------------------------------------------------------------------------------
    def _commit(self, rtype, event_type, obj, old):
        key = (rtype.group, rtype.plural)
        meta = (obj or old)["metadata"]
        okey = (meta.get("namespace", "") if rtype.namespaced else "", meta["name"])
        self.rv += 1
        if event_type == "DELETED":
            del self.data[key][okey]
            obj = dict(old, metadata=dict(old["metadata"], resourceVersion=str(self.rv)))
        else:
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.data[key][okey] = Entry(obj)
        self._index_owners(key, okey, old, obj if event_type != "DELETED" else None)
        event = Event(event_type, rtype, obj, old, self.rv)
        self.history.append(event)
        for watcher in list(self.watchers):
            watcher.offer(event)
        for listener in self.listeners:
            listener(event)
        return obj

    def _index_owners(self, key, okey, old, new):
        for obj, add in ((old, False), (new, True)):
            for ref in ((obj or {}).get("metadata") or {}).get("ownerReferences") or []:
                if add:
                    self._owned[ref.get("uid")].add((key, okey))
                else:
                    self._owned[ref.get("uid")].discard((key, okey))

    def _validate(self, rtype, obj, namespace):
        if not isinstance(obj, dict) or not isinstance(obj.get("metadata", {}), dict):
            raise ApiError(400, "the body of the request was in an unknown format")
        kind = obj.get("kind")
        if kind and kind != rtype.kind:
            raise ApiError(400, "the kind in the data (%s) does not match the resource %s (kind %s)" % (
                kind, rtype.plural, rtype.kind))
        meta = obj.setdefault("metadata", {})
        name = meta.get("name") or ""
        if rtype.namespaced:
            obj_ns = meta.get("namespace") or namespace
            if namespace and obj_ns != namespace:
                raise ApiError(400, "the namespace of the provided object does not match the namespace sent on the request")
            if not obj_ns:
                raise errors.invalid(rtype, name, "metadata.namespace", "Required value")
            meta["namespace"] = obj_ns
            if self.entry(self.registry.by_kind("v1", "Namespace"), "", obj_ns) is None:
                raise ApiError(404, 'namespaces "%s" not found' % obj_ns,
                               details={"name": obj_ns, "kind": "namespaces"})
        else:
            meta.pop("namespace", None)
        pattern = _name_pattern(rtype)
        if not name:
            raise errors.invalid(rtype, name, "metadata.name", "Required value: name or generateName is required")
        if len(name) > 253 or not pattern.match(name):
            raise errors.invalid(rtype, name, "metadata.name", "Invalid value: %r: a lowercase RFC 1123 name must "
                                 "consist of lower case alphanumeric characters, '-' or '.'" % name)
        for field in ("labels", "annotations"):
            values = meta.get(field)
            if values is not None and (not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values())):
                raise errors.invalid(rtype, name, "metadata." + field, "Invalid value: values must be strings")
        obj["apiVersion"] = api_version_of(rtype)
        obj["kind"] = rtype.kind
        if rtype.kind == "Secret" and rtype.group == "":
            self._secret_data(rtype, obj)
        return meta

    @staticmethod
    def _secret_data(rtype, obj):
        """Like the API: stringData is merged into data (base64) and never stored; data must be base64."""
        string_data = obj.pop("stringData", None) or {}
        data = obj.get("data") or {}
        if not isinstance(data, dict) or not isinstance(string_data, dict):
            raise errors.invalid(rtype, obj["metadata"].get("name", ""), "data", "Invalid value: must be a map")
        for key, value in data.items():
            try:
                base64.b64decode(value or "", validate=True)
            except (ValueError, TypeError) as exc:
                raise errors.invalid(rtype, obj["metadata"].get("name", ""), "data[%s]" % key,
                                     "Invalid value: illegal base64 data") from exc
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        if data:
            obj["data"] = data
        if not obj.get("type"):
            obj["type"] = "Opaque"

    @staticmethod
    def _controller_manager(rtype, subresource=None):
        """The field manager of writes made by the emulator's own controllers."""
        return "kubelet" if rtype.kind == "Pod" and subresource == "status" else fieldmanager.CONTROLLER_MANAGER

    def create(self, rtype, obj, namespace=None, dry_run=False, manager=None, applied=None):
        """POST semantics: validate, fill metadata, store; returns the stored object. manager: the field manager of the
        request (an Update); applied: the configuration when server-side apply creates the object."""
        obj = clone(obj)
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        shown_name = None     # admission errors name a generated object by its generateName (the name comes later)
        if isinstance(meta, dict) and not meta.get("name") and meta.get("generateName"):
            shown_name = meta["generateName"]
            meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
        meta = self._validate(rtype, obj, namespace)
        if self.entry(rtype, meta.get("namespace"), meta["name"]) is not None:
            raise errors.already_exists(rtype, meta["name"])
        for field in ("resourceVersion", "deletionTimestamp", "selfLink"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now()
        if self._tracks_generation(rtype, obj):
            meta["generation"] = 1
        if rtype.has_status:
            obj.pop("status", None)
        self._defaults(rtype, obj)
        if rtype.kind == "Job" and rtype.group == "batch":
            defaults.job_selector(obj)
        self._validate_spec(rtype, obj)
        builtin = (rtype.group, rtype.kind) in _BUILTIN_KINDS
        if applied is not None:
            obj["metadata"].pop("managedFields", None)
            fieldmanager.apply(rtype, None, obj, applied, manager, False, builtin)
        else:
            fieldmanager.update(rtype, None, obj, manager or self._controller_manager(rtype), None, builtin)
        self.warnings.extend(admission.admit_create(self, rtype, obj, shown_name or obj["metadata"]["name"]))
        if dry_run:
            return obj
        self._register(rtype, obj)
        created = self._commit(rtype, "ADDED", obj, None)
        if rtype.kind == "Namespace" and rtype.group == "":
            self._default_service_account(created["metadata"]["name"])
        return created

    def _default_service_account(self, namespace):
        """The ServiceAccount controller's "default" account, made in the same step as its namespace here (a real
        cluster has a short window where Pods of a new namespace are refused for want of it)."""
        sa_type = self.registry.by_kind("v1", "ServiceAccount")
        if self.entry(sa_type, namespace, "default") is None:
            self.create(sa_type, {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "namespace": namespace}})

    @staticmethod
    def _validate_spec(rtype, obj):
        """The few spec validations clients trip over (and controllers rely on)."""
        if rtype.group == "apps" and rtype.kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"):
            spec = obj.get("spec") or {}
            selector = spec.get("selector")
            if not isinstance(selector, dict) or not (selector.get("matchLabels") or selector.get("matchExpressions")):
                raise errors.invalid(rtype, obj["metadata"]["name"], "spec.selector", "Required value")
            labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
                shown = "map[string]string{%s}" % ", ".join('"%s":"%s"' % kv for kv in sorted(labels.items()))
                raise errors.invalid(rtype, obj["metadata"]["name"], "spec.template.metadata.labels",
                                     "Invalid value: %s: `selector` does not match template `labels`" % shown)
        if rtype.kind == "Job" and rtype.group == "batch":
            policy = ((obj["spec"].get("template") or {}).get("spec") or {}).get("restartPolicy")
            if policy not in ("OnFailure", "Never"):
                raise errors.invalid(rtype, obj["metadata"]["name"], "spec.template.spec.restartPolicy",
                                     'Required value: valid values: "OnFailure", "Never"' if policy in (None, "", "Always") else
                                     'Unsupported value: "%s": supported values: "OnFailure", "Never"' % policy)

    def _register(self, rtype, obj):
        """A CustomResourceDefinition serves its kinds as soon as it is stored."""
        if rtype.kind == "CustomResourceDefinition" and rtype.group == "apiextensions.k8s.io":
            self.registry.set_crd(obj)

    @staticmethod
    def _tracks_generation(rtype, obj):
        if (rtype.group, rtype.kind) not in _BUILTIN_KINDS:
            return True
        return "spec" in obj and rtype.kind not in _NO_GENERATION

    def _defaults(self, rtype, obj):
        """Server-side defaults the clients rely on."""
        defaults.apply(rtype, obj)
        if rtype.kind == "Namespace":
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
        elif rtype.kind == "Service" and rtype.group == "":
            spec = obj.setdefault("spec", {})
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
                seq = self.rv % 65000 + 10
                spec["clusterIP"] = "10.96.%d.%d" % (seq // 250, seq % 250 + 1)
            if spec.get("clusterIP"):
                spec.setdefault("clusterIPs", [spec["clusterIP"]])
            for port in spec.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
                    port.setdefault("targetPort", port.get("port"))
            defaults.service(spec)
            obj.setdefault("status", {"loadBalancer": {}})
        elif rtype.kind == "CustomResourceDefinition":
            names = (obj.get("spec") or {}).get("names") or {}
            obj["status"] = {"acceptedNames": names, "storedVersions": [
                v.get("name") for v in (obj.get("spec") or {}).get("versions") or [] if v.get("storage")],
                "conditions": [
                    {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found",
                     "lastTransitionTime": now()},
                    {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                     "message": "the initial names have been accepted", "lastTransitionTime": now()}]}
            spec = obj.get("spec") or {}
            expected = "%s.%s" % (names.get("plural"), spec.get("group"))
            if obj["metadata"]["name"] != expected:
                raise errors.invalid(
                    self.registry.by_kind("apiextensions.k8s.io/v1", "CustomResourceDefinition"), obj["metadata"]["name"],
                    "metadata.name", "Invalid value: must be spec.names.plural+\".\"+spec.group")

    def replace(self, rtype, obj, namespace=None, name=None, subresource=None, dry_run=False, check_rv=True, manager=None,
                managed=False, via=None):
        """PUT semantics (optimistic concurrency on metadata.resourceVersion); a no-op writes nothing. manager: the field
        manager of this Update (managed=True: obj's managedFields were already computed by an apply)."""
        if not isinstance(obj, dict):
            raise ApiError(400, "the body of the request was in an unknown format")
        obj = clone(obj)
        meta = obj.setdefault("metadata", {}) if isinstance(obj.get("metadata", {}), dict) else None
        if meta is None:
            raise ApiError(400, "metadata must be an object")
        name = name or meta.get("name")
        if name and meta.get("name") and meta["name"] != name:
            raise ApiError(400, "the name of the object (%s) does not match the name on the URL (%s)" % (meta["name"], name))
        meta["name"] = name
        ns = namespace or meta.get("namespace") if rtype.namespaced else ""
        existing = self.entry(rtype, ns, name)
        if existing is None:
            raise errors.not_found(rtype, name)
        current = existing.obj
        if check_rv and meta.get("resourceVersion") and meta["resourceVersion"] != current["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype, name)
        if meta.get("uid") and meta["uid"] != current["metadata"]["uid"]:
            raise errors.conflict(rtype, name, "Precondition failed: UID in precondition: %s, UID in object meta: %s" % (
                meta["uid"], current["metadata"]["uid"]))
        self._validate(rtype, obj, ns)
        if subresource == "status":
            obj = dict(current, status=obj.get("status"), metadata=dict(current["metadata"]))
            if obj["status"] is None:
                del obj["status"]
        else:
            if rtype.has_status:
                obj.pop("status", None)
                if "status" in current:
                    obj["status"] = current["status"]
            keep = {k: current["metadata"][k] for k in ("uid", "creationTimestamp", "generation", "deletionTimestamp")
                    if k in current["metadata"]}
            obj["metadata"] = dict(obj["metadata"], **keep)
            obj["metadata"].pop("resourceVersion", None)
            self._update_defaults(rtype, obj, current)
            self._validate_spec(rtype, obj)
            self.warnings.extend(admission.admit_write(self, rtype, obj))
            if "generation" in keep and _without(obj, "metadata", "status", "apiVersion", "kind") != \
                    _without(current, "metadata", "status", "apiVersion", "kind"):
                obj["metadata"]["generation"] = keep["generation"] + 1
        obj["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if not managed:
            fieldmanager.update(rtype, current, obj, manager or self._controller_manager(rtype, subresource), subresource,
                                (rtype.group, rtype.kind) in _BUILTIN_KINDS, via=via)
        if obj == current:
            return current
        if rtype.kind == "CustomResourceDefinition" and subresource != "status":
            self._defaults(rtype, obj)
        if dry_run:
            return obj
        self._register(rtype, obj)
        return self._commit(rtype, "MODIFIED", obj, current)

    @staticmethod
    def _update_defaults(rtype, obj, current):
        """Defaults of an update; fields the server set at create and a client may omit (immutable ones) are kept."""
        defaults.apply(rtype, obj)
        key = (rtype.group, rtype.kind)
        spec, old_spec = obj.get("spec"), current.get("spec") or {}
        if key == ("", "Namespace"):
            obj["metadata"]["labels"] = dict(obj["metadata"].get("labels") or {}, **{"kubernetes.io/metadata.name": obj["metadata"]["name"]})
            if not isinstance(spec, dict) or "finalizers" not in spec:
                obj["spec"] = old_spec
        elif key == ("", "Service") and isinstance(spec, dict):
            for field in ("clusterIP", "clusterIPs", "type", "sessionAffinity"):
                if field not in spec and field in old_spec:
                    spec[field] = old_spec[field]
            for port in spec.get("ports") or []:
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
                    port.setdefault("targetPort", port.get("port"))
            defaults.service(spec)
        elif key == ("batch", "Job") and isinstance(spec, dict) and not spec.get("manualSelector"):
            if "selector" not in spec and "selector" in old_spec:
                spec["selector"] = old_spec["selector"]
            template_meta = (spec.get("template") or {}).get("metadata")
            old_labels = ((old_spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
            if isinstance(template_meta, dict):
                template_meta["labels"] = dict(old_labels, **(template_meta.get("labels") or {}))
        elif key == ("", "PersistentVolumeClaim") and isinstance(spec, dict):
            for field in ("storageClassName", "volumeName"):
                if field not in spec and field in old_spec:
                    spec[field] = old_spec[field]

    @staticmethod
    def patch_object(current, patch_type, body):
        """Apply a patch body to an object (no storage); raises ApiError."""
        try:
            if patch_type == "json":
                return patching.json_patch(current, body)
            if patch_type == "merge":
                return patching.merge_patch(current, body)
            if patch_type in ("strategic", "apply"):
                if not isinstance(body, dict):
                    raise patching.PatchError("a strategic merge patch must be an object")
                return patching.strategic_merge(current, body)
        except patching.PatchError as exc:
            raise ApiError(422 if patch_type == "json" else 400, str(exc)) from exc
        raise ApiError(415, "unsupported patch type %r" % patch_type)

    def patch(self, rtype, namespace, name, patch_type, body, subresource=None, dry_run=False, force=False,
              field_manager=None, via=None):
        """PATCH semantics: json, merge, strategic or apply. Server-side apply (with a field_manager) creates missing
        objects, removes the fields its manager applied before and no longer applies (unless another manager owns them)
        and answers 409 when it would change a field another manager owns (unless force). Without a field_manager (the
        emulator's controllers) an apply is a strategic merge that removes nothing."""
        existing = self.entry(rtype, namespace, name)
        if patch_type == "apply" and subresource != "status":
            if not isinstance(body, dict):
                raise ApiError(400, "the body of the request was in an unknown format")
            body = _without(body, "status")
        ssa = patch_type == "apply" and bool(field_manager)
        if existing is None:
            if patch_type != "apply":
                raise errors.not_found(rtype, name)
            body = dict(body, metadata=dict(body.get("metadata") or {}, name=name))
            return self.create(rtype, body, namespace, dry_run, manager=field_manager, applied=body if ssa else None)
        current = existing.obj
        new = self.patch_object(current, "strategic" if patch_type == "apply" else patch_type, body)
        if not isinstance(new, dict):
            raise ApiError(400, "the patch did not produce an object")
        wanted_rv = ((body.get("metadata") or {}).get("resourceVersion") if isinstance(body, dict) else None)
        if wanted_rv and wanted_rv != current["metadata"]["resourceVersion"]:
            raise errors.conflict(rtype, name)
        if ssa:
            new = clone(new)     # pruning edits it in place; strategic_merge shares unchanged parts with current
        new.setdefault("metadata", {})
        new["metadata"] = dict(new["metadata"], resourceVersion=current["metadata"]["resourceVersion"])
        if ssa:
            new["metadata"]["managedFields"] = current["metadata"].get("managedFields")
            fieldmanager.apply(rtype, current, new, body, field_manager, force, (rtype.group, rtype.kind) in _BUILTIN_KINDS)
        return self.replace(rtype, new, namespace, name, subresource, dry_run, check_rv=False, manager=field_manager, managed=ssa,
                            via=via)

    def delete(self, rtype, namespace, name, propagation="Background", dry_run=False, preconditions=None):
        """DELETE semantics with namespace cascade and ownerReference garbage collection; returns the object."""
        existing = self.entry(rtype, namespace, name)
        if existing is None:
            raise errors.not_found(rtype, name)
        current = existing.obj
        for field in ("uid", "resourceVersion"):
            wanted = (preconditions or {}).get(field)
            if wanted and wanted != current["metadata"].get(field):
                raise errors.conflict(rtype, name, "Precondition failed: %s in precondition: %s, %s in object meta: %s" % (
                    field, wanted, field, current["metadata"].get(field)))
        if dry_run:
            return current
        gone = self._commit(rtype, "DELETED", None, current)
        if rtype.kind == "Namespace" and rtype.group == "":
            for rt in self.registry.all():
                if rt.namespaced:
                    for (ns, obj_name) in [k for k in self.data[(rt.group, rt.plural)] if k[0] == name]:
                        if self.entry(rt, ns, obj_name) is not None:
                            self._commit(rt, "DELETED", None, self.entry(rt, ns, obj_name).obj)
        elif rtype.kind == "CustomResourceDefinition":
            for rt in self.registry.drop_crd(name):
                for entry in list(self.data[(rt.group, rt.plural)].values()):
                    self._commit(rt, "DELETED", None, entry.obj)
        if propagation != "Orphan":
            self._collect(current["metadata"]["uid"])
        return gone

    def _collect(self, owner_uid):
        """Garbage-collect dependents of a deleted owner."""
        for key, okey in list(self._owned.pop(owner_uid, ())):
            entry = self.data[key].get(okey)
            if entry is None:
                continue
            rtype = next((t for t in self.registry.all() if (t.group, t.plural) == key), None)
            if rtype is not None:
                self._commit(rtype, "DELETED", None, entry.obj)
                self._collect(entry.obj["metadata"]["uid"])
