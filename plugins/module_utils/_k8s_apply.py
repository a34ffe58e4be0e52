# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Converge one cluster's manifests in one process: the engine of the k8s_apply module. PRIVATE to the collection.

One ``Applier`` per cluster and module run:

1. ``apply``: for each manifest, GET the live object; when it does not hold the manifest (``_k8s_state.object_changes``)
   server-side apply it (``force``: the collection owns these fields), else leave it alone. A converged cluster gets
   reads only, no write. In check mode nothing is sent but the reads, and the result says which objects would change
   and which fields.
2. ``compare_secrets``: Secrets given by a digest of their data (``_k8s_state.content_digest``), not the data: which of
   them a task carrying the data (with ``no_log``) has to apply.
3. ``check_releases``: Helm releases from their release records: converged when the last revision is deployed with the
   same chart, version and values digest; otherwise Helm has to run (install, upgrade, or the recovery of a revision left
   pending or failed): ``install_releases`` with the run's ``helm`` options (``_helm_install``, one helm process per
   release that differs), else a task after this one.
4. ``prune``: objects selected by a name prefix that are no longer wanted.
5. ``wait``: readiness, re-read every ``delay`` seconds up to ``retries`` times: pods of components, conditions and
   fields of applied objects, and the workloads of converged releases (as ``helm --wait`` judges them).

Everything that is reported (changes, diffs, objects) is free of secret values: Secrets' data are never returned.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import tarfile
import time

from ansible_collections.meshops.ambient_spire.plugins.module_utils import _k8s_state as state
from ansible_collections.meshops.ambient_spire.plugins.module_utils._helm_install import HelmError, HelmInstaller, helm_environment
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_client import K8sClientError, auth_argument_spec
from ansible_collections.meshops.ambient_spire.plugins.module_utils._k8s_rest import (
    YAML_LOADER, ApiError, KubeApi, UnknownKind, auth_from_params, connect)

try:
    import yaml
except ImportError:  # pragma: no cover
    yaml = None

DEFAULT_FIELD_MANAGER = "meshops.ambient_spire"
CRD_ESTABLISH_ATTEMPTS = 30


class ApplyError(Exception):
    """A failure of the run, with the attempts of the request that failed (when a request failed)."""

    def __init__(self, message, attempts=None):
        super(ApplyError, self).__init__(message)
        self.attempts = attempts


def _meta(obj):
    return obj.get("metadata") or {}


def object_key(obj):
    meta = _meta(obj)
    return "%s/%s" % (obj.get("kind"), "/".join(part for part in (meta.get("namespace"), meta.get("name")) if part))


def load_manifests(text):
    """The objects of a multi-document YAML text (empty documents and lists left out; a v1 List gives its items)."""
    found = []
    for doc in yaml.load_all(text, Loader=YAML_LOADER):  # nosec B506: a safe loader
        if isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            found.extend(item for item in doc["items"] if isinstance(item, dict))
        elif isinstance(doc, dict) and doc:
            found.append(doc)
    return found


