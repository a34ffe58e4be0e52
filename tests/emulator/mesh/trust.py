"""The trust model of the simulated mesh (CA rotation facts, see README.md "Trust model"): what every process of every
cluster holds and when it changes.

- The kubelet's Secret volumes lag behind the Secrets (``kubelet_sync``); a pod started after a change sees it at once.
- istiod (per pod): the CA and root bundle it loaded from ``cacerts`` at start, then its cacerts watcher (fact 1-4):
  a changed root-cert.pem is ignored without ISTIO_MULTIROOT_MESH=true, and with it accepted only when the old bundle
  contains the new one or the reverse; a ca-cert.pem that does not chain to root-cert.pem is refused (old CA kept).
  The oldest ready istiod writes its full root-cert.pem into the istio-ca-root-cert ConfigMaps.
- SPIRE (spire_ca.py): X.509 CA slots, the additive bundle, the rotator, the CLI.
- ztunnel and east-west gateway pods: the certificate chain they present and the roots they trust, fetched at start
  and again at half their lifetime (facts 5, 8, 9, 14).
Each inferred behaviour is a setting (SETTINGS), changeable at `scripts/emulator up --set` and by the admin API."""

import base64
import datetime
import time

from emulator.errors import ApiError
from emulator.mesh import istio, licensing, pki, spire_ca
from emulator.mesh.util import pod_ready

# name: (default, kind, meaning) -- kind: "number" (>= 0), "number?" (None: from the component's config), "bool", "auto-bool",
# or a tuple of choices
SETTINGS = {
    "kubelet_sync": (0.5, "number", "seconds until a changed Secret shows in mounted volumes (real kubelet: about 60 s)"),
    "istiod_debounce": (0.1, "number", "istiod's cacerts watcher debounce, seconds (real: 100 ms)"),
    "istiod_watch": (True, "bool", "fact 1: istiod watches a plugged-in cacerts (false: only a restart loads a change)"),
    "istiod_root_compare": ("auto", ("auto", "bytes", "pem"), "fact 2: how istiod compares root bundles under "
                            "ISTIO_MULTIROOT_MESH: byte containment (1.24-1.29), PEM-certificate subset (1.30+), auto by version"),
    "istio_cert_ttl": (86400.0, "number", "lifetime of istiod-issued workload certificates, seconds (SECRET_TTL, 24 h)"),
    "spire_ca_ttl": (None, "number?", "SPIRE X.509 CA lifetime, seconds (default: server.conf ca_ttl, 24 h)"),
    "spire_svid_ttl": (None, "number?", "X509-SVID lifetime = ztunnel certificate lifetime in SPIRE mode, seconds "
                       "(default: server.conf default_x509_svid_ttl, 1 h)"),
    "spire_rotation_check": (10.0, "number", "SPIRE's rotator period, seconds (prepare/activate thresholds)"),
    "spire_prune_interval": (21600.0, "number", "SPIRE's bundle pruning period, seconds (6 h)"),
    "spire_prune_grace": (86400.0, "number", "fact 12: roots leave SPIRE's bundle once expired for longer than this, seconds (24 h)"),
    "ztunnel_multi_root": ("auto", "auto-bool", "fact 6: ztunnel accepts several roots (auto: from 1.24.6, 1.25.3, 1.26.0; "
                           "false: only the root its own chain ends in)"),
    "ztunnel_roots_at_fetch": (True, "bool", "facts 5/8 (inferred): ztunnel reads the roots when it fetches its certificate "
                               "(false: it follows SPIRE's bundle at once)"),
    "gateway_trust": ("istiod", ("istiod", "spire"), "fact 9 (inferred): east-west gateways verify peers with istiod's "
                      "root-cert.pem, or with SPIRE's bundle"),
    "gateway_cert_source": ("auto", ("auto", "istiod", "spire"), "fact 9: the east-west gateway certificate comes from SPIRE when "
                            "istiod has SPIRE_WORKLOADS=true (gateways.spire.workloads), else from istiod"),
    "probe": (True, "bool", "run the cross-cluster probe"),
    "probe_interval": (0.2, "number", "seconds between probe requests of every linked pair"),
    "crashloop_backoff": (2.0, "number", "seconds between restarts of a crash-looping pod (broken_version fault)"),
}
TICK = 0.05
MIN_PROBE_INTERVAL = 0.05


