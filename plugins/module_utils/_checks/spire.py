# -*- coding: utf-8 -*-
# Copyright: meshops platform engineering
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SPIRE checks: components (what the chart renders), upstream CA, delegates and trust domains, ClusterSPIFFEIDs. PRIVATE to the collection."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

from ansible_collections.meshops.ambient_spire.plugins.module_utils._checks._common import (
    REMOTE_CLASS,
    TRUST_DOMAIN_ANNOTATION,
    finding,
    gateway_ref,
    gateways_of_class,
    istio_namespace,
    mesh_trust_domain,
    option,
    peer_target_cluster,
)

UPSTREAM_HINT = ("The SPIRE upstream authority secret (tls.crt, tls.key, bundle.crt) must hold an intermediate issued by the shared root, "
                 "with its key, and the spire-server config must contain bundle_file_path: set "
                 "spire-server.upstreamAuthority.disk.secret.data.bundle=<root PEM> (any non-empty value) in the SPIRE Helm values "
                 "and check `kubectl get cm spire-server -n spire-server -o yaml`.")
TD_HINT = ("SPIRE trust domain (global.spire.trustDomain), mesh trust domain (ServiceMeshController trustDomain / meshConfig.trustDomain) and "
           "the gateway.istio.io/trust-domain annotation of the peers must be equal, and spire-agent.authorizedDelegates must be exactly "
           "[spiffe://<td>/ns/istio-system/sa/ztunnel]. Fix the Helm values / SMC and re-run the link step.")
CSID_HINT = ("The SPIRE controller manager reconciles a ClusterSPIFFEID only if spec.className equals its className (chart default "
             "<release-namespace>-<release-name>, e.g. spire-server-spire) or it is classless and watchClassless is true: set spec.className "
             "or spire-server.controllerManager.watchClassless=true; then `kubectl get clusterspiffeids -o yaml` must show status.stats.podsSelected > 0.")


COMPONENTS_HINT = ("Look at the SPIRE release: helm status spire -n <spire namespace>; kubectl get pods,daemonsets,pvc,jobs -n <spire namespace>; "
                   "kubectl describe daemonset spire-agent (Pod Security admission refusals show as FailedCreate events: the namespace "
                   "must allow privileged pods); kubectl logs statefulset/spire-server -c spire-server.")
CLAIM_HINT = ("spire-server keeps its datastore on this claim and cannot start until it is Bound: make a StorageClass default (kubectl annotate "
              "storageclass <name> storageclass.kubernetes.io/is-default-class=true), or set spire-server.persistence.storageClass (or "
              "type: emptyDir) in spire_extra_values; the preflight checks this before an install.")
HOOK_HINT = ("A Helm hook of the SPIRE chart failed (the post-install and post-upgrade hooks configure the controller manager's webhook): "
             "kubectl logs job/<name> -n <spire namespace>, fix the cause, then run the spire role again (helm upgrade reruns the hooks).")
SOCKET_HINT = ("The agent, the SPIFFE CSI driver and ztunnel meet on host paths. The Workload API socket directory is the directory of "
               "spire-agent.socketPath (a host path in the chart, /run/spire/agent-sockets by default) and must equal the directory of "
               "spiffe-csi-driver.agentSocketPath; ztunnel's spire.adminSockHostPath must equal <spire-agent.sockets.hostBasePath>/csi.spiffe.io/admin "
               "(spire_agent_socket_host_base_path) with spire-agent.sockets.admin.mountOnHost true.")
WEBHOOK_HINT = ("The SPIRE chart renders a ValidatingWebhookConfiguration for the controller manager; without it ClusterSPIFFEIDs are not "
                "validated. Run the spire role again (helm upgrade restores it).")


def _ready_count(pods):
    return sum(1 for p in pods if p.get("ready"))


def _not_ready(pods):
    return ", ".join("%s (%s)" % (p.get("name"), p.get("reason") or p.get("phase")) for p in pods if not p.get("ready"))