class Applier(object):
    """Converges the objects of one cluster; collects changes, diffs and readiness for the module's result."""

    def __init__(self, api, cluster, field_manager=DEFAULT_FIELD_MANAGER, check_mode=False, diff=False, sleep=time.sleep,
                 clock=time.monotonic):
        self.api = api
        self.cluster = cluster
        self.field_manager = field_manager
        self.check_mode = check_mode
        self.diff = diff
        self.sleep = sleep
        self.clock = clock
        self.changes = []
        self.diffs = []
        self.live = {}
        self.applied = []
        self.crd_groups = set()
        self.releases = {}
        self.listed = {}

    # --- reporting ---

    def _record(self, obj, action, fields=None, before=None, note=None):
        meta = _meta(obj)
        change = {"kind": obj.get("kind"), "api_version": obj.get("apiVersion"), "name": meta.get("name"), "action": action,
                  "fields": fields or []}
        if meta.get("namespace"):
            change["namespace"] = meta["namespace"]
        if note:
            change["note"] = note
        self.changes.append(change)
        if self.diff and obj.get("apiVersion"):
            header = "%s %s" % (obj.get("apiVersion"), object_key(obj))
            self.diffs.append({"before_header": header, "after_header": header,
                               "before": state.redact(state.projection(before, obj)) if before is not None else {},
                               "after": state.redact(obj) if action != "delete" else {}})

    @property
    def changed(self):
        return bool(self.changes)

    # --- apply ---

    def _path(self, obj, refresh=False):
        meta = _meta(obj)
        return self.api.path(obj["apiVersion"], obj["kind"], meta.get("name"), meta.get("namespace"), refresh=refresh)

    def _path_of_new_kind(self, obj):
        """The path of an object whose kind a CRD applied in this run declares: discovery is asked again until it is served."""
        for attempt in range(CRD_ESTABLISH_ATTEMPTS):
            try:
                return self._path(obj, refresh=True)
            except UnknownKind:
                if attempt + 1 == CRD_ESTABLISH_ATTEMPTS:
                    raise
                self.sleep(1)
        return None  # pragma: no cover

    def apply(self, manifests):
        """Apply what differs; returns the objects as they are now (or would be, in check mode)."""
        current = []
        for obj in manifests:
            if not isinstance(obj, dict) or not obj.get("apiVersion") or not obj.get("kind") or not _meta(obj).get("name"):
                raise ApplyError("every manifest needs apiVersion, kind and metadata.name, got %s" % (object_key(obj) if isinstance(obj, dict) else obj))
            obj = state.normalise_manifest(obj)
            group = obj["apiVersion"].rsplit("/", 1)[0] if "/" in obj["apiVersion"] else ""
            try:
                path = self._path(obj)
            except UnknownKind as exc:
                if self.check_mode or group not in self.crd_groups:
                    if not self.check_mode:
                        raise ApplyError("%s: %s" % (object_key(obj), exc))
                    # check mode: the CRD that serves this kind is not there yet (it would be created first)
                    self._record(obj, "create", note="its kind is not served yet: %s" % exc)
                    current.append(obj)
                    continue
                path = self._path_of_new_kind(obj)
            live = self.api.get(path)
            fields = state.object_changes(obj, live, self.field_manager)
            if live is not None and not fields:
                result = live
            else:
                self._record(obj, "create" if live is None else "update", fields, before=live)
                result = obj if self.check_mode else self._server_side_apply(path, obj)
            if obj["kind"] == "CustomResourceDefinition":
                self._crd_applied(obj)
            self.live[object_key(obj)] = result
            self.applied.append(result)
            current.append(result)
        return current

    def _server_side_apply(self, path, obj):
        dummy, result = self.api.request("PATCH", path, {"fieldManager": self.field_manager, "force": "true"}, body=obj,
                                         content_type="application/apply-patch+yaml", retry_conflict=True)
        return result

    def _crd_applied(self, crd):
        spec = crd.get("spec") or {}
        self.crd_groups.add(spec.get("group"))
        for version in spec.get("versions") or []:
            self.api.forget_kinds("%s/%s" % (spec.get("group"), version.get("name")))

    # --- secrets by digest ---

    def compare_secrets(self, secrets):
        """The Secrets (namespace/name) whose data, type or metadata differ from the digest and fields given."""
        to_apply = []
        for secret in secrets:
            obj = {"apiVersion": "v1", "kind": "Secret", "type": secret.get("type") or "Opaque",
                   "metadata": dict((key, value) for key, value in (("name", secret["name"]), ("namespace", secret["namespace"]),
                                                                    ("labels", secret.get("labels")),
                                                                    ("annotations", secret.get("annotations"))) if value)}
            live = self.api.get(self._path(obj))
            if live is None:
                self._record(obj, "create", ["data"])
            else:
                # the data are compared by digest below (and the removal of applied fields must not see them as gone)
                fields = state.object_changes(dict(obj, data=live.get("data") or {}), live, self.field_manager)
                if state.content_digest(live.get("data") or {}) != secret["data_digest"]:
                    fields = sorted(set(fields) | set(["data"]))
                if not fields:
                    continue
                self._record(obj, "update", fields, before=live)
            to_apply.append("%s/%s" % (secret["namespace"], secret["name"]))
        return to_apply

    # --- Helm releases ---

    def release_records(self, release):
        doc = self.api.get("/api/v1/namespaces/%s/secrets" % release["namespace"], {"labelSelector": "owner=helm,name=%s" % release["name"]})
        return (doc or {}).get("items") or []

    def forget_record(self, name, namespace):
        self.api.request("DELETE", "/api/v1/namespaces/%s/secrets/%s" % (namespace, name), allow=(404,), retry_conflict=True)

    def _release_state(self, release):
        chart_name, chart_version = _chart_identity(release.get("chart_ref"), release.get("chart_version"))
        found = state.release_state(self.release_records(release), chart_name, chart_version, values_digest(release))
        self.releases[release["name"]] = dict(found, namespace=release["namespace"])
        return dict((key, value) for key, value in found.items() if key != "manifest")

    def check_releases(self, releases):
        """{name: {state, revision, converged, reasons, chart}} of each release, from its release records."""
        result = {}
        for release in releases:
            found = result[release["name"]] = self._release_state(release)
            if not found["converged"]:
                action = "install" if found["state"] == "missing" else ("recover" if found["state"] != "deployed" else "upgrade")
                self.changes.append({"kind": "HelmRelease", "name": release["name"], "namespace": release["namespace"],
                                     "action": action, "fields": found["reasons"]})
        return result

    def install_releases(self, releases, installer, states):
        """helm upgrade --install of the releases check_releases found not converged, in order; returns {name: what helm
        did} and updates their state in `states` (check_releases' result) and here (so that the wait covers their
        workloads). Raises HelmError."""
        done = {}
        for release in releases:
            if self.releases[release["name"]]["converged"]:
                continue
            done[release["name"]] = installer.install(release, self.release_records, self.forget_record)
            states[release["name"]] = self._release_state(release)
        return done

    # --- prune ---

    def prune(self, rules):
        """Delete the objects of each rule (apiVersion, kind, namespace, name_prefix, match_fields) whose name is not in keep."""
        for rule in rules:
            try:
                collection = self.api.path(rule["api_version"], rule["kind"], namespace=rule.get("namespace"))
            except UnknownKind:
                continue
            doc = self.api.get(collection)
            keep = set(rule.get("keep") or [])
            for obj in (doc or {}).get("items") or []:
                name = _meta(obj).get("name") or ""
                matches = all(state.field_value(obj, path) == value for path, value in (rule.get("match_fields") or {}).items())
                if name.startswith(rule.get("name_prefix") or "") and matches and name not in keep:
                    obj = dict(obj, apiVersion=rule["api_version"], kind=rule["kind"])
                    self._record(obj, "delete", before=obj)
                    if not self.check_mode:
                        self.api.request("DELETE", "%s/%s" % (collection, name), allow=(404,), retry_conflict=True)

    # --- readiness ---

    def _object_rules(self, rules):
        """[(rule, [applied objects it covers])] of the rules on applied objects (those with `all` list their kind)."""
        covered = []
        for rule in rules:
            if rule.get("all"):
                continue
            objects = [obj for obj in self.applied if obj.get("kind") == rule["kind"]
                       and (not rule.get("api_version") or obj.get("apiVersion") == rule["api_version"])
                       and (not rule.get("name") or _meta(obj).get("name") == rule["name"])]
            covered.append((rule, objects))
        return covered

    def _reread(self, objects):
        """The objects read again: one LIST per kind and namespace."""
        groups = {}
        for obj in objects:
            groups.setdefault((obj.get("apiVersion"), obj.get("kind"), _meta(obj).get("namespace")), []).append(obj)
        fresh = []
        for (api_version, kind, namespace), members in groups.items():
            doc = self.api.get(self.api.path(api_version, kind, namespace=namespace))
            by_name = dict((_meta(item).get("name"), item) for item in (doc or {}).get("items") or [])
            for obj in members:
                item = by_name.get(_meta(obj).get("name"))
                if item is not None:
                    fresh.append(dict(item, apiVersion=api_version, kind=kind))
                else:
                    fresh.append({"apiVersion": api_version, "kind": kind, "metadata": _meta(obj), "status": {}})
        return fresh

    def _list_kind(self, rule):
        """Every object of a rule's kind (in its namespace, when given) with the rule's match_fields; [] when the kind is not
        served (check mode before its CRD)."""
        try:
            collection = self.api.path(rule["api_version"], rule["kind"], namespace=rule.get("namespace"))
        except UnknownKind:
            return []
        items = (self.api.get(collection) or {}).get("items") or []
        return [dict(item, apiVersion=rule["api_version"], kind=rule["kind"]) for item in items
                if all(state.field_value(item, path) == value for path, value in (rule.get("match_fields") or {}).items())]

    def _not_ready(self, pods_rules, object_rules, release_names, first, kind_rules=()):
        problems = []
        for index, rule in enumerate(kind_rules):
            self.listed[index] = self._list_kind(rule)
            for obj in self.listed[index]:
                problem = state.object_not_ready(obj, rule.get("condition"), rule.get("fields") or [])
                if problem:
                    problems.append(problem)
        namespaces = {}
        for component in pods_rules:
            namespaces.setdefault(component["namespace"], []).append(component)
        for namespace, components in namespaces.items():
            doc = self.api.get("/api/v1/namespaces/%s/pods" % namespace)
            problems.extend(state.pods_not_ready((doc or {}).get("items") or [], components))
        for rule, objects in object_rules:
            current = objects if first else self._reread(objects)
            if not first:
                self._replace_applied(current)
            for obj in current:
                problem = state.object_not_ready(obj, rule.get("condition"), rule.get("fields") or [])
                if problem:
                    problems.append(problem)
        for name in release_names:
            release = self.releases[name]
            for api_version, kind, obj_name, namespace in state.manifest_objects(release["manifest"]):
                path = self.api.path(api_version, kind, obj_name, namespace or release["namespace"])
                live = self.api.get(path)
                if live is None:
                    problems.append("%s %s/%s (release %s) is missing" % (kind, namespace or release["namespace"], obj_name, name))
                else:
                    problem = state.workload_not_ready(dict(live, kind=kind))
                    if problem:
                        problems.append(problem + " (release %s)" % name)
        return problems

    def _replace_applied(self, fresh):
        index = dict((object_key(obj), obj) for obj in fresh)
        self.applied = [index.get(object_key(obj), obj) for obj in self.applied]
        self.live.update(index)

    def wait(self, rules):
        """(ready, not ready lines, attempts, seconds): pods, applied objects, and the converged releases' workloads."""
        object_rules = self._object_rules(rules.get("objects") or [])
        kind_rules = [rule for rule in rules.get("objects") or [] if rule.get("all")]
        release_names = [name for name, release in self.releases.items() if release["converged"]] if rules.get("releases", True) else []
        retries = 1 if self.check_mode else max(int(rules.get("retries") or 1), 1)
        start = self.clock()
        problems = []
        for attempt in range(1, retries + 1):
            problems = self._not_ready(rules.get("pods") or [], object_rules, release_names, first=attempt == 1, kind_rules=kind_rules)
            if not problems:
                return True, [], attempt, round(self.clock() - start, 1)
            if attempt < retries:
                self.sleep(float(rules.get("delay") or 1))
        return False, problems, retries, round(self.clock() - start, 1)

    def waited_objects(self, rules):
        """kind, name, namespace and status of the objects the wait rules cover (e.g. ClusterSPIFFEIDs with status.stats)."""
        seen, keys = [], set()
        # the listed objects first: read at the last attempt, they are the freshest
        groups = [self.listed[index] for index in sorted(self.listed)] + [objects for dummy, objects in self._object_rules(rules.get("objects") or [])]
        for objects in groups:
            for obj in objects:
                if object_key(obj) in keys:
                    continue
                keys.add(object_key(obj))
                entry = {"kind": obj.get("kind"), "name": _meta(obj).get("name"), "status": obj.get("status") or {}}
                if _meta(obj).get("namespace"):
                    entry["namespace"] = _meta(obj)["namespace"]
                seen.append(entry)
        return seen