def validate_settings(body, partial=True):
    """Normalised {name: value} (ApiError 400 naming the setting otherwise); None resets a setting to its default."""
    if not isinstance(body, dict):
        raise ApiError(400, "settings must be a JSON object; known: %s" % ", ".join(sorted(SETTINGS)))
    unknown = sorted(set(body) - set(SETTINGS))
    if unknown:
        raise ApiError(400, "unknown mesh setting(s) %s; known: %s" % (", ".join(unknown), ", ".join(sorted(SETTINGS))))
    out = {} if partial else {k: v[0] for k, v in SETTINGS.items()}
    for key, value in body.items():
        default, kind, _meaning = SETTINGS[key]
        if value is None:
            out[key] = default
            continue
        if isinstance(kind, tuple):
            if value not in kind:
                raise ApiError(400, "mesh setting %s must be one of %s, not %r" % (key, ", ".join(kind), value))
        elif kind == "bool":
            if not isinstance(value, bool):
                raise ApiError(400, "mesh setting %s must be true or false, not %r" % (key, value))
        elif kind == "auto-bool":
            if not isinstance(value, bool) and value != "auto":
                raise ApiError(400, "mesh setting %s must be auto, true or false, not %r" % (key, value))
        elif isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ApiError(400, "mesh setting %s must be a number of seconds >= 0, not %r" % (key, value))
        elif key == "probe_interval" and value < MIN_PROBE_INTERVAL:
            raise ApiError(400, "mesh setting probe_interval must be at least %s seconds" % MIN_PROBE_INTERVAL)
        out[key] = float(value) if isinstance(kind, str) and kind.startswith("number") else value
    return out


def iso(epoch):
    """ISO 8601 UTC of an epoch (None stays None)."""
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")[:-4] + "Z"


def _describe(certs):
    return ", ".join(pki.describe(c) for c in certs) or "nothing"


def _decode(secret):
    if secret is None:
        return None
    out = {}
    for key, value in (secret.get("data") or {}).items():
        try:
            out[key] = base64.b64decode(value or "")
        except ValueError:
            out[key] = b""
    return out


class Timeline:
    """What one Secret held over time, for the kubelet's delayed view of it."""

    def __init__(self, data):
        self.entries = [(float("-inf"), data)]

    def record(self, when, data):
        """A committed change (no entry when the content is the same)."""
        if data == self.entries[-1][1]:
            return False
        self.entries = (self.entries + [(when, data)])[-16:]
        return True

    def view(self, started, now, lag):
        """(change time, data) a pod started at `started` sees now: the newest change the kubelet synced, or any change
        made before the pod started (it mounted the content of its start)."""
        for when, data in reversed(self.entries):
            if when + lag <= now or when <= started:
                return when, data
        return self.entries[0]

    def changed(self):
        """Epoch of the last change (None if never changed since tracked)."""
        when = self.entries[-1][0]
        return None if when == float("-inf") else when


def cacerts_files(data):
    """(root-cert bytes, ca-cert, ca-key, cert-chain) of a cacerts Secret view (plugged layout, or the TLS layout)."""
    if "ca-cert.pem" in data or "root-cert.pem" in data:
        return data.get("root-cert.pem", b""), data.get("ca-cert.pem", b""), data.get("ca-key.pem", b""), data.get("cert-chain.pem", b"")
    return data.get("ca.crt", b""), data.get("tls.crt", b""), data.get("tls.key", b""), data.get("tls.crt", b"")


def _contains(old, new, mode):
    if mode == "pem":
        a, b = {pki.fingerprint(c) for c in pki.load_certs(old)}, {pki.fingerprint(c) for c in pki.load_certs(new)}
        return bool(a and b) and (a <= b or b <= a)
    return old in new or new in old