def check_spire_components(snapshots, options=None):
    """What the SPIRE chart renders is running: server (and its claim), agent and CSI driver on every node, OIDC discovery provider,
    the Helm hook Jobs done, the controller manager's webhook configuration, and the socket host paths shared with ztunnel."""
    findings = []
    for cluster, snap in snapshots.items():
        spire = snap.get("spire") or {}
        if "pods" not in spire:
            continue  # a snapshot of an older reader: nothing to say
        ns = spire.get("namespace") or "spire-server"
        pods = spire.get("pods") or {}
        bad = 0
        notes = []

        def error(message, hint=COMPONENTS_HINT):
            findings.append(finding("spire_components", cluster, "error", message, hint))

        server = pods.get("server") or []
        pending = [c for c in spire.get("claims") or [] if c.get("phase") != "Bound"]
        for claim in pending:
            bad += 1
            error("claim %s/%s is %s (StorageClass %s)" % (ns, claim.get("name"), claim.get("phase") or "not bound", claim.get("storage_class") or "none"),
                  CLAIM_HINT)
        if not server:
            bad += 1
            error("no spire-server pod in %s" % ns)
        elif _ready_count(server) < len(server):
            bad += 1
            error("spire-server not ready: %s" % _not_ready(server))
        else:
            notes.append("server %d/%d" % (_ready_count(server), len(server)))
        daemonsets = dict((d.get("app"), d) for d in spire.get("daemonsets") or [])
        for app, part, label in (("agent", "agent", "spire-agent"), ("spiffe-csi-driver", "csi_driver", "SPIFFE CSI driver")):
            ds = daemonsets.get(app)
            if ds is None:
                bad += 1
                error("no %s DaemonSet in %s" % (label, spire.get("agent_namespace") or ns))
            elif not ds.get("desired") or ds.get("ready", 0) < ds["desired"]:
                bad += 1
                detail = _not_ready(pods.get(part) or [])
                error("%s ready on %d of %d nodes%s" % (label, ds.get("ready", 0), ds.get("desired", 0), ": %s" % detail if detail else
                                                        (" (no pod: see its events)" if not pods.get(part) else "")))
            else:
                notes.append("%s %d/%d" % ("agent" if app == "agent" else "CSI driver", ds["ready"], ds["desired"]))
        oidc = pods.get("oidc") or []
        if oidc and _ready_count(oidc) < len(oidc):
            findings.append(finding("spire_components", cluster, "warning", "SPIFFE OIDC discovery provider not ready: %s" % _not_ready(oidc),
                                    COMPONENTS_HINT))
        elif oidc:
            notes.append("OIDC discovery provider %d/%d" % (_ready_count(oidc), len(oidc)))
        for job in spire.get("jobs") or []:
            if job.get("failed"):
                bad += 1
                error("%s Job %s/%s failed (%s%s)" % ("Helm %s hook" % job["hook"] if job.get("hook") else "the", ns, job.get("name"),
                                                      job.get("reason") or "Failed", ": %s" % job["message"] if job.get("message") else ""), HOOK_HINT)
        webhook = spire.get("webhook")
        if webhook and not webhook.get("present"):
            findings.append(finding("spire_components", cluster, "warning", "ValidatingWebhookConfiguration %s (of the controller manager's config) "
                                    "not found" % webhook.get("name"), WEBHOOK_HINT))
        paths = spire.get("host_paths") or {}
        agent_paths, csi_paths, ztunnel_paths = paths.get("agent") or {}, paths.get("csi_driver") or {}, paths.get("ztunnel") or {}
        socket_dir, csi_dir = agent_paths.get("spire-agent-socket-dir"), csi_paths.get("spire-agent-socket-dir")
        if socket_dir and csi_dir and socket_dir.rstrip("/") != csi_dir.rstrip("/"):
            bad += 1
            error("the SPIFFE CSI driver mounts the agent's Workload API socket directory from host path %s, the agent serves it at %s: "
                  "workloads get no SPIFFE socket" % (csi_dir, socket_dir), SOCKET_HINT)
        admin_dir, ztunnel_admin = agent_paths.get("spire-agent-admin-socket-dir"), ztunnel_paths.get("spire-admin-socket")
        if ztunnel_admin and (not admin_dir or admin_dir.rstrip("/") != ztunnel_admin.rstrip("/")):
            bad += 1
            error("ztunnel reads the SPIRE admin socket from host path %s, %s" % (
                ztunnel_admin, "the agent puts it at %s" % admin_dir if admin_dir else "the agent does not put it on the host (sockets.admin.mountOnHost)"),
                SOCKET_HINT)
        elif ztunnel_admin:
            notes.append("admin socket %s shared with ztunnel" % ztunnel_admin)
        if not bad:
            findings.append(finding("spire_components", cluster, "ok", "SPIRE running: %s" % ", ".join(notes)))
    return findings