def _packaged_chart(path):
    """The Chart.yaml of a packaged chart (helm package: a .tgz whose top directory holds Chart.yaml), or None."""
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive.getmembers():
                parts = member.name.split("/")
                if len(parts) == 2 and parts[1] == "Chart.yaml" and member.isfile():
                    return yaml.load(archive.extractfile(member).read(), Loader=YAML_LOADER) or {}  # nosec B506: a safe loader
    except (tarfile.TarError, OSError):
        return None
    return None


def _chart_identity(chart_ref, chart_version):
    """(chart name, chart version) a reference installs; a local chart directory or packaged chart (.tgz) gives both from
    its Chart.yaml."""
    local = None
    if chart_ref and os.path.isdir(chart_ref) and os.path.isfile(os.path.join(chart_ref, "Chart.yaml")):
        with open(os.path.join(chart_ref, "Chart.yaml"), "rb") as handle:
            local = yaml.load(handle, Loader=YAML_LOADER) or {}  # nosec B506: a safe loader
    elif chart_ref and os.path.isfile(chart_ref):
        local = _packaged_chart(chart_ref)
    name = state.chart_name_from_ref(chart_ref, local)
    return name, chart_version or (str(local.get("version")) if local and local.get("version") else None)


def read_sources(sources, fetch_url=None):
    """The manifests of files (paths) and URLs (fetched with fetch_url(url) -> text), in order."""
    manifests = []
    for source in sources:
        if source.startswith("http://") or source.startswith("https://"):
            if fetch_url is None:
                raise ApplyError("cannot fetch %s" % source)
            text = fetch_url(source)
        else:
            with open(os.path.expanduser(source), "rb") as handle:
                text = handle.read()
        manifests.extend(load_manifests(text))
    return manifests