class IstiodProc:
    """One istiod pod: the CA it signs with and the root bundle it distributes."""

    def __init__(self, pod, now):
        meta = pod["metadata"]
        self.uid, self.name, self.namespace = meta["uid"], meta["name"], meta["namespace"]
        self.started = now
        container = next((c for c in pod["spec"].get("containers") or [] if c.get("name") == "discovery"), {})
        env = istio.env_of(container)
        self.multiroot = str(env.get("ISTIO_MULTIROOT_MESH", "")).lower() == "true"
        self.spire_workloads = env.get("SPIRE_WORKLOADS") == "true"
        image = container.get("image") or ""
        self.version = licensing.version_tuple(image.rsplit(":", 1)[-1]) if ":" in image else None
        self.secret = "cacerts"
        for volume in pod["spec"].get("volumes") or []:
            if volume.get("name") == "cacerts" and "secret" in volume:
                self.secret = volume["secret"].get("secretName") or "cacerts"
        self.ready = pod_ready(pod)
        self.root_pem, self.roots, self.ca, self.chain, self.plugged = b"", [], None, [], False
        self.seen = None          # the Secret change time currently visible to this pod
        self.pending = None       # when the watcher saw a change (debounce)
        self.events = []

    def log(self, now, level, message):
        """istiod's log lines about cacerts (kept for the status page)."""
        self.events = (self.events + [{"time": iso(now), "level": level, "message": message}])[-12:]

    def load(self, data, cluster, now):
        """At start: the mounted cacerts, or a self-signed CA (istio-ca-secret) when none is plugged."""
        if data and any(k in data for k in ("ca-cert.pem", "root-cert.pem", "tls.crt")):
            root, ca, _key, chain = cacerts_files(data)
            self.root_pem, self.roots = root, pki.load_certs(root)
            cas = pki.load_certs(ca)
            self.ca, self.chain, self.plugged = (cas[0] if cas else None), pki.load_certs(chain), True
            self.log(now, "info", "Use plugged-in cert at etc/cacerts/ca-key.pem")
        else:
            cert, _key = istio.self_signed_ca(cluster, self.namespace)
            self.root_pem, self.roots, self.ca, self.chain, self.plugged = pki.pem(cert).encode(), [cert], cert, [], False
            self.log(now, "info", "Use self-signed certificate as the CA certificate")

    def compare_mode(self, setting):
        """Byte containment (1.24-1.29) or PEM subset (1.30+)."""
        if setting != "auto":
            return setting
        return "pem" if self.version and self.version >= (1, 30) else "bytes"

    def handle_event(self, data, now, setting):
        """istiod's handleEvent on a cacerts change; True when the CA or the roots changed."""
        self.log(now, "info", "Update Istiod cacerts")
        if data is None or not any(k in data for k in ("root-cert.pem", "ca.crt")):
            self.log(now, "error", "failed reading root-cert.pem: open etc/cacerts/root-cert.pem: no such file or directory")
            return False
        root, ca, key, chain = cacerts_files(data)
        if root != self.root_pem:
            if not self.multiroot:
                self.log(now, "warn", "Multi root is disabled, updating new ROOT-CA not supported")
                return False
            if not _contains(self.root_pem, root, self.compare_mode(setting)):
                self.log(now, "warn", "Updating new ROOT-CA not supported")
                return False
            self.log(now, "info", "Updating new ROOT-CA")
        roots, cas, chain_certs, private = pki.load_certs(root), pki.load_certs(ca), pki.load_certs(chain), pki.load_key(key)
        if not cas or private is None or not pki.key_matches(cas[0], private):
            self.log(now, "error", "Failed to update new Plug-in CA certs: the private key does not match the CA certificate")
            return False
        if not roots or not pki.verify(cas[0], chain_certs, roots):
            self.log(now, "error", "Failed to update new Plug-in CA certs: cannot verify the cert with the provided root chain and "
                                   "cert pool with error: x509: certificate signed by unknown authority")
            return False
        changed = (root != self.root_pem) or cas[0] != self.ca
        self.root_pem, self.roots, self.ca, self.chain, self.plugged = root, roots, cas[0], chain_certs, True
        if changed:
            self.log(now, "info", "Istiod CA updated: issuing with %s, roots %s (istio-ca-root-cert ConfigMaps rewritten)" % (
                pki.describe(self.ca), _describe(self.roots)))
        return changed

    @property
    def issuing_chain(self):
        """The chain above istiod-issued leaves: the CA, then cert-chain.pem's other certificates."""
        if self.ca is None:
            return []
        return [self.ca] + [c for c in self.chain if c != self.ca]

    def info(self):
        """Status page view."""
        return {"pod": self.name, "ready": self.ready, "started": iso(self.started), "multiroot": self.multiroot, "plugged": self.plugged,
                "root_cert_pem": [spire_ca.cert_info(c) for c in self.roots],
                "issuing_chain": [spire_ca.cert_info(c) for c in self.issuing_chain], "events": self.events}


