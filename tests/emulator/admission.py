"""Admission of the v1.33 API server that clients can observe: the ServiceAccount plugin (Pods need their service
account; token Secrets need its name), DefaultTolerationSeconds and Priority (Pod fields), DefaultStorageClass (PVCs),
and Pod Security admission (namespace labels pod-security.kubernetes.io/enforce|warn[-version]).

Messages follow kube-apiserver and k8s.io/pod-security-admission (policy/check_*.go): checks run in the order of their
files (baseline checks, then the restricted ones; capabilities_baseline and seccompProfile_baseline only at baseline).
"""

import json
import secrets
import string

from emulator.errors import ApiError, invalid

PSA_PREFIX = "pod-security.kubernetes.io/"
PSA_LEVELS = ("privileged", "baseline", "restricted")
TEMPLATE_KINDS = {("apps", "Deployment"), ("apps", "StatefulSet"), ("apps", "DaemonSet"), ("apps", "ReplicaSet"),
                  ("batch", "Job"), ("batch", "CronJob"), ("", "ReplicationController"), ("", "PodTemplate")}
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
SA_NAME_ANNOTATION = "kubernetes.io/service-account.name"
BASELINE_CAPABILITIES = {"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE",
                         "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"}
PRIORITY_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}


def forbidden(resource, name, message, group=""):
    """403 as admission.NewForbidden builds it."""
    qualified = "%s.%s" % (resource, group) if group else resource
    return ApiError(403, '%s "%s" is forbidden: %s' % (qualified, name, message), "Forbidden",
                    details={"name": name, "group": group, "kind": resource})


def _get(store, api_version, kind, name, namespace=""):
    rtype = store.registry.by_kind(api_version, kind)
    entry = store.entry(rtype, namespace, name) if rtype is not None else None
    return entry.obj if entry else None


def _quote_all(names):
    return ", ".join(json.dumps(n) for n in names)


def _plural(one, many, count):
    return one if count == 1 else many


# ---- Pod Security admission ------------------------------------------------------------------------------------
def _containers(spec):
    for key in ("initContainers", "containers", "ephemeralContainers"):
        for container in spec.get(key) or []:
            if isinstance(container, dict):
                yield container


def _sc(obj):
    return obj.get("securityContext") or {}


def _host_namespaces(spec):
    used = sorted(k for k in ("hostIPC", "hostNetwork", "hostPID") if spec.get(k))
    return ("host namespaces", ", ".join(used)) if used else None


def _host_path_volumes(spec):
    names = [v.get("name") for v in spec.get("volumes") or [] if isinstance(v, dict) and "hostPath" in v]
    return ("hostPath volumes", "%s %s" % (_plural("volume", "volumes", len(names)), _quote_all(names))) if names else None


def _host_ports(spec):
    bad, ports = [], set()
    for container in _containers(spec):
        used = [p.get("hostPort") for p in container.get("ports") or [] if isinstance(p, dict) and p.get("hostPort")]
        if used:
            bad.append(container.get("name"))
            ports.update(str(p) for p in used)
    if not bad:
        return None
    return ("hostPort", "%s %s %s %s %s" % (_plural("container", "containers", len(bad)), _quote_all(bad), _plural("uses", "use", len(bad)),
                                            _plural("hostPort", "hostPorts", len(ports)), ", ".join(sorted(ports))))


def _privileged(spec):
    bad = [c.get("name") for c in _containers(spec) if _sc(c).get("privileged") is True]
    if not bad:
        return None
    return ("privileged", "%s %s must not set securityContext.privileged=true" % (_plural("container", "containers", len(bad)), _quote_all(bad)))


def _capabilities_baseline(spec):
    bad, caps = [], set()
    for container in _containers(spec):
        extra = [c for c in (_sc(container).get("capabilities") or {}).get("add") or [] if c not in BASELINE_CAPABILITIES]
        if extra:
            bad.append(container.get("name"))
            caps.update(extra)
    if not bad:
        return None
    return ("non-default capabilities", "%s %s must not include %s in securityContext.capabilities.add" % (
        _plural("container", "containers", len(bad)), _quote_all(bad), _quote_all(sorted(caps))))