def _pki():
    from ansible_collections.meshops.ambient_spire.plugins.module_utils import _x509, _cert_chain
    return _x509, _cert_chain


def _certs(pem, x509mod):
    if not pem:
        return []
    try:
        return x509mod.load_pem_certificates(pem)
    except ValueError:
        return []


def shared_root(snapshots, options, x509mod):
    """(fingerprint, pem) of the shared root: the configured root bundle, else the most common cacerts root."""
    configured = option(options, "root_ca_pem")
    if configured:
        certs = _certs(configured, x509mod)
        if certs:
            return x509mod.sha256_fingerprint(certs[-1]), configured
    counts = {}
    pems = {}
    for snap in snapshots.values():
        pem = (snap.get("cacerts") or {}).get("root_cert")
        certs = _certs(pem, x509mod)
        if certs:
            fp = x509mod.sha256_fingerprint(certs[0])
            counts[fp] = counts.get(fp, 0) + 1
            pems.setdefault(fp, pem)
    if not counts:
        return None, None
    best = max(counts, key=lambda k: counts[k])
    return best, pems[best]


def check_spire_upstream_ca(snapshots, options=None):
    """Check 9: the SPIRE upstream CA secret chains to the shared root, matches its key; server config has bundle_file_path."""
    x509mod, chain = _pki()
    now = option(options, "now")
    warning_days = option(options, "warning_days", 90)
    root_fp, root_pem = shared_root(snapshots, options, x509mod)
    findings = []
    for cluster, snap in snapshots.items():
        spire = snap.get("spire") or {}
        server = spire.get("server") or {}
        upstream = spire.get("upstream_ca") or {}
        bad = 0
        unverified = 0  # what could not be checked gets a warning and no ok line
        if not server.get("present"):
            bad += 1
            findings.append(finding("spire_upstream_ca", cluster, "error", "SPIRE server config (ConfigMap with server.conf) not found in namespace %s" % (
                spire.get("namespace") or "spire-server"), "Install SPIRE (spire role) before Istio."))
        elif not server.get("bundle_file_path"):
            bad += 1
            findings.append(finding("spire_upstream_ca", cluster, "error",
                                    "SPIRE bundle not configured: the spire-server UpstreamAuthority disk config has no bundle_file_path, "
                                    "bundle.crt is ignored",
                                    UPSTREAM_HINT))
        if not upstream.get("present"):
            bad += 1
            findings.append(finding("spire_upstream_ca", cluster, "error", "SPIRE upstream CA secret %s/%s not found" % (
                spire.get("namespace") or "spire-server", upstream.get("secret") or "spiffe-upstream-ca"), UPSTREAM_HINT))
        else:
            certs = _certs(upstream.get("certificate"), x509mod)
            if not certs:
                bad += 1
                findings.append(finding("spire_upstream_ca", cluster, "error", "SPIRE upstream CA tls.crt is missing or not a PEM certificate", UPSTREAM_HINT))
            elif root_pem is None:
                unverified += 1
                findings.append(finding("spire_upstream_ca", cluster, "warning",
                                        "no shared root known (no cacerts root, no root bundle given): the upstream CA chain and "
                                        "bundle.crt are not verified", UPSTREAM_HINT))
            else:
                chain_pem = upstream.get("certificate")
                if x509mod.sha256_fingerprint(certs[-1]) != root_fp:
                    chain_pem = chain_pem.rstrip("\n") + "\n" + root_pem
                result = chain.check_cluster_chain(cluster, root_pem, upstream.get("certificate"), chain_pem, key_pem=None, now=now,
                                                   warning_days=warning_days)
                for item in result or []:
                    if item.get("level") == "error":
                        bad += 1
                    if item.get("level") in ("warning", "error"):
                        findings.append(finding("spire_upstream_ca", cluster, item.get("level"), "SPIRE upstream CA: " + (item.get("message") or ""),
                                                item.get("hint") or UPSTREAM_HINT))
                bundle = _certs(upstream.get("bundle"), x509mod)
                bundle_fps = [x509mod.sha256_fingerprint(c) for c in bundle]
                if not bundle:
                    bad += 1
                    findings.append(finding("spire_upstream_ca", cluster, "error", "SPIRE upstream CA secret has no bundle.crt (the shared root)",
                                            UPSTREAM_HINT))
                elif root_fp not in bundle_fps:
                    bad += 1
                    findings.append(finding("spire_upstream_ca", cluster, "error", "SPIRE bundle.crt (SHA256 %s) is not the shared root (SHA256 %s)" % (
                        bundle_fps[0], root_fp), UPSTREAM_HINT))
            if upstream.get("key_matches") is False:
                bad += 1
                findings.append(finding("spire_upstream_ca", cluster, "error", "SPIRE upstream CA tls.key does not match tls.crt", UPSTREAM_HINT))
            elif upstream.get("key_matches") is None:
                unverified += 1
                findings.append(finding("spire_upstream_ca", cluster, "warning", "SPIRE upstream CA secret has no tls.key to compare", UPSTREAM_HINT))
        if not bad and not unverified:
            findings.append(finding("spire_upstream_ca", cluster, "ok",
                                    "SPIRE upstream CA chains to the shared root (SHA256 %s), key matches, bundle configured" % (root_fp or "")[:16]))
    return findings