class Workload:
    """A ztunnel or east-west gateway pod: the chain it presents and the roots it trusts."""

    def __init__(self, kind, pod, now):
        meta = pod["metadata"]
        self.kind, self.uid, self.name, self.namespace = kind, meta["uid"], meta["name"], meta["namespace"]
        self.node = pod["spec"].get("nodeName")
        self.started = now
        self.ready = pod_ready(pod)
        container = (pod["spec"].get("containers") or [{}])[0]
        env = istio.env_of(container)
        self.spire_env = env.get("SPIRE_ENABLED") == "true"
        image = container.get("image") or ""
        self.version = (image.rsplit(":", 1)[-1] if ":" in image else "").replace("-solo", "")
        self.gateway = (meta.get("labels") or {}).get("gateway.networking.k8s.io/gateway-name")
        self.source = None
        self.chain, self.expires, self.fetched, self.refresh_at = None, None, None, None
        self.chain_key = ()
        self.spire_roots, self.istiod_roots = [], []
        self.error = None

    def multi_root(self, setting):
        """fact 6: several roots in ztunnel's store from 1.24.6 / 1.25.3 / 1.26.0."""
        if setting != "auto":
            return setting
        if self.kind != "ztunnel":
            return True
        parts = [int(p) for p in self.version.split("-")[0].split(".")[:3] if p.isdigit()]
        if len(parts) < 3:
            return True
        return tuple(parts) >= (1, 26, 0) or (1, 25, 3) <= tuple(parts) < (1, 26, 0) or (1, 24, 6) <= tuple(parts) < (1, 25, 0)

    def info(self, roots):
        """Status page view."""
        return {"pod": self.name, "namespace": self.namespace, "node": self.node, "ready": self.ready, "source": self.source,
                "issuer": spire_ca.cert_info(self.chain[0]) if self.chain else None,
                "chain": [spire_ca.cert_info(c) for c in self.chain or []], "trusted_roots": [spire_ca.cert_info(c) for c in roots],
                "fetched": iso(self.fetched), "refresh": iso(self.refresh_at), "expires": iso(self.expires), "error": self.error}


class ClusterTrust:
    """Everything the model holds for one cluster."""

    def __init__(self, name):
        self.name = name
        self.timelines = {}       # (namespace, secret) -> Timeline
        self.istiod = {}          # pod uid -> IstiodProc
        self.spire = {}           # namespace -> spire_ca.SpireServer
        self.spire_pods = {}      # namespace -> {uid: (pod name, ready, started)}
        self.workloads = {}       # pod uid -> Workload

    def istiod_leader(self):
        """The istiod that writes the ConfigMaps and answers CSRs: the oldest ready one (else the oldest)."""
        procs = sorted(self.istiod.values(), key=lambda p: p.started)
        ready = [p for p in procs if p.ready]
        return (ready or procs or [None])[0]

    def spire_server(self):
        """A serving SPIRE server (ztunnel reaches it through its node's agent)."""
        return next((s for s in self.spire.values() if s.serving), None)