def _seccomp_baseline(spec):
    setters = []
    if (_sc(spec).get("seccompProfile") or {}).get("type") == "Unconfined":
        setters.append("pod")
    bad = [c.get("name") for c in _containers(spec) if (_sc(c).get("seccompProfile") or {}).get("type") == "Unconfined"]
    if bad:
        setters.append("%s %s" % (_plural("container", "containers", len(bad)), _quote_all(bad)))
    if not setters:
        return None
    return ("seccompProfile", '%s must not set securityContext.seccompProfile.type to "Unconfined"' % " and ".join(setters))


def _allow_privilege_escalation(spec):
    bad = [c.get("name") for c in _containers(spec) if _sc(c).get("allowPrivilegeEscalation") is not False]
    if not bad:
        return None
    return ("allowPrivilegeEscalation != false", "%s %s must set securityContext.allowPrivilegeEscalation=false" % (
        _plural("container", "containers", len(bad)), _quote_all(bad)))


def _capabilities_restricted(spec):
    missing_drop, adding, caps = [], [], set()
    for container in _containers(spec):
        capabilities = _sc(container).get("capabilities")
        if not isinstance(capabilities, dict):
            missing_drop.append(container.get("name"))
            continue
        if "ALL" not in (capabilities.get("drop") or []):
            missing_drop.append(container.get("name"))
        extra = [c for c in capabilities.get("add") or [] if c != "NET_BIND_SERVICE"]
        if extra:
            adding.append(container.get("name"))
            caps.update(extra)
    details = []
    if missing_drop:
        details.append('%s %s must set securityContext.capabilities.drop=["ALL"]' % (
            _plural("container", "containers", len(missing_drop)), _quote_all(missing_drop)))
    if adding:
        details.append("%s %s must not include %s in securityContext.capabilities.add" % (
            _plural("container", "containers", len(adding)), _quote_all(adding), _quote_all(sorted(caps))))
    return ("unrestricted capabilities", "; ".join(details)) if details else None


_ALLOWED_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret")


def _restricted_volumes(spec):
    names = sorted(v.get("name") for v in spec.get("volumes") or []
                   if isinstance(v, dict) and not any(k in v for k in _ALLOWED_VOLUMES))
    if not names:
        return None
    return ("restricted volume types", "volumes [%s] have restricted types" % " ".join(json.dumps(n) for n in names))


def _run_as_non_root(spec):
    setters, explicit, implicit = [], [], []
    pod_value = _sc(spec).get("runAsNonRoot")
    if pod_value is False:
        setters.append("pod")
    for container in _containers(spec):
        value = _sc(container).get("runAsNonRoot")
        if value is False:
            explicit.append(container.get("name"))
        elif value is None and pod_value is not True:
            implicit.append(container.get("name"))
    if explicit:
        setters.append("%s %s" % (_plural("container", "containers", len(explicit)), _quote_all(explicit)))
    if setters:
        return ("runAsNonRoot != true", "%s must not set securityContext.runAsNonRoot=false" % " and ".join(setters))
    if implicit:
        return ("runAsNonRoot != true", "pod or %s %s must set securityContext.runAsNonRoot=true" % (
            _plural("container", "containers", len(implicit)), _quote_all(implicit)))
    return None


def _run_as_user(spec):
    setters = ["pod"] if _sc(spec).get("runAsUser") == 0 else []
    bad = [c.get("name") for c in _containers(spec) if _sc(c).get("runAsUser") == 0]
    if bad:
        setters.append("%s %s" % (_plural("container", "containers", len(bad)), _quote_all(bad)))
    return ("runAsUser=0", "%s must not set runAsUser=0" % " and ".join(setters)) if setters else None