def check_spire_trust_domain(snapshots, options=None):
    """Check 10: authorizedDelegates exactly the ztunnel SPIFFE ID; SPIRE td = mesh td = trust-domain annotation of the peers."""
    findings = []
    for cluster, snap in snapshots.items():
        spire = snap.get("spire") or {}
        bad = 0
        mesh_td = mesh_trust_domain(snap)
        if not mesh_td:
            bad += 1
            findings.append(finding("spire_trust_domain", cluster, "error", "mesh trust domain unknown: ConfigMap istio-gloo / istio not found in %s" % (
                istio_namespace(snap)), TD_HINT))
        tds = {}
        for part in ("server", "agent", "controller_manager"):
            value = (spire.get(part) or {}).get("trust_domain")
            if value:
                tds[part] = value
        spire_td = tds.get("server") or tds.get("agent")
        if not spire_td:
            bad += 1
            findings.append(finding("spire_trust_domain", cluster, "error", "SPIRE trust domain unknown (no spire-server / spire-agent config found)", TD_HINT))
        elif len(set(tds.values())) > 1:
            bad += 1
            findings.append(finding("spire_trust_domain", cluster, "error", "SPIRE components disagree on the trust domain: %s" % (
                ", ".join("%s=%s" % kv for kv in sorted(tds.items()))), TD_HINT))
        if spire_td and mesh_td and spire_td != mesh_td:
            bad += 1
            findings.append(finding("spire_trust_domain", cluster, "error", "SPIRE trust domain %s differs from the mesh trust domain %s" % (spire_td, mesh_td),
                                    TD_HINT))
        expected = (snap.get("expected") or {}).get("trust_domain")
        if expected and mesh_td and expected != mesh_td:
            bad += 1
            findings.append(finding("spire_trust_domain", cluster, "error", "mesh trust domain %s differs from the declared mesh_trust_domain %s" % (
                mesh_td, expected), TD_HINT))
        for other, osnap in snapshots.items():
            if other == cluster:
                continue
            for gw in gateways_of_class(osnap, REMOTE_CLASS):
                if peer_target_cluster(gw) != cluster:
                    continue
                annotation = (gw.get("annotations") or {}).get(TRUST_DOMAIN_ANNOTATION)
                if mesh_td and annotation != mesh_td:
                    bad += 1
                    findings.append(finding("spire_trust_domain", cluster, "error",
                                            "peer gateway %s in cluster %s uses trust domain %s for this cluster, expected %s" % (
                                                gateway_ref(gw), other, annotation or "(no annotation)", mesh_td), TD_HINT))
        agent = spire.get("agent") or {}
        if agent.get("present"):
            ztunnel_ns = istio_namespace(snap)
            for ds in snap.get("ztunnel_daemonsets") or []:
                ztunnel_ns = ds.get("namespace") or ztunnel_ns
                break
            wanted = ["spiffe://%s/ns/%s/sa/ztunnel" % (spire_td, ztunnel_ns)] if spire_td else None
            delegates = list(agent.get("authorized_delegates") or [])
            if wanted and delegates != wanted:
                bad += 1
                findings.append(finding("spire_trust_domain", cluster, "error", "spire-agent authorized_delegates is %s, expected exactly %s" % (
                    delegates or "[]", wanted), TD_HINT))
        if not bad:
            findings.append(finding("spire_trust_domain", cluster, "ok",
                                    "trust domain %s is consistent (SPIRE, mesh, peers) and authorizedDelegates is exact" % mesh_td))
    return findings


