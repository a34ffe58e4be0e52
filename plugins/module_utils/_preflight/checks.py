# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The preflight checks: pure functions ``check(snapshots, options) -> [findings]``. PRIVATE to the collection.

``snapshots`` is an ordered dict cluster name -> snapshot (``_preflight/snapshot.py``). ``options``:

- ``istio_version`` (str or None), ``spire_chart_version``, ``allow_unsupported_kubernetes`` (bool)
- ``spire_persistence``: {"type": pvc|emptyDir|hostPath, "storage_class": name or None} (``spire_persistence()``)
- ``gateway_api``: {"install": bool, "version": "v1.2.1", "channel": "standard"}
- ``spire_crds_release``: {"name", "namespace"}
- ``pki_root_pem``: PEM of the PKI's root certificate(s), or "" when the PKI has no root yet
- ``license``: the result of ``_preflight/license.describe()`` (never the key), ``license_min_days``
- ``now``: an aware datetime (tests), default the current time

Every error names the cluster (the finding's ``cluster``) and says what to fix (its ``hint``).
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks._common import finding, option
from ansible_collections.meshops.ambient_spire.plugins.module_utils._preflight import access, versions

PSA_LEVELS = ("privileged", "baseline", "restricted")
PRIVILEGED_WORKLOADS = {
    "spire": "spire-agent (hostPID, hostNetwork, hostPath sockets) and the SPIFFE CSI driver (privileged)",
    "istio": "ztunnel (privileged, host /proc, the SPIRE admin socket on a hostPath) and istio-cni (privileged)",
}
VIRTUAL_NODE = (("type", "virtual-kubelet"), ("eks.amazonaws.com/compute-type", "fargate"))


def _ns(snap, role):
    return (snap.get("namespace_names") or {}).get(role) or {"spire": "spire-server", "istio": "istio-system", "gloo": "gloo-mesh",
                                                             "eastwest": "istio-eastwest"}[role]


def _version_text(snap):
    version = snap.get("version") or {}
    return version.get("git_version") or "%s.%s" % (version.get("major"), version.get("minor"))


# --- reachability ----------------------------------------------------------------------------------------------------------

READ_HINT = ("Check the cluster's connection (kubeconfig_path, kube_context or preflight_connection; the AWX kubeconfig credential) "
             "and that its API server answers: kubectl --context <ctx> get --raw /version. Nothing was checked on this cluster.")


def check_reachable(snapshots, options=None):
    """Every cluster read was reached and accepted the credentials (unread ones get their error from the registry)."""
    return [finding("reachable", cluster, "ok", "reachable, Kubernetes %s, authenticated as %s" % (
        _version_text(snap), snap.get("user") or "(identity not reported)")) for cluster, snap in snapshots.items()]


# --- RBAC ------------------------------------------------------------------------------------------------------------------

RBAC_HINT = ("Give the identity the install runs with (the kubeconfig context's user) the permissions listed: the preflight result "
             "has them as rbac_rules (one ClusterRole, a Role per namespace; see the preflight guide), or bind it to cluster-admin. "
             "Check one with: kubectl auth can-i <verb> <resource> -n <namespace> --context <ctx>.")
GRANTS_HINT = ("The SPIRE chart creates ClusterRoles and Roles. Kubernetes lets a user create or bind a role only with permissions "
               "the user holds, unless it may escalate (roles, clusterroles) and bind: allow those two verbs on "
               "rbac.authorization.k8s.io roles and clusterroles, or grant the permissions listed (rbac_rules includes them).")


def _listing(items, namespaces, limit=6):
    text = "; ".join(access.describe(a) for a in items[:limit])
    return text + ("; and %d more" % (len(items) - limit) if len(items) > limit else "")


def check_rbac(snapshots, options=None):
    """SelfSubjectAccessReviews: every request the install makes, and what the SPIRE chart's roles grant (unless escalate/bind)."""
    findings = []
    for cluster, snap in snapshots.items():
        result = snap.get("access")
        if result is None:
            continue
        user = snap.get("user") or "the install identity"
        namespaces = snap.get("namespace_names") or {}
        denied = result.get("denied") or []
        grants = result.get("grants_denied") or []
        if denied:
            details = ["%s: %s" % (access.describe(a), access.why(a, namespaces) or "") for a in denied]
            findings.append(finding("rbac", cluster, "error", "%s may not make %d of the %d requests the install makes: %s" % (
                user, len(denied), result.get("checked", 0), _listing(denied, namespaces)), RBAC_HINT, details=details))
        if grants:
            findings.append(finding("rbac", cluster, "error",
                                    "%s may not escalate or bind roles and lacks %d permissions the SPIRE chart's roles grant "
                                    "(creating them would be forbidden): %s" % (user, len(grants), _listing(grants, namespaces)),
                                    GRANTS_HINT, details=[access.describe(a) for a in grants]))
        if result.get("everything"):
            findings.append(finding("rbac", cluster, "ok", "%s may do everything (verb *, resource *: cluster-admin), so all %d requests the "
                                    "install makes (SelfSubjectAccessReview)" % (user, result.get("checked", 0))))
        elif not denied and not grants:
            how = "may escalate and bind roles" if result.get("escalation") else "holds the %d permissions the SPIRE chart's roles grant" % (
                result.get("grants_checked", 0))
            findings.append(finding("rbac", cluster, "ok", "%s may make all %d requests the install makes and %s (SelfSubjectAccessReview)" % (
                user, result.get("checked", 0), how)))
    return findings


# --- Kubernetes version ----------------------------------------------------------------------------------------------------

def check_kubernetes_version(snapshots, options=None):
    """The Kubernetes version against the pinned SPIRE chart's kubeVersion and the Istio release's supported range."""
    findings = []
    istio_version = option(options, "istio_version")
    chart_version = str(option(options, "spire_chart_version", ""))
    unsupported_level = "warning" if option(options, "allow_unsupported_kubernetes", False) else "error"
    istio_range = versions.istio_range(istio_version) if istio_version else None
    constraint = versions.SPIRE_CHART_KUBE_VERSION.get(chart_version)
    for cluster, snap in snapshots.items():
        version = versions.kubernetes_version({"gitVersion": (snap.get("version") or {}).get("git_version"),
                                               "major": (snap.get("version") or {}).get("major"),
                                               "minor": (snap.get("version") or {}).get("minor")})
        if version is None:
            findings.append(finding("kubernetes_version", cluster, "warning", "the API server reported no usable version (%s): not verified" % (
                snap.get("version"),), "Check kubectl version --context <ctx>."))
            continue
        text = "%d.%d.%d" % version
        bad = 0
        notes = []
        if constraint is None:
            findings.append(finding("kubernetes_version", cluster, "warning",
                                    "SPIRE chart %s: its supported Kubernetes versions are not known to this collection, not verified" % (
                                        chart_version or "(unset)"),
                                    "Compare with the kubeVersion of the chart's Chart.yaml (helm show chart spire --version %s)." % chart_version))
        elif not versions.satisfies(version, constraint):
            bad += 1
            findings.append(finding("kubernetes_version", cluster, "error",
                                    "Kubernetes %s does not satisfy the SPIRE chart %s's kubeVersion %s: Helm refuses to install it" % (
                                        text, chart_version, constraint),
                                    "Upgrade the cluster, or pin a SPIRE chart (spire_chart_version) whose kubeVersion it satisfies."))
        else:
            notes.append("SPIRE chart %s (%s)" % (chart_version, constraint))
        if istio_version:
            if istio_range is None:
                findings.append(finding("kubernetes_version", cluster, "warning",
                                        "Istio %s: its supported Kubernetes versions are not known to this collection, not verified" % istio_version,
                                        "Compare with %s." % versions.SUPPORTED_RELEASES_URL))
            else:
                low, high = istio_range
                if not low <= version[:2] <= high:
                    bad += unsupported_level == "error"
                    findings.append(finding("kubernetes_version", cluster, unsupported_level,
                                            "Kubernetes %s is outside the versions Istio %s supports (%s to %s, %s)" % (
                                                text, versions.minor_text(versions.istio_minor(istio_version)), versions.minor_text(low),
                                                versions.minor_text(high), versions.SUPPORTED_RELEASES_URL),
                                            "Choose an Istio release that supports Kubernetes %d.%d (mesh_istio_version), or upgrade the cluster "
                                            "into the range; preflight_allow_unsupported_kubernetes: true makes this a warning." % version[:2]))
                else:
                    minor = versions.minor_text(versions.istio_minor(istio_version))
                    notes.append("Istio %s (%s to %s)" % (minor, versions.minor_text(low), versions.minor_text(high)))
        if not bad and notes:
            findings.append(finding("kubernetes_version", cluster, "ok", "Kubernetes %s is supported by %s" % (text, " and ".join(notes))))
    return findings


# --- nodes -----------------------------------------------------------------------------------------------------------------

NODES_HINT = ("ztunnel and the SPIRE agent are DaemonSets: they need Ready Linux nodes that run pods (virtual nodes such as EKS Fargate "
              "or virtual-kubelet cannot run DaemonSets). Add or repair nodes: kubectl get nodes -o wide --context <ctx>.")


def check_nodes(snapshots, options=None):
    """At least one Ready Linux node that can run DaemonSets (ztunnel, the SPIRE agent, the CSI driver); NotReady ones named."""
    findings = []
    for cluster, snap in snapshots.items():
        nodes = snap.get("nodes")
        if nodes is None:
            findings.append(finding("ztunnel_nodes", cluster, "warning", "could not read the nodes (%s): not verified" % snap.get("nodes_error"),
                                    "Allow list on nodes to the install identity to have this checked."))
            continue
        virtual = [n["name"] for n in nodes if any((n.get("labels") or {}).get(k) == v for k, v in VIRTUAL_NODE)]
        other_os = [n["name"] for n in nodes if n["name"] not in virtual and (n.get("labels") or {}).get("kubernetes.io/os", "linux") != "linux"]
        candidates = [n for n in nodes if n["name"] not in virtual and n["name"] not in other_os]
        ready = [n["name"] for n in candidates if n.get("ready")]
        not_ready = [n["name"] for n in candidates if not n.get("ready")]
        left_out = ("; not for ztunnel: %s" % ", ".join(
            ["%s (virtual)" % n for n in virtual] + ["%s (not Linux)" % n for n in other_os])) if virtual or other_os else ""
        if not ready:
            findings.append(finding("ztunnel_nodes", cluster, "error", "no Ready Linux node that can run ztunnel and the SPIRE agent (%d nodes%s)" % (
                len(nodes), left_out), NODES_HINT))
            continue
        if not_ready:
            findings.append(finding("ztunnel_nodes", cluster, "warning",
                                    "nodes not Ready: %s; the ztunnel and SPIRE agent pods there will not become ready and the install's "
                                    "readiness waits will time out" % ", ".join(not_ready), NODES_HINT))
        else:
            findings.append(finding("ztunnel_nodes", cluster, "ok", "%d Ready Linux nodes for ztunnel and the SPIRE agent%s" % (len(ready), left_out)))
    return findings


# --- storage ---------------------------------------------------------------------------------------------------------------

def spire_persistence(values):
    """{"type", "storage_class"} of spire-server's datastore volume, as the spire chart reads its values (spire-server.persistence,
    global.spire.persistence.storageClass first); chart defaults: type pvc, no class (the cluster's default)."""
    values = values if isinstance(values, dict) else {}
    server = ((values.get("spire-server") or {}).get("persistence")) or {}
    global_class = (((values.get("global") or {}).get("spire") or {}).get("persistence") or {}).get("storageClass")
    kind = (values.get("spire-server") or {}).get("kind") or "statefulset"
    return {"type": server.get("type") or ("emptyDir" if kind == "deployment" else "pvc"),
            "storage_class": global_class or server.get("storageClass") or None}


STORAGE_HINT = ("The SPIRE chart keeps the server's datastore on a PersistentVolumeClaim: without a class that provisions it the claim "
                "never binds, helm --wait times out after spire_helm_wait_timeout (5m) and the atomic install is rolled back. Mark a "
                "StorageClass default (kubectl annotate storageclass <name> storageclass.kubernetes.io/is-default-class=true), or set "
                "spire_extra_values: {spire-server: {persistence: {storageClass: <existing class>}}}, or {type: emptyDir} (the datastore is "
                "then lost when the pod restarts; agents re-attest with k8s_psat).")


def check_storage(snapshots, options=None):
    """A StorageClass for spire-server's claim: the one set, else a default one; or persistence that needs none."""
    findings = []
    persistence = option(options, "spire_persistence") or {"type": "pvc", "storage_class": None}
    for cluster, snap in snapshots.items():
        pvc = snap.get("spire_pvc") or {}
        if pvc.get("phase") == "Bound":
            findings.append(finding("storage", cluster, "ok", "spire-server's claim %s is already Bound (class %s)" % (
                pvc.get("name"), pvc.get("storage_class") or "-")))
            continue
        if persistence["type"] != "pvc":
            findings.append(finding("storage", cluster, "ok", "spire-server persistence is %s: no claim to bind" % persistence["type"]))
            continue
        classes = snap.get("storage_classes")
        if classes is None:
            findings.append(finding("storage", cluster, "warning", "could not list StorageClasses (%s): not verified" % snap.get("storage_classes_error"),
                                    "Allow list on storageclasses.storage.k8s.io to have this checked."))
            continue
        wanted = persistence.get("storage_class")
        if wanted:
            match = [c for c in classes if c["name"] == wanted]
            if match:
                findings.append(finding("storage", cluster, "ok", "spire-server's claim uses StorageClass %s (%s, %s)" % (
                    wanted, match[0].get("provisioner"), match[0].get("binding_mode") or "Immediate")))
            else:
                findings.append(finding("storage", cluster, "error", "StorageClass %s (set for spire-server's claim) does not exist; classes: %s" % (
                    wanted, ", ".join(sorted(c["name"] for c in classes)) or "none"), STORAGE_HINT))
            continue
        defaults = sorted((c for c in classes if c.get("default")), key=lambda c: c.get("created") or "")
        if not defaults:
            findings.append(finding("storage", cluster, "error",
                                    "no default StorageClass (classes: %s) and spire-server persistence is a claim without a class: "
                                    "it would never bind" % (", ".join(sorted(c["name"] for c in classes)) or "none"), STORAGE_HINT))
        elif len(defaults) > 1:
            findings.append(finding("storage", cluster, "warning", "%d default StorageClasses (%s): new claims get the newest, %s" % (
                len(defaults), ", ".join(c["name"] for c in defaults), defaults[-1]["name"]),
                "Keep one default StorageClass, or set spire-server's class explicitly (see the fix above)."))
        else:
            findings.append(finding("storage", cluster, "ok", "spire-server's claim gets the default StorageClass %s (%s, %s)" % (
                defaults[0]["name"], defaults[0].get("provisioner"), defaults[0].get("binding_mode") or "Immediate")))
    return findings


# --- Pod Security admission ------------------------------------------------------------------------------------------------

def _psa(labels, mode):
    value = (labels or {}).get("pod-security.kubernetes.io/%s" % mode)
    return value if value in PSA_LEVELS else None


def check_pod_security(snapshots, options=None):
    """The SPIRE and Istio namespaces must allow privileged pods (enforce privileged or unset); warn/audit levels are reported."""
    findings = []
    for cluster, snap in snapshots.items():
        namespaces = snap.get("namespaces")
        if namespaces is None:
            findings.append(finding("pod_security", cluster, "warning", "could not read the namespaces (%s): not verified" % snap.get("namespaces_error"),
                                    "Allow get on namespaces to have this checked."))
            continue
        bad = 0
        oks = []
        roles = {}
        for role in ("spire", "istio"):
            roles.setdefault(_ns(snap, role), []).append(role)
        for name, its_roles in roles.items():
            workloads = "; ".join(PRIVILEGED_WORKLOADS[role] for role in its_roles)
            if name not in namespaces:
                oks.append("%s does not exist yet (created without Pod Security labels: the cluster's default level applies)" % name)
                continue
            labels = namespaces[name]
            enforce = _psa(labels, "enforce")
            fix = "kubectl label namespace %s pod-security.kubernetes.io/enforce=privileged --overwrite --context <ctx>" % name
            if enforce in ("baseline", "restricted"):
                bad += 1
                findings.append(finding("pod_security", cluster, "error",
                                        'namespace %s enforces Pod Security "%s": %s would be refused' % (name, enforce, workloads),
                                        "These pods need the privileged level: %s." % fix))
                continue
            warned = [(mode, _psa(labels, mode)) for mode in ("warn", "audit") if _psa(labels, mode) in ("baseline", "restricted")]
            if warned:
                findings.append(finding("pod_security", cluster, "warning", "namespace %s %s: the install is admitted, with warnings for %s" % (
                    name, ", ".join('%ss "%s"' % (mode, level) for mode, level in warned), workloads),
                    "Set the warn and audit levels to privileged too: kubectl label namespace %s pod-security.kubernetes.io/warn=privileged "
                    "pod-security.kubernetes.io/audit=privileged --overwrite --context <ctx>" % name))
            oks.append("%s enforces %s" % (name, enforce or "no level (the cluster's default)"))
        if not bad and oks:
            findings.append(finding("pod_security", cluster, "ok", "privileged pods admitted: %s" % "; ".join(oks)))
    return findings


# --- conflicting installs --------------------------------------------------------------------------------------------------

ISTIOD_HINT = ("Two control planes in one cluster fight over the Istio CRDs, webhooks and the istio-system namespace. Uninstall the other "
               "istiod (istioctl uninstall --purge, or helm uninstall of its release), or migrate it to the Gloo Operator first; then "
               "run the install again.")


def _managed_by_operator(istiod, smcs):
    """The Gloo Operator's istiod: owned by a ServiceMeshController, labelled by the operator, or, where a ServiceMeshController
    exists, named istiod-gloo / revision gloo (the operator's documented names; its labels are not public)."""
    labels = istiod.get("labels") or {}
    if any(owner.startswith("ServiceMeshController/") for owner in istiod.get("owners") or []):
        return True
    if labels.get("app.kubernetes.io/managed-by") == "gloo-operator" or labels.get("operator.gloo.solo.io/servicemeshcontroller"):
        return True
    return bool(smcs) and (istiod.get("name") == "istiod-gloo" or labels.get("istio.io/rev") == "gloo")


def check_existing_istiod(snapshots, options=None):
    """An istiod not managed by the Gloo Operator is a conflicting install."""
    findings = []
    for cluster, snap in snapshots.items():
        istiods = snap.get("istiods")
        if istiods is None:
            findings.append(finding("existing_istiod", cluster, "warning", "could not list istiod Deployments (%s): not verified" % snap.get("istiods_error"),
                                    "Allow list on deployments.apps cluster-wide to have this checked."))
            continue
        smcs = snap.get("smcs") or []
        foreign = [d for d in istiods if not _managed_by_operator(d, smcs)]
        for dep in foreign:
            labels = dep.get("labels") or {}
            how = labels.get("app.kubernetes.io/managed-by")
            if not how:
                how = "istioctl/IstioOperator" if labels.get("install.operator.istio.io/owning-resource") else "unknown"
            findings.append(finding("existing_istiod", cluster, "error",
                                    "istiod %s/%s (revision %s, installed by %s) is not managed by the Gloo Operator" % (
                                        dep.get("namespace"), dep.get("name"), labels.get("istio.io/rev") or "default", how), ISTIOD_HINT))
        if not foreign:
            findings.append(finding("existing_istiod", cluster, "ok", "no istiod outside the Gloo Operator's (%s)" % (
                ", ".join("%s/%s" % (d["namespace"], d["name"]) for d in istiods) or "none installed")))
    return findings


def _semver(text):
    match = versions._VERSION.match(str(text or ""))  # pylint: disable=protected-access
    return tuple(int(g or 0) for g in match.groups()) if match else None


GATEWAY_KEEP_HINT = ("Keep the cluster's Gateway API CRDs with gloo_operator_gateway_api_install: false (Istio works with the installed "
                     "ones if their version is supported), align gloo_operator_gateway_api_version with them, or remove them first "
                     "if nothing else uses them.")


def check_gateway_api_crds(snapshots, options=None):
    """Gateway API CRDs of another channel or a newer version would be overwritten (downgraded) by the install."""
    findings = []
    wanted = option(options, "gateway_api") or {}
    install = wanted.get("install", True)
    version, channel = wanted.get("version") or "v1.2.1", wanted.get("channel") or "standard"
    for cluster, snap in snapshots.items():
        crds = dict((name, crd) for name, crd in (snap.get("crds") or {}).items() if name.endswith(".gateway.networking.k8s.io"))
        unreadable = [name for name, crd in crds.items() if crd.get("present") is None]
        present = dict((name, crd) for name, crd in crds.items() if crd.get("present"))
        if unreadable:
            findings.append(finding("gateway_api_crds", cluster, "warning", "could not read %s: not verified" % "; ".join(
                crds[n].get("error") for n in sorted(unreadable)), "Allow get on customresourcedefinitions to have this checked."))
            continue
        if not install:
            if present:
                findings.append(finding("gateway_api_crds", cluster, "ok", "installed (%s), left as they are (gloo_operator_gateway_api_install false)" % (
                    ", ".join(sorted(set("%s %s" % (c["annotations"].get("gateway.networking.k8s.io/bundle-version", "?"),
                                                    c["annotations"].get("gateway.networking.k8s.io/channel", "?")) for c in present.values()))))))
            else:
                findings.append(finding("gateway_api_crds", cluster, "error",
                                        "no Gateway API CRDs, and gloo_operator_gateway_api_install is false: istiod's peering needs them",
                                        "Install them (kubectl apply -f .../%s/standard-install.yaml) or set "
                                        "gloo_operator_gateway_api_install: true." % version))
            continue
        bad = issues = 0
        for name in sorted(present):
            crd = present[name]
            their_channel = crd["annotations"].get("gateway.networking.k8s.io/channel")
            their_version = crd["annotations"].get("gateway.networking.k8s.io/bundle-version")
            if their_channel and their_channel != channel:
                bad += 1
                findings.append(finding("gateway_api_crds", cluster, "error",
                                        "%s is from the %s channel (%s): the install applies the %s channel %s over it, dropping what the "
                                        "%s channel adds" % (name, their_channel, their_version or "version unknown", channel, version, their_channel),
                                        GATEWAY_KEEP_HINT))
            elif not their_version:
                issues += 1
                findings.append(finding("gateway_api_crds", cluster, "warning",
                                        "%s has no bundle-version annotation (not from an upstream release file): the install replaces it with %s %s" % (
                                            name, channel, version), GATEWAY_KEEP_HINT))
            elif _semver(their_version) and _semver(version) and _semver(their_version) > _semver(version):
                bad += 1
                findings.append(finding("gateway_api_crds", cluster, "error", "%s is %s, newer than %s: the install would downgrade it" % (
                    name, their_version, version), GATEWAY_KEEP_HINT))
            elif their_version != version:
                issues += 1
                findings.append(finding("gateway_api_crds", cluster, "warning", "%s is %s: the install upgrades it to %s (for every user of the "
                                        "Gateway API in this cluster)" % (name, their_version, version), GATEWAY_KEEP_HINT))
        if not bad and not issues:
            findings.append(finding("gateway_api_crds", cluster, "ok", "%s: the install applies %s %s" % (
                "already %s %s" % (version, channel) if present else "not installed yet", channel, version)))
    return findings


SPIRE_CRDS_HINT = ("Helm refuses to install the spire-crds release over CRDs another release owns (invalid ownership metadata). Install "
                   "into that release (spire_crds_release_name and spire_namespace), uninstall it, or, for CRDs applied without Helm, hand "
                   "them to the release: kubectl annotate crd <name> meta.helm.sh/release-name=<spire_crds_release_name> "
                   "meta.helm.sh/release-namespace=<spire_namespace>; kubectl label crd <name> app.kubernetes.io/managed-by=Helm.")
SPIRE_TD_HINT = ("Changing the trust domain of a running SPIRE server invalidates every SVID it issued and the federation of the mesh: "
                 "set mesh_trust_domain (or spire_trust_domain) to the server's trust domain, or uninstall that SPIRE first.")


def check_existing_spire(snapshots, options=None):
    """SPIRE CRDs owned by another Helm release (or by none), and a SPIRE server of another trust domain."""
    findings = []
    release = option(options, "spire_crds_release") or {"name": "spire-crds", "namespace": "spire-server"}
    for cluster, snap in snapshots.items():
        crds = dict((name, crd) for name, crd in (snap.get("crds") or {}).items() if name.endswith(".spire.spiffe.io"))
        bad = 0
        unverified = []
        for name in sorted(crds):
            crd = crds[name]
            if crd.get("present") is None:
                unverified.append(crd.get("error"))
                continue
            if not crd.get("present"):
                continue
            annotations = crd.get("annotations") or {}
            owner = (annotations.get("meta.helm.sh/release-namespace"), annotations.get("meta.helm.sh/release-name"))
            helm = (crd.get("labels") or {}).get("app.kubernetes.io/managed-by") == "Helm"
            if owner == (release["namespace"], release["name"]) and helm:
                continue
            bad += 1
            findings.append(finding("existing_spire", cluster, "error", "CRD %s belongs to %s, not to the release %s/%s" % (
                name, "Helm release %s/%s" % owner if owner[1] else "no Helm release (applied by another tool)", release["namespace"],
                release["name"]), SPIRE_CRDS_HINT))
        server = snap.get("spire_server") or {}
        expected = snap.get("expected_trust_domain")
        if server.get("present") is None and server.get("error"):
            unverified.append(server["error"])
        elif server.get("present") and expected and server.get("trust_domain") and server["trust_domain"] != expected:
            bad += 1
            findings.append(finding("existing_spire", cluster, "error", "the SPIRE server in %s serves trust domain %s; the install would change "
                                    "it to %s" % (_ns(snap, "spire"), server["trust_domain"], expected), SPIRE_TD_HINT))
        if unverified:
            findings.append(finding("existing_spire", cluster, "warning", "could not read %s: not verified" % "; ".join(unverified),
                                    "Allow get on customresourcedefinitions and on configmaps in the SPIRE namespace to have this checked."))
        elif not bad:
            present = [n for n in sorted(crds) if crds[n].get("present")]
            findings.append(finding("existing_spire", cluster, "ok", "%s" % (
                "SPIRE CRDs belong to the release %s/%s" % (release["namespace"], release["name"]) if present else "no SPIRE CRDs installed yet")))
    return findings


def _roots(pem, x509mod):
    try:
        return x509mod.load_pem_certificates(pem or "")
    except ValueError:
        return []


CA_HINT = ("istiod signs with cacerts and ztunnel trusts one root: replacing it with another root's material breaks every workload "
           "certificate issued so far. If you hold that root's key, bring it into the PKI (files: pki_root_ca_cert_path and "
           "pki_root_ca_key_path; inventory: pki_root_ca_cert and pki_root_ca_key); otherwise rotate deliberately (the intermediate "
           "rotation guide) or, when no workload depends on it, delete the Secret before installing.")


def check_existing_ca(snapshots, options=None):
    """An existing cacerts (istiod's plug-in CA) or SPIRE upstream CA under another root than the PKI's."""
    from ansible_collections.meshops.ambient_spire.plugins.module_utils import _x509
    findings = []
    pki_roots = _roots(option(options, "pki_root_pem", ""), _x509)
    pki_fps = set(_x509.sha256_fingerprint(c) for c in pki_roots)
    for cluster, snap in snapshots.items():
        bad = 0
        notes = []
        for key, keys in (("cacerts", ("root-cert.pem", "ca.crt")), ("spire_upstream_ca", ("bundle.crt",))):
            secret = snap.get(key) or {}
            where = "%s/%s" % (secret.get("namespace"), secret.get("name"))
            if secret.get("present") is None and secret.get("error"):
                findings.append(finding("existing_ca", cluster, "warning", "could not read %s: not verified" % secret["error"],
                                        "Allow get on secrets in that namespace (the install needs it anyway)."))
                bad += 1
                continue
            if not secret.get("present"):
                notes.append("no %s yet" % where)
                continue
            pem = next((secret.get("certificates", {}).get(k) for k in keys if secret.get("certificates", {}).get(k)), "")
            roots = _roots(pem, _x509)
            if not roots:
                findings.append(finding("existing_ca", cluster, "warning", "%s exists but holds no readable root certificate (%s): not verified" % (
                    where, "/".join(keys)), CA_HINT))
                bad += 1
                continue
            theirs = ", ".join("SHA256 %s (%s)" % (_x509.sha256_fingerprint(c)[:16], _x509.subject(c)) for c in roots)
            if not pki_fps:
                bad += 1
                findings.append(finding("existing_ca", cluster, "error", "%s exists under root %s, and the PKI has no root yet: the install "
                                        "would issue a new root and replace it" % (where, theirs), CA_HINT))
            elif not pki_fps & set(_x509.sha256_fingerprint(c) for c in roots):
                bad += 1
                findings.append(finding("existing_ca", cluster, "error", "%s is under root %s, not the PKI's root SHA256 %s" % (
                    where, theirs, ", ".join(sorted(fp[:16] for fp in pki_fps))), CA_HINT))
            else:
                notes.append("%s is under the PKI's root" % where)
        if not bad:
            findings.append(finding("existing_ca", cluster, "ok", "; ".join(notes)))
    return findings


# --- license ---------------------------------------------------------------------------------------------------------------

LICENSE_HINT = ("Set mesh_license_key (Ansible Vault: vault_gloo_mesh_license_key; environment: GLOO_MESH_LICENSE_KEY; AWX: the "
                "license credential) to a Gloo license valid for more than preflight_license_min_days days; renew it with Solo.")


def _now(options):
    now = option(options, "now")
    return now if now is not None else datetime.datetime.now(tz=datetime.timezone.utc)


def check_license(snapshots, options=None):
    """The license is set and, when its expiry can be read (a JWT's exp claim), not expiring within license_min_days."""
    info = option(options, "license") or {"set": False}
    min_days = int(option(options, "license_min_days", 30))
    if not info.get("set"):
        return [finding("license", None, "error", "no Gloo license key is set: the Gloo Operator and istiod refuse to run without one", LICENSE_HINT)]
    if info.get("format") != "jwt" or not info.get("expires"):
        return [finding("license", None, "warning",
                        "a license key is set (%d characters), but its expiry cannot be read: Solo does not publish the key format, and "
                        "this key is not a JSON Web Token with an exp claim. Not verified beyond being present; after the install, the "
                        "mesh check reads the license state from istiod" % info.get("length", 0), LICENSE_HINT)]
    expires = datetime.datetime.strptime(info["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    days = (expires - _now(options)).total_seconds() / 86400.0
    honest = "according to its exp claim (the key is a JSON Web Token; its signature is not verified, the key format is not public)"
    if days < 0:
        return [finding("license", None, "error", "the license key expired on %s, %s" % (expires.date().isoformat(), honest), LICENSE_HINT)]
    if days < min_days:
        return [finding("license", None, "error", "the license key expires on %s, in %d days (fewer than %d), %s" % (
            expires.date().isoformat(), int(days), min_days, honest), LICENSE_HINT)]
    return [finding("license", None, "ok", "the license key is valid until %s (%d days), %s" % (expires.date().isoformat(), int(days), honest))]