def _seccomp_restricted(spec):
    setters, bad_values, explicit, implicit = [], set(), [], []
    pod_profile = _sc(spec).get("seccompProfile")
    pod_set = False
    if isinstance(pod_profile, dict):
        if pod_profile.get("type") not in ("RuntimeDefault", "Localhost"):
            setters.append("pod")
            bad_values.add(pod_profile.get("type") or "")
        else:
            pod_set = True
    for container in _containers(spec):
        profile = _sc(container).get("seccompProfile")
        if isinstance(profile, dict):
            if profile.get("type") not in ("RuntimeDefault", "Localhost"):
                explicit.append(container.get("name"))
                bad_values.add(profile.get("type") or "")
        elif not pod_set:
            implicit.append(container.get("name"))
    if explicit:
        setters.append("%s %s" % (_plural("container", "containers", len(explicit)), _quote_all(explicit)))
    if setters:
        return ("seccompProfile", "%s must not set securityContext.seccompProfile.type to %s" % (
            " and ".join(setters), _quote_all(sorted(bad_values))))
    if implicit:
        return ("seccompProfile", 'pod or %s %s must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"' % (
            _plural("container", "containers", len(implicit)), _quote_all(implicit)))
    return None


BASELINE_CHECKS = (_host_namespaces, _host_path_volumes, _host_ports, _privileged)
BASELINE_ONLY_CHECKS = (_capabilities_baseline, _seccomp_baseline)
RESTRICTED_CHECKS = (_allow_privilege_escalation, _capabilities_restricted, _restricted_volumes, _run_as_non_root, _run_as_user,
                     _seccomp_restricted)


def evaluate_pod_security(level, spec):
    """The ForbiddenDetail of a pod spec at a level ("" when allowed)."""
    if level not in ("baseline", "restricted") or not isinstance(spec, dict):
        return ""
    checks = BASELINE_CHECKS + (BASELINE_ONLY_CHECKS if level == "baseline" else RESTRICTED_CHECKS)
    parts = []
    for check in checks:
        result = check(spec)
        if result:
            reason, detail = result
            parts.append("%s (%s)" % (reason, detail) if detail else reason)
    return ", ".join(parts)


def namespace_policy(namespace_obj, mode):
    """(level, "level:version") of a namespace for mode enforce|warn|audit; warn and audit default to enforce."""
    labels = ((namespace_obj or {}).get("metadata") or {}).get("labels") or {}
    level = labels.get(PSA_PREFIX + mode)
    version = labels.get(PSA_PREFIX + mode + "-version")
    if level is None and mode != "enforce":
        level, version = labels.get(PSA_PREFIX + "enforce"), labels.get(PSA_PREFIX + "enforce-version")
    level = level or "privileged"
    return level, "%s:%s" % (level, version or "latest")


def validate_namespace_labels(rtype, obj):
    """422 for a Pod Security label with an unknown level."""
    labels = obj["metadata"].get("labels") or {}
    for mode in ("enforce", "warn", "audit"):
        value = labels.get(PSA_PREFIX + mode)
        if value is not None and value not in PSA_LEVELS:
            raise invalid(rtype, obj["metadata"]["name"], "metadata.labels[%s%s]" % (PSA_PREFIX, mode),
                          'Invalid value: "%s": must be one of privileged, baseline, restricted' % value)


def _pod_security(store, obj, pod_spec, namespace, is_pod, shown_name=""):
    """Refuse a pod violating the enforce level (403); warnings for the warn level."""
    ns_obj = _get(store, "v1", "Namespace", namespace)
    warnings = []
    if is_pod:
        level, label = namespace_policy(ns_obj, "enforce")
        detail = evaluate_pod_security(level, pod_spec)
        if detail:
            raise forbidden("pods", shown_name, 'violates PodSecurity "%s": %s' % (label, detail))
    level, label = namespace_policy(ns_obj, "warn")
    detail = evaluate_pod_security(level, pod_spec)
    if detail:
        warnings.append('would violate PodSecurity "%s": %s' % (label, detail))
    return warnings


# ---- Pods: ServiceAccount, DefaultTolerationSeconds, Priority -------------------------------------------------------
def _token_volume_name():
    return "kube-api-access-" + "".join(secrets.choice(string.ascii_lowercase + string.digits) for _i in range(5))


