"""The continuous cross-cluster probe: every probe_interval, one simulated HBONE request for every ordered pair of
linked clusters (client -> server), decided by the trust model (trust.py) alone:

- outer HBONE to the server's east-west gateway: the gateway verifies each ready client ztunnel's chain with the roots it
  trusts (istiod's root-cert.pem, fact 9), and the client ztunnel verifies the gateway's chain with its roots;
- inner HBONE to the server's ztunnels: each side verifies the other's chain with its own roots (SPIRE's bundle, fact 8).

Every client ztunnel x every server ztunnel and gateway pod is checked: the request fails when one combination does
(the first failure is the reason, naming the pair, the side that refuses and the certificates). A pair is probed once
its istio-remote Gateway has been PeerConnected (so a mesh being set up counts nothing), for as long as the link exists."""

import time

from emulator.mesh import pki
from emulator.mesh.trust import iso


def _chain_text(chain):
    return " <- ".join(pki.describe(c) for c in chain)


class Probe:
    """Counters per ordered pair, and the request logic."""

    def __init__(self, model):
        self.model = model
        self.links = {}           # (client, server) -> {"namespace", "service", "connected"}
        self.ever = set()         # pairs that have been PeerConnected once
        self.pairs = {}
        self.last = 0.0
        self.since = time.time()
        self.ticks = 0
        self.cost = [0, 0.0, 0.0]     # ticks measured, total seconds, max seconds
        self._verified = {}

    def set_links(self, links):
        """The links the peering simulation found (after every mesh reconcile)."""
        self.links = links
        for pair, link in links.items():
            if link["connected"] and pair not in self.ever:
                self.ever.add(pair)
                self.pairs.setdefault(pair, self._empty())

    @staticmethod
    def _empty():
        return {"ok": 0, "failed": 0, "last_ok": None, "last_failure": None, "failing": False}

    def reset(self):
        """Zero every counter (the probed pairs stay probed)."""
        self.pairs = {pair: self._empty() for pair in self.pairs}
        self.since = time.time()
        self.ticks = 0
        self.cost = [0, 0.0, 0.0]
        return self.view()

    def due(self, now):
        """Whether the next round of requests is due."""
        settings = self.model.settings
        return settings["probe"] and now - self.last >= settings["probe_interval"]

    def tick(self, now=None):
        """One request per probed pair."""
        now = time.time() if now is None else now
        start = time.perf_counter()
        self.last = now
        self.ticks += 1
        roots = {}
        for pair in sorted(self.ever):
            if pair not in self.links:
                continue
            ok, reason = self.request(pair, now, roots)
            stats = self.pairs[pair]
            if ok:
                stats["ok"] += 1
                stats["last_ok"] = now
            else:
                stats["failed"] += 1
                stats["last_failure"] = {"time": now, "reason": reason}
            stats["failing"] = not ok
        spent = time.perf_counter() - start
        self.cost[0] += 1
        self.cost[1] += spent
        self.cost[2] = max(self.cost[2], spent)

    def _roots(self, ct, workload, cache):
        if workload.uid not in cache:
            found = self.model.trusted_roots(ct, workload)
            cache[workload.uid] = (found, frozenset(pki.fingerprint(r) for r in found))
        return cache[workload.uid]

    def _trusts(self, roots, workload, now):
        """Whether the workload's chain (issuer first) verifies against roots (memoized until a certificate involved expires)."""
        found, key = roots
        chain = workload.chain
        ckey = (workload.chain_key, key)
        hit = self._verified.get(ckey)
        if hit is not None and now < hit[1]:
            return hit[0]
        ok = bool(found) and pki.verify(chain[0], chain[1:], found)
        until = min([c.not_valid_after_utc.timestamp() for c in chain] + [r.not_valid_after_utc.timestamp() for r in found] or [now])
        if len(self._verified) > 20000:
            self._verified.clear()
        self._verified[ckey] = (ok, until)
        return ok

    def request(self, pair, now, cache):
        """(ok, reason) of one simulated request from pair[0] to pair[1]."""
        client, server = pair
        link = self.links[pair]
        cc, sc = self.model.clusters[client], self.model.clusters[server]
        head = "%s -> %s: " % (client, server)
        clients = [w for w in cc.workloads.values() if w.kind == "ztunnel" and w.ready]
        servers = [w for w in sc.workloads.values() if w.kind == "ztunnel" and w.ready]
        gateways = [w for w in sc.workloads.values() if w.kind == "gateway" and w.ready and w.namespace == link["namespace"]
                    and w.gateway == link["service"]]
        if not clients:
            return False, head + "no ready ztunnel in %s (client side)" % client
        if not gateways:
            return False, head + "no ready pod of the east-west gateway %s/%s in %s" % (link["namespace"], link["service"], server)
        if not servers:
            return False, head + "no ready ztunnel in %s (server side)" % server
        for peer in clients + gateways + servers:
            owner = client if peer in clients else server
            if peer.chain is None:
                return False, head + "%s %s/%s of %s has no certificate (%s)" % (peer.kind, peer.namespace, peer.name, owner, peer.error)
            if peer.expires <= now:
                return False, head + "the certificate of %s %s/%s of %s expired at %s" % (
                    peer.kind, peer.namespace, peer.name, owner, iso(peer.expires))
        for z in clients:
            z_roots = self._roots(cc, z, cache)
            for peer in gateways + servers:
                what = "east-west gateway pod" if peer.kind == "gateway" else "ztunnel"
                p_roots = self._roots(sc, peer, cache)
                if not self._trusts(p_roots, z, now):
                    return False, head + "server side rejects the client: %s %s/%s of %s does not trust the chain of ztunnel %s of %s (%s); " \
                        "it trusts %s" % (what, peer.namespace, peer.name, server, z.name, client, _chain_text(z.chain), _roots_text(p_roots[0]))
                if not self._trusts(z_roots, peer, now):
                    return False, head + "client rejects the server: ztunnel %s of %s does not trust the chain of %s %s/%s of %s (%s); " \
                        "it trusts %s" % (z.name, client, what, peer.namespace, peer.name, server, _chain_text(peer.chain), _roots_text(z_roots[0]))
        return True, None

    def view(self):
        """The probe section of `scripts/emulator status --json`."""
        pairs = {}
        for (client, server), stats in sorted(self.pairs.items()):
            last = stats["last_failure"]
            pairs["%s->%s" % (client, server)] = {
                "client": client, "server": server, "ok": stats["ok"], "failed": stats["failed"], "failing": stats["failing"],
                "linked": (client, server) in self.links, "last_ok": iso(stats["last_ok"]),
                "last_failure": {"time": iso(last["time"]), "reason": last["reason"]} if last else None}
        measured, total, worst = self.cost
        return {"enabled": self.model.settings["probe"], "interval": self.model.settings["probe_interval"], "since": iso(self.since),
                "ticks": self.ticks, "ok": sum(p["ok"] for p in pairs.values()), "failed": sum(p["failed"] for p in pairs.values()),
                "tick_cost_ms": {"mean": round(1000 * total / measured, 3) if measured else None, "max": round(1000 * worst, 3)},
                "pairs": pairs}


def _roots_text(roots):
    return "[%s]" % ", ".join(pki.describe(r) for r in roots) if roots else "no root"