def values_digest(release):
    """The digest a release's record must have: the one given, else that of the values given."""
    return release.get("values_digest") or state.content_digest(release.get("values") or {})


def _installer(params, run_command, environ, sleep):
    """The HelmInstaller of the run's helm options, with the connection of its auth options; (installer, files to delete)."""
    options = params.get("helm") or {}
    env, flags, files = helm_environment(*auth_from_params(params, environ))
    return HelmInstaller(run_command, options.get("binary_path"), env, flags, timeout=options.get("timeout"),
                         recover_pending=options.get("recover_pending", True), attempts=params.get("api_attempts"),
                         delay=params.get("api_retry_delay"), sleep=sleep), files


def run(api, params, check_mode=False, diff=False, fetch_url=None, sleep=time.sleep, run_command=None, environ=None):
    """One module run: apply, compare secrets, check releases (and with the helm option, install those that differ), prune,
    then (unless something is deferred to other tasks) apply what comes after the releases and wait. Returns the result
    dict. Raises ApplyError."""
    applier = Applier(api, params.get("cluster") or "?", params.get("field_manager") or DEFAULT_FIELD_MANAGER, check_mode, diff, sleep=sleep)
    result = {}
    try:
        applier.apply(read_sources(params.get("src") or [], fetch_url) + list(params.get("definitions") or []))
        secrets = applier.compare_secrets(params.get("secrets") or [])
        releases = applier.check_releases(params.get("releases") or [])
        helm_runs = params.get("helm") is not None
        if helm_runs and not check_mode and not secrets and not all(release["converged"] for release in releases.values()):
            installer, files = _installer(params, run_command, environ, sleep)
            try:
                result["helm"] = applier.install_releases(params["releases"], installer, releases)
            finally:
                for path in files:
                    os.unlink(path)
        if params.get("prune"):
            applier.prune(params["prune"])
        # in check mode, releases that this run's helm would install are not left to other tasks
        deferred = bool(secrets) or not (helm_runs and check_mode or all(release["converged"] for release in releases.values()))
        result.update(secrets_to_apply=secrets, releases=releases, deferred=deferred)
        wait = params.get("wait")
        if not deferred:
            applier.apply(params.get("after_releases") or [])
            if wait and not (wait.get("on_change_only") and not applier.changed):
                ready, not_ready, attempts, seconds = applier.wait(wait)
                result.update(ready=ready, not_ready=not_ready, wait={"attempts": attempts, "seconds": seconds})
                if not ready and wait.get("fail_message") and not check_mode:
                    result.update(failed=True, msg=timed_out_message(wait["fail_message"], not_ready))
        if wait:
            result["objects"] = applier.waited_objects(wait)
    except ApiError as exc:
        raise ApplyError("cluster %s: %s" % (applier.cluster, exc), exc.attempts)
    except (UnknownKind, HelmError) as exc:
        raise ApplyError("cluster %s: %s" % (applier.cluster, exc))
    result.update(changed=applier.changed, changes=applier.changes,
                  api={"requests": api.requests, "writes": api.writes, "retries": len(api.retried)})
    if api.retried:
        result["warnings"] = [retried_warning(applier.cluster, api.retried)]
    if diff:
        result["diff"] = applier.diffs
    result.setdefault("ready", None)
    return result