def _service_account(store, obj, namespace, shown_name):
    spec = obj["spec"]
    name = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
    spec["serviceAccountName"] = spec["serviceAccount"] = name
    account = _get(store, "v1", "ServiceAccount", name, namespace)
    if account is None:
        raise forbidden("pods", shown_name,
                        'error looking up service account %s/%s: serviceaccount "%s" not found' % (namespace, name, name))
    automount = spec.get("automountServiceAccountToken")
    if automount is None:
        automount = account.get("automountServiceAccountToken")
    if automount is False:
        return
    mount_path = "/var/run/secrets/kubernetes.io/serviceaccount"
    containers = list(_containers(spec))
    if any(m.get("mountPath") == mount_path for c in containers for m in c.get("volumeMounts") or [] if isinstance(m, dict)):
        return
    volume = _token_volume_name()
    spec.setdefault("volumes", []).append({"name": volume, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}})
    for container in containers:
        container.setdefault("volumeMounts", []).append({"name": volume, "readOnly": True, "mountPath": mount_path})


def _tolerations_and_priority(spec):
    tolerations = spec.get("tolerations") or []
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(isinstance(t, dict) and (t.get("key") == key or (not t.get("key") and t.get("operator") == "Exists"))
                   and t.get("effect") in (None, "", "NoExecute") for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
    spec["tolerations"] = tolerations
    spec.setdefault("priority", PRIORITY_CLASSES.get(spec.get("priorityClassName"), 0))
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")


# ---- entry points ------------------------------------------------------------------------------------------------
def default_storage_class(store):
    """The default StorageClass (the newest of several), or None."""
    rtype = store.registry.by_kind("storage.k8s.io/v1", "StorageClass")
    defaults = [e.obj for e in store.select(rtype)
                if (e.obj["metadata"].get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"] if rtype else []
    defaults.sort(key=lambda o: (o["metadata"].get("creationTimestamp", ""), int(o["metadata"].get("resourceVersion") or 0)))
    return defaults[-1] if defaults else None


def admit_create(store, rtype, obj, shown_name):
    """Mutating then validating admission of a create; returns warnings, raises ApiError(403/422). shown_name: the
    name errors show (the generateName of an object whose name is generated)."""
    key = (rtype.group, rtype.kind)
    namespace = obj["metadata"].get("namespace", "")
    if key == ("", "Pod"):
        _service_account(store, obj, namespace, shown_name)
        _tolerations_and_priority(obj["spec"])
        return _pod_security(store, obj, obj["spec"], namespace, True, shown_name)
    if key == ("", "PersistentVolumeClaim"):
        spec = obj.setdefault("spec", {})
        if spec.get("storageClassName") is None:
            default = default_storage_class(store)
            if default is not None:
                spec["storageClassName"] = default["metadata"]["name"]
        return []
    if key == ("", "Secret") and obj.get("type") == "kubernetes.io/service-account-token":
        if not (obj["metadata"].get("annotations") or {}).get(SA_NAME_ANNOTATION):
            raise invalid(rtype, obj["metadata"]["name"], "metadata.annotations[%s]" % SA_NAME_ANNOTATION, "Required value")
        return []
    return admit_write(store, rtype, obj)


def admit_write(store, rtype, obj):
    """Admission of creates and updates of other kinds: namespace label validation, Pod Security warnings on templates."""
    key = (rtype.group, rtype.kind)
    if key == ("", "Namespace"):
        validate_namespace_labels(rtype, obj)
        return []
    if key in TEMPLATE_KINDS:
        spec = obj.get("spec") or {}
        template = spec.get("template") if key != ("", "PodTemplate") else obj.get("template")
        if key == ("batch", "CronJob"):
            template = ((spec.get("jobTemplate") or {}).get("spec") or {}).get("template")
        pod_spec = (template or {}).get("spec") if isinstance(template, dict) else None
        if isinstance(pod_spec, dict):
            return _pod_security(store, obj, pod_spec, obj["metadata"].get("namespace", ""), False)
    return []
