"""Resource types served by an emulated cluster: the built-in table and the per-cluster registry (CRDs)."""

import collections

ResourceType = collections.namedtuple(
    "ResourceType", "group version kind plural namespaced short_names has_status categories")


def resource_type(group, version, kind, plural, namespaced=True, short_names=(), has_status=False, categories=()):
    """Build a ResourceType with defaults."""
    return ResourceType(group, version, kind, plural, namespaced, tuple(short_names), has_status, tuple(categories))


def api_version_of(rtype):
    """The apiVersion string of a resource type ("v1" or "group/version")."""
    return "%s/%s" % (rtype.group, rtype.version) if rtype.group else rtype.version


def split_api_version(api_version):
    """Split "group/version" (or "v1") into (group, version)."""
    if "/" in api_version:
        group, version = api_version.split("/", 1)
        return group, version
    return "", api_version


_R = resource_type
BUILTIN_TYPES = (
    _R("", "v1", "Namespace", "namespaces", False, ["ns"], True),
    _R("", "v1", "Node", "nodes", False, ["no"], True),
    _R("", "v1", "Secret", "secrets"),
    _R("", "v1", "ConfigMap", "configmaps", short_names=["cm"]),
    _R("", "v1", "ServiceAccount", "serviceaccounts", short_names=["sa"]),
    _R("", "v1", "Service", "services", short_names=["svc"], has_status=True, categories=["all"]),
    _R("", "v1", "Pod", "pods", short_names=["po"], has_status=True, categories=["all"]),
    _R("", "v1", "Event", "events", short_names=["ev"]),
    _R("", "v1", "Endpoints", "endpoints", short_names=["ep"]),
    _R("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=["pvc"], has_status=True),
    _R("", "v1", "PersistentVolume", "persistentvolumes", False, ["pv"], True),
    _R("", "v1", "ResourceQuota", "resourcequotas", short_names=["quota"], has_status=True),
    _R("", "v1", "LimitRange", "limitranges", short_names=["limits"]),
    _R("", "v1", "ReplicationController", "replicationcontrollers", short_names=["rc"], has_status=True),
    _R("apps", "v1", "Deployment", "deployments", short_names=["deploy"], has_status=True, categories=["all"]),
    _R("apps", "v1", "StatefulSet", "statefulsets", short_names=["sts"], has_status=True, categories=["all"]),
    _R("apps", "v1", "DaemonSet", "daemonsets", short_names=["ds"], has_status=True, categories=["all"]),
    _R("apps", "v1", "ReplicaSet", "replicasets", short_names=["rs"], has_status=True, categories=["all"]),
    _R("apps", "v1", "ControllerRevision", "controllerrevisions"),
    _R("batch", "v1", "Job", "jobs", has_status=True, categories=["all"]),
    _R("batch", "v1", "CronJob", "cronjobs", short_names=["cj"], has_status=True, categories=["all"]),
    _R("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", short_names=["hpa"], has_status=True),
    _R("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=["pdb"], has_status=True),
    _R("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    _R("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _R("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _R("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _R("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False, ["crd", "crds"], True),
    _R("admissionregistration.k8s.io", "v1", "MutatingWebhookConfiguration", "mutatingwebhookconfigurations", False),
    _R("admissionregistration.k8s.io", "v1", "ValidatingWebhookConfiguration", "validatingwebhookconfigurations", False),
    _R("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicy", "validatingadmissionpolicies", False, has_status=True),
    _R("admissionregistration.k8s.io", "v1", "ValidatingAdmissionPolicyBinding", "validatingadmissionpolicybindings", False),
    _R("storage.k8s.io", "v1", "CSIDriver", "csidrivers", False),
    _R("storage.k8s.io", "v1", "StorageClass", "storageclasses", False, ["sc"]),
    _R("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", short_names=["netpol"]),
    _R("networking.k8s.io", "v1", "Ingress", "ingresses", short_names=["ing"], has_status=True),
    _R("networking.k8s.io", "v1", "IngressClass", "ingressclasses", False),
    _R("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    _R("coordination.k8s.io", "v1", "Lease", "leases"),
    _R("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", False, ["pc"]),
    _R("events.k8s.io", "v1", "Event", "events", short_names=["ev"]),
    _R("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", False, ["csr"], True),
    _R("apiregistration.k8s.io", "v1", "APIService", "apiservices", False, has_status=True),
    _R("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False),
    _R("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False),
    _R("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False),
)
# Kinds that are answered, never stored: POST only (authz.REVIEWS).
CREATE_ONLY = {("authorization.k8s.io", "selfsubjectaccessreviews"), ("authorization.k8s.io", "selfsubjectrulesreviews"),
               ("authentication.k8s.io", "selfsubjectreviews")}
del _R


class Registry:
    """The resource types one cluster serves: built-ins plus what its CRDs declare."""

    def __init__(self, builtins=BUILTIN_TYPES):
        self._by_plural = {}   # (group, version, plural) -> ResourceType
        self._by_kind = {}     # (group, version, kind) -> ResourceType
        self._crd_types = {}   # crd name -> [ResourceType]
        self.generation = 0    # bumped on every change (discovery caches)
        for rtype in builtins:
            self.add(rtype)

    def add(self, rtype):
        """Serve one resource type (a later add for the same group/version/plural replaces it)."""
        self._by_plural[(rtype.group, rtype.version, rtype.plural)] = rtype
        self._by_kind[(rtype.group, rtype.version, rtype.kind)] = rtype
        self.generation += 1

    def remove(self, rtype):
        """Stop serving one resource type."""
        self._by_plural.pop((rtype.group, rtype.version, rtype.plural), None)
        self._by_kind.pop((rtype.group, rtype.version, rtype.kind), None)
        self.generation += 1

    def by_plural(self, group, version, plural):
        """The type served at /apis/group/version/plural, or None."""
        return self._by_plural.get((group, version, plural))

    def by_kind(self, api_version, kind):
        """The type for an apiVersion and kind, or None."""
        group, version = split_api_version(api_version)
        return self._by_kind.get((group, version, kind))

    def all(self):
        """Every served type."""
        return list(self._by_plural.values())

    def group_versions(self):
        """{group: [versions]} in a stable order (preferred version first)."""
        groups = {}
        for rtype in self._by_plural.values():
            versions = groups.setdefault(rtype.group, [])
            if rtype.version not in versions:
                versions.append(rtype.version)
        return groups

    def in_group_version(self, group, version):
        """Every type of one group/version."""
        return [t for (g, v, _p), t in self._by_plural.items() if g == group and v == version]

    def set_crd(self, crd):
        """Register (or re-register) the types a CustomResourceDefinition declares; returns them."""
        name = crd["metadata"]["name"]
        old = self._crd_types.pop(name, [])
        for rtype in old:
            self.remove(rtype)
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        new = []
        for ver in spec.get("versions") or []:
            if not ver.get("served", True):
                continue
            rtype = resource_type(
                spec.get("group", ""), ver.get("name", "v1"), names.get("kind", ""), names.get("plural", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced", short_names=names.get("shortNames") or (),
                has_status="status" in ((ver.get("subresources") or {})), categories=names.get("categories") or ())
            self.add(rtype)
            new.append(rtype)
        self._crd_types[name] = new
        return new

    def drop_crd(self, name):
        """Unregister a CRD's types; returns them."""
        old = self._crd_types.pop(name, [])
        for rtype in old:
            self.remove(rtype)
        return old

    def storage_versions(self, rtype):
        """Every served type that shares rtype's storage (same group and plural)."""
        return [t for t in self._by_plural.values() if t.group == rtype.group and t.plural == rtype.plural]