def timed_out_message(template, not_ready):
    """The message of a wait that timed out: the caller's, {not_ready} replaced by what was not ready at the last read."""
    return template.replace("{not_ready}", ", ".join(not_ready))


def retried_warning(cluster, retried):
    """One line for the transient errors a successful run got past: an API server that needs retries is worth knowing."""
    return "cluster %s: %d request(s) sent again after transient errors, the last: %s" % (cluster, len(retried), retried[-1])


def converge(params, check_mode=False, diff=False, fetch_url=None, environ=None, connection=None, run_command=None):
    """The k8s_apply result for validated params: connect, run, and on failure {failed, msg[, attempts]}.
    run_command(argv, env) -> (rc, stdout, stderr) runs helm (with the helm option)."""
    cluster = params.get("cluster") or params.get("context") or "(current context)"
    try:
        connection = connection or connect(params, environ)
        api = KubeApi(connection, attempts=params["api_attempts"], delay=params["api_retry_delay"], timeout=params["request_timeout"])
        return run(api, dict(params, cluster=cluster), check_mode=check_mode, diff=diff, fetch_url=fetch_url, run_command=run_command,
                   environ=environ)
    except ApplyError as exc:
        failure = {"failed": True, "msg": str(exc)}
        if exc.attempts:
            failure["attempts"] = exc.attempts
        return failure
    except (K8sClientError, OSError, ValueError) as exc:
        return {"failed": True, "msg": "cluster %s: %s" % (cluster, exc)}