class TrustModel:
    """The trust state of every cluster of one emulator process, and the settings that shape it."""

    def __init__(self, emulator, options=None):
        self.emulator = emulator
        self.settings = validate_settings({}, partial=False)
        try:
            self.settings.update(validate_settings(dict(options or {})))
        except ApiError as exc:
            raise ValueError("emulator --set: %s" % exc.message) from exc
        self.clusters = {name: ClusterTrust(name) for name in emulator.clusters}
        self.last_tick = 0.0

    def set(self, body):
        """Merge settings (admin API)."""
        self.settings.update(validate_settings(body))
        for ct in self.clusters.values():
            for server in ct.spire.values():
                server.last_rotation_check = 0.0
        return self.settings

    # ---- Secrets as the kubelet shows them ------------------------------------------------------------------------
    def timeline(self, cluster, namespace, name):
        """The tracked history of a Secret (tracking starts with its current content)."""
        ct = self.clusters[cluster.name]
        key = (namespace, name)
        if key not in ct.timelines:
            ct.timelines[key] = Timeline(_decode(cluster.get("v1", "Secret", name, namespace)))
        return ct.timelines[key]

    def on_secret(self, cluster, event):
        """Record a change of a tracked Secret (write hook)."""
        ct = self.clusters.get(cluster.name)
        key = (event.namespace, event.name)
        if ct is None or key not in ct.timelines:
            return
        current = None if event.type == "DELETED" else _decode(cluster.get("v1", "Secret", event.name, event.namespace))
        ct.timelines[key].record(time.time(), current)

    def mounted(self, cluster, namespace, name, started, now):
        """(change time, data) of a Secret volume for a pod started at `started`."""
        return self.timeline(cluster, namespace, name).view(started, now, self.settings["kubelet_sync"])

    # ---- pods ----------------------------------------------------------------------------------------------------
    @staticmethod
    def kind_of(pod):
        """istiod / ztunnel (simulated) / gateway (istio-eastwest) / None."""
        meta = pod["metadata"]
        labels = meta.get("labels") or {}
        if labels.get("gateway.networking.k8s.io/gateway-class-name") == "istio-eastwest":
            return "gateway"
        if (meta.get("annotations") or {}).get(istio.SIMULATED) == "true" and labels.get("app") in ("istiod", "ztunnel"):
            return labels["app"]
        return None

    def on_pod(self, cluster, pod, deleted=False):
        """Track istiod, ztunnel and east-west gateway pods (write hook and reconcile); True if the set changed."""
        kind = self.kind_of(pod)
        ct = self.clusters.get(cluster.name)
        if kind is None or ct is None:
            return False
        uid = pod["metadata"].get("uid")
        running = not deleted and (pod.get("status") or {}).get("phase") == "Running"
        table = ct.istiod if kind == "istiod" else ct.workloads
        if not running:
            return table.pop(uid, None) is not None
        now = time.time()
        if uid in table:
            table[uid].ready = pod_ready(pod)
            return False
        if kind == "istiod":
            proc = IstiodProc(pod, now)
            when, data = self.mounted(cluster, proc.namespace, proc.secret, now, now)
            proc.seen = when
            proc.load(data, cluster, now)
            ct.istiod[uid] = proc
        else:
            ct.workloads[uid] = Workload(kind, pod, now)
            self._fetch(ct, ct.workloads[uid], now)
        return True

    def sync(self, cluster, pods):
        """Reconcile the tracked pods with the current ones (coalesced reconcile)."""
        ct = self.clusters.get(cluster.name)
        if ct is None:
            return
        alive = set()
        for pod in pods:
            if self.kind_of(pod):
                self.on_pod(cluster, pod)
                alive.add(pod["metadata"]["uid"])
        for table in (ct.istiod, ct.workloads):
            for uid in [u for u in table if u not in alive]:
                del table[uid]

    # ---- SPIRE ---------------------------------------------------------------------------------------------------
    def spire_files(self, cluster, server, started, now):
        """(tls.crt, tls.key, bundle.crt or None) of the server's upstream Secret volume as its pod sees it now."""
        pod_name = next(iter(self.clusters[cluster.name].spire_pods.get(server.namespace, {}).values()), (None,))[0]
        pod = cluster.get("v1", "Pod", pod_name, server.namespace) if pod_name else None
        if pod is None or server.paths is None:
            return b"", b"", None
        container = spire_ca.container(pod, "spire-server")
        out = []
        for path in (server.paths["cert"], server.paths["key"], server.paths["bundle"]):
            if path is None:
                out.append(None)
                continue
            secret, key = spire_ca.mounted_secret(pod, container, path)
            data = self.mounted(cluster, server.namespace, secret, started, now)[1] if secret else None
            out.append((data or {}).get(key, b""))
        return tuple(out)

    def spire_server_pod(self, cluster, pod, ready, conf):
        """A spire-server pod reconciled (spire.py): start, restart or stop serving; the bundle to publish (or None)."""
        ct = self.clusters.get(cluster.name)
        if ct is None or not conf:
            return None
        ns, uid, now = pod["metadata"]["namespace"], pod["metadata"]["uid"], time.time()
        trust_domain, paths, ca_ttl, svid_ttl, data_dir = spire_ca.server_settings(conf)
        pods = ct.spire_pods.setdefault(ns, {})
        server = ct.spire.get(ns)
        container = spire_ca.container(pod, "spire-server")
        if server is None or server.trust_domain != trust_domain:
            server = ct.spire[ns] = spire_ca.SpireServer(ns, trust_domain, paths, ca_ttl, svid_ttl,
                                                         spire_ca.data_volume_persistent(pod, container, data_dir))
        server.paths = paths
        server.ca_ttl = self.settings["spire_ca_ttl"] or ca_ttl
        server.svid_ttl = self.settings["spire_svid_ttl"] or svid_ttl
        known = uid in pods
        started = pods[uid][2] if known else now
        pods[uid] = (pod["metadata"]["name"], ready, started)
        for other in [u for u in pods if u != uid]:
            current = cluster.get("v1", "Pod", pods[other][0], ns)
            if current is None or current["metadata"].get("uid") != other:
                del pods[other]
        restarted = not known and not any(p[1] for u, p in pods.items() if u != uid)
        if ready and (restarted or server.current is None):
            try:
                server.start(self.spire_files(cluster, server, started, now), now, uid)
            except spire_ca.MintError:
                server.serving = False
                return None
        server.serving = any(p[1] for p in pods.values()) and server.current is not None
        return server.roots() if server.serving else None

    def spire_exec(self, cluster, pod, container, command):
        """`spire-server ...` in a spire-server container: (exit code, stdout, stderr), or None if not SPIRE's CLI."""
        if container != "spire-server" or not command or command[0].rsplit("/", 1)[-1] != "spire-server":
            return None
        ct = self.clusters.get(cluster.name)
        server = ct.spire.get(pod["metadata"]["namespace"]) if ct else None
        if server is None or server.pod_uid is None:
            return 1, "", ('Error: connection error: desc = "transport: error while dialing: dial unix %s: connect: no such file or '
                           'directory"\n' % spire_ca.DEFAULT_SOCKET)
        now = time.time()
        started = ct.spire_pods.get(server.namespace, {}).get(pod["metadata"]["uid"], (None, None, now))[2]
        return server.cli(command, self.spire_files(cluster, server, started, now), now)

    # ---- workloads -----------------------------------------------------------------------------------------------
    def _source(self, ct, workload):
        if workload.kind == "ztunnel":
            return "spire" if workload.spire_env else "istiod"
        setting = self.settings["gateway_cert_source"]
        if setting != "auto":
            return setting
        leader = ct.istiod_leader()
        return "spire" if leader is not None and leader.spire_workloads else "istiod"

    def _fetch(self, ct, workload, now):
        """The workload (re)fetches its certificate (and, with it, its roots)."""
        source = self._source(ct, workload)
        server, leader = ct.spire_server(), ct.istiod_leader()
        if source == "spire":
            svid = server.svid(now) if server else None
            if svid is None:
                workload.error = "no SPIRE server serving in %s" % ct.name
                return False
            chain, expires = svid
        else:
            if leader is None or leader.ca is None:
                workload.error = "no istiod CA in %s" % ct.name
                return False
            chain = leader.issuing_chain
            expires = min(now + self.settings["istio_cert_ttl"], leader.ca.not_valid_after_utc.timestamp())
        workload.source, workload.chain, workload.expires, workload.fetched = source, chain, expires, now
        workload.chain_key = tuple(pki.fingerprint(c) for c in chain)
        workload.refresh_at = now + max(0.05, (expires - now) / 2)
        workload.spire_roots = server.roots() if server else []
        workload.istiod_roots = list(leader.roots) if leader else []
        workload.error = None
        return True

    def trusted_roots(self, ct, workload):
        """The roots a workload verifies its peers with, now."""
        if workload.kind == "ztunnel":
            if workload.spire_env:
                server = ct.spire_server()
                roots = workload.spire_roots if self.settings["ztunnel_roots_at_fetch"] or server is None else server.roots()
            else:
                leader = ct.istiod_leader()
                roots = workload.istiod_roots if self.settings["ztunnel_roots_at_fetch"] or leader is None else leader.roots
            if not workload.multi_root(self.settings["ztunnel_multi_root"]) and workload.chain:
                own = [r for r in roots if pki.verify(workload.chain[0], workload.chain[1:], [r])]
                roots = own[:1]
            return roots
        if self.settings["gateway_trust"] == "spire":
            server = ct.spire_server()
            return workload.spire_roots if self.settings["ztunnel_roots_at_fetch"] or server is None else server.roots()
        leader = ct.istiod_leader()
        if leader is not None and leader.multiroot:
            return leader.roots   # PCDS pushes the multi-root bundle to the proxies (fact 4)
        return workload.istiod_roots

    # ---- time ----------------------------------------------------------------------------------------------------
    def tick(self, now=None):
        """Advance every timer (watchers, SPIRE's rotator and pruning, certificate refreshes); True if objects must be
        rewritten (ConfigMaps, bundles)."""
        now = time.time() if now is None else now
        changed = False
        settings = self.settings
        for name, ct in self.clusters.items():
            cluster = self.emulator.clusters[name]
            if settings["istiod_watch"]:
                for proc in ct.istiod.values():
                    if not proc.plugged:
                        continue
                    when, data = self.mounted(cluster, proc.namespace, proc.secret, proc.started, now)
                    if when != proc.seen:
                        proc.seen, proc.pending = when, now
                    if proc.pending is not None and now >= proc.pending + settings["istiod_debounce"]:
                        proc.pending = None
                        data = self.mounted(cluster, proc.namespace, proc.secret, proc.started, now)[1]
                        changed = proc.handle_event(data, now, settings["istiod_root_compare"]) or changed
            for server in ct.spire.values():
                if not server.serving:
                    continue
                if now - server.last_rotation_check >= settings["spire_rotation_check"]:
                    server.last_rotation_check = now
                    started = min((p[2] for p in ct.spire_pods.get(server.namespace, {}).values()), default=now)
                    changed = server.rotation_check(self.spire_files(cluster, server, started, now), now) or changed
                if now - server.last_prune >= settings["spire_prune_interval"]:
                    server.last_prune = now
                    changed = server.prune(now, settings["spire_prune_grace"]) or changed
            for workload in ct.workloads.values():
                if workload.chain is None or now >= workload.refresh_at:
                    self._fetch(ct, workload, now)
        self.last_tick = now
        return changed

    # ---- what other parts read -------------------------------------------------------------------------------------
    def istiod_root_pem(self, cluster):
        """The root-cert.pem istiod writes into the istio-ca-root-cert ConfigMaps (None while no istiod runs)."""
        ct = self.clusters.get(cluster.name)
        leader = ct.istiod_leader() if ct else None
        return leader.root_pem.decode() if leader is not None and leader.roots else None

    def istiod_view(self, cluster):
        """(roots, issuing chain) of the leading istiod, or None."""
        ct = self.clusters.get(cluster.name)
        leader = ct.istiod_leader() if ct else None
        if leader is None or leader.ca is None:
            return None
        return leader.roots, leader.issuing_chain

    def status(self, cluster):
        """The /_emulator/mesh/status "trust" section of one cluster."""
        ct = self.clusters[cluster.name]
        leader = ct.istiod_leader()
        now = time.time()
        secrets = {}
        for (ns, name), line in sorted(ct.timelines.items()):
            changed = line.changed()
            secrets["%s/%s" % (ns, name)] = {"changed": iso(changed), "mounted_from": iso(changed + self.settings["kubelet_sync"])
                                             if changed else None, "synced": changed is None or changed + self.settings["kubelet_sync"] <= now}
        return {
            "istiod": {"leader": leader.name if leader else None,
                       "root_cert_pem": [spire_ca.cert_info(c) for c in leader.roots] if leader else [],
                       "issuing_chain": [spire_ca.cert_info(c) for c in leader.issuing_chain] if leader else [],
                       "multiroot": leader.multiroot if leader else None,
                       "pods": {p.name: p.info() for p in sorted(ct.istiod.values(), key=lambda p: p.started)}},
            "spire": {ns: s.info() for ns, s in sorted(ct.spire.items())},
            "ztunnel": {w.name: w.info(self.trusted_roots(ct, w)) for w in sorted(ct.workloads.values(), key=lambda w: w.name)
                        if w.kind == "ztunnel"},
            "gateways": {w.name: w.info(self.trusted_roots(ct, w)) for w in sorted(ct.workloads.values(), key=lambda w: w.name)
                         if w.kind == "gateway"},
            "secrets": secrets,
        }