def _matches(selector, labels):
    """Whether a LabelSelector (matchLabels, matchExpressions In/NotIn/Exists/DoesNotExist) selects these labels; empty selects all."""
    selector = selector or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression.get("key"), expression.get("operator"), expression.get("values") or []
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and key in labels and labels[key] in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _selects_namespace(selector, namespace, labels):
    return _matches(selector, dict(labels or {}, **{"kubernetes.io/metadata.name": namespace}))


def _ambient_namespaces(snap, manager):
    """{namespace: labels} of the namespaces with running ambient pods that the controller manager does not ignore; None when the
    snapshot does not say where the ambient pods are (then every reconciled ID counts)."""
    import re
    where = (snap.get("ambient") or {}).get("pod_namespaces")
    if where is None:
        return None
    ignored = []
    for pattern in manager.get("ignore_namespaces") or []:
        try:
            ignored.append(re.compile("^(?:%s)$" % pattern))
        except re.error:
            continue
    namespaces = snap.get("namespaces") or {}
    return dict((ns, namespaces.get(ns) or {}) for ns in where if not any(p.match(ns) for p in ignored))


def check_cluster_spiffe_ids(snapshots, options=None):
    """Check 11: ClusterSPIFFEIDs reconciled by the controller manager; podsSelected > 0 where ambient pods exist."""
    findings = []
    for cluster, snap in snapshots.items():
        spire = snap.get("spire") or {}
        manager = spire.get("controller_manager") or {}
        ids = spire.get("cluster_spiffe_ids")
        bad = 0
        if ids is None:
            findings.append(finding("cluster_spiffe_ids", cluster, "error", "ClusterSPIFFEID CRD (spire.spiffe.io/v1alpha1) not installed", CSID_HINT))
            continue
        if not manager.get("present"):
            findings.append(finding("cluster_spiffe_ids", cluster, "error", "SPIRE controller manager config not found in namespace %s" % (
                spire.get("namespace") or "spire-server"), CSID_HINT))
            continue
        class_name = manager.get("class_name") or ""
        watch = bool(manager.get("watch_classless"))
        ambient_namespaces = _ambient_namespaces(snap, manager)
        selected = 0
        for item in ids:
            name = item.get("name")
            own = item.get("class_name") or ""
            if (own == "" and watch) or (own and own == class_name):
                stats = item.get("stats")
                if not stats:
                    findings.append(finding("cluster_spiffe_ids", cluster, "warning", "ClusterSPIFFEID %s has no status yet" % name, CSID_HINT))
                    continue
                pods = int(stats.get("podsSelected") or 0)
                # The chart's own IDs select SPIRE's pods (the OIDC provider, the test-keys job): their pods say nothing about
                # ambient workloads, so only IDs whose namespace selector reaches a namespace with ambient pods count.
                if ambient_namespaces is None or any(_selects_namespace(item.get("namespace_selector"), ns, labels)
                                                     for ns, labels in ambient_namespaces.items()):
                    selected += pods
                failures = int(stats.get("entryFailures") or 0) + int(stats.get("podEntryRenderFailures") or 0)
                if failures:
                    bad += 1
                    findings.append(finding("cluster_spiffe_ids", cluster, "error", "ClusterSPIFFEID %s reports %d entry failures" % (name, failures),
                                            CSID_HINT))
                else:
                    findings.append(finding("cluster_spiffe_ids", cluster, "info", "ClusterSPIFFEID %s reconciled (className %s): podsSelected %d" % (
                        name, own or '""', pods)))
            else:
                bad += 1
                findings.append(finding("cluster_spiffe_ids", cluster, "error",
                                        'ClusterSPIFFEID %s is ignored by the SPIRE controller manager: className "%s", '
                                        'controller className "%s", watchClassless %s' % (
                                            name, own, class_name, str(watch).lower()), CSID_HINT))
        ambient = int((snap.get("ambient") or {}).get("pods") or 0)
        if ambient and not selected:
            bad += 1
            findings.append(finding("cluster_spiffe_ids", cluster, "error",
                                    "%d ambient pods exist but no reconciled ClusterSPIFFEID selects any pod (podsSelected 0)" % ambient, CSID_HINT))
        if not ids:
            findings.append(finding("cluster_spiffe_ids", cluster, "warning", "no ClusterSPIFFEIDs found", CSID_HINT))
        elif not bad:
            findings.append(finding("cluster_spiffe_ids", cluster, "ok", "all ClusterSPIFFEIDs reconciled (className %s), %d pods selected" % (
                class_name or '""', selected)))
    return findings