def argument_spec():
    """The options of the k8s_apply module (and its action plugin): kubernetes.core's auth options and what to converge."""
    spec = auth_argument_spec()
    spec.update(
        cluster={"type": "str"},
        src={"type": "list", "elements": "str", "default": []},
        definitions={"type": "list", "elements": "dict", "default": []},
        # digests of the Secrets' data only, never the data
        secrets={"type": "list", "elements": "dict", "default": [], "no_log": False, "options": {
            "name": {"type": "str", "required": True}, "namespace": {"type": "str", "required": True},
            "type": {"type": "str", "default": "Opaque"}, "labels": {"type": "dict"}, "annotations": {"type": "dict"},
            "data_digest": {"type": "str", "required": True}}},
        releases={"type": "list", "elements": "dict", "default": [], "options": {
            "name": {"type": "str", "required": True}, "namespace": {"type": "str", "required": True},
            "chart_ref": {"type": "str", "required": True}, "chart_version": {"type": "str"},
            "chart_repo_url": {"type": "str"}, "create_namespace": {"type": "bool", "default": False},
            "values": {"type": "dict"}, "values_digest": {"type": "str"}},
            "required_one_of": [["values", "values_digest"]]},
        helm={"type": "dict", "options": {
            "binary_path": {"type": "path"}, "timeout": {"type": "str", "default": "5m"},
            "recover_pending": {"type": "bool", "default": True}}},
        after_releases={"type": "list", "elements": "dict", "default": []},
        prune={"type": "list", "elements": "dict", "default": [], "options": {
            "api_version": {"type": "str", "required": True}, "kind": {"type": "str", "required": True},
            "namespace": {"type": "str"}, "name_prefix": {"type": "str", "default": ""},
            "match_fields": {"type": "dict", "default": {}},
            "keep": {"type": "list", "elements": "str", "default": []}}},
        wait={"type": "dict", "options": {
            "retries": {"type": "int", "default": 30}, "delay": {"type": "int", "default": 2},
            "on_change_only": {"type": "bool", "default": False},
            "pods": {"type": "list", "elements": "dict", "default": [], "options": {
                "name": {"type": "str", "required": True}, "namespace": {"type": "str", "required": True},
                "labels": {"type": "dict", "required": True}}},
            "objects": {"type": "list", "elements": "dict", "default": [], "options": {
                "kind": {"type": "str", "required": True}, "api_version": {"type": "str"}, "name": {"type": "str"},
                "condition": {"type": "dict"}, "fields": {"type": "list", "elements": "str", "default": []},
                "all": {"type": "bool", "default": False}, "namespace": {"type": "str"},
                "match_fields": {"type": "dict", "default": {}}},
                "required_if": [["all", True, ["api_version"]]]},
            "releases": {"type": "bool", "default": True},
            "fail_message": {"type": "str"}}},
        field_manager={"type": "str", "default": DEFAULT_FIELD_MANAGER},
        api_attempts={"type": "int", "default": 3},
        api_retry_delay={"type": "int", "default": 3},
        request_timeout={"type": "int", "default": 30},
    )
    return spec


def secret_data_values(params):
    """The data values of the Secrets among the manifests (masked in every output, with or without no_log on the task)."""
    found = set()
    for key in ("definitions", "after_releases"):
        for obj in params.get(key) or []:
            if isinstance(obj, dict) and obj.get("kind") == "Secret":
                for field in ("data", "stringData"):
                    data = obj.get(field)
                    found.update(str(value) for value in (data.values() if isinstance(data, dict) else ()) if value)
    return found
