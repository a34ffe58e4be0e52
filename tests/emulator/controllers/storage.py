"""Storage: PersistentVolumeClaims bind like the PV controller and a dynamic provisioner make them bind.

- A claim of a StorageClass that exists is provisioned a PersistentVolume pvc-<claim uid> (capacity = request) and both
  turn Bound; a WaitForFirstConsumer class waits until the scheduler picked a node for a Pod using the claim
  (annotation volume.kubernetes.io/selected-node).
- A claim without class (no default StorageClass when it was created) binds only to an Available PersistentVolume
  without class; else it stays Pending with the Event "no persistent volumes available for this claim and no storage
  class is set". A claim of a missing class stays Pending with 'storageclass.storage.k8s.io "<name>" not found'.
- A new default StorageClass is given retroactively to Pending claims without class (Kubernetes >= 1.28).
- Deleting a bound claim deletes its volume (reclaimPolicy Delete) or marks it Released (Retain).
Pods waiting for their claims are scheduled once they are bound (builtin.pod_status).
"""

from emulator import events
from emulator.admission import default_storage_class
from emulator.controllers.builtin import SELECTED_NODE, _annotations, _claims, _quietly, pod_status

BOUND_BY = {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"}


def _size(pvc):
    return (((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage") or "1Gi"


def _quantity(text):
    """Bytes of a resource quantity (Ki Mi Gi Ti and k M G T suffixes), for matching claims to volumes."""
    text = str(text)
    for suffix, factor in (("Ki", 2 ** 10), ("Mi", 2 ** 20), ("Gi", 2 ** 30), ("Ti", 2 ** 40), ("k", 10 ** 3), ("M", 10 ** 6),
                           ("G", 10 ** 9), ("T", 10 ** 12)):
        if text.endswith(suffix):
            return float(text[:-len(suffix)]) * factor
    try:
        return float(text)
    except ValueError:
        return 0.0


def _bind(cluster, pvc, pv, provisioner=None):
    ns, name = pvc["metadata"]["namespace"], pvc["metadata"]["name"]
    pv_name = pv["metadata"]["name"]
    if not (pv.get("spec") or {}).get("claimRef"):
        pv = _quietly(cluster.patch, "v1", "PersistentVolume", pv_name, {"spec": {"claimRef": {
            "kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": ns, "name": name, "uid": pvc["metadata"]["uid"],
            "resourceVersion": pvc["metadata"]["resourceVersion"]}}})
        if pv is None:
            return
    _quietly(cluster.update_status, dict(pv, status={"phase": "Bound"}))
    annotations = dict(BOUND_BY)
    if provisioner:
        annotations.update({"volume.beta.kubernetes.io/storage-provisioner": provisioner, "volume.kubernetes.io/storage-provisioner": provisioner})
    patch = {"metadata": {"annotations": annotations}, "spec": {"volumeName": pv_name}}
    pvc = _quietly(cluster.patch, "v1", "PersistentVolumeClaim", name, patch, ns)
    if pvc is None:
        return
    _quietly(cluster.update_status, dict(pvc, status={"phase": "Bound", "accessModes": (pv.get("spec") or {}).get("accessModes") or [],
                                                      "capacity": dict((pv.get("spec") or {}).get("capacity") or {})}))


def _static_volume(cluster, pvc, class_name):
    """An Available PersistentVolume of the claim's class (and size, access modes) to bind to, or None."""
    spec = pvc.get("spec") or {}
    for pv in sorted(cluster.list("v1", "PersistentVolume"), key=lambda v: _quantity(((v.get("spec") or {}).get("capacity") or {}).get("storage"))):
        pv_spec = pv.get("spec") or {}
        ref = pv_spec.get("claimRef") or {}
        if ref and (ref.get("uid") not in (None, pvc["metadata"]["uid"]) or ref.get("name") != pvc["metadata"]["name"]):
            continue
        if (pv.get("status") or {}).get("phase") not in ("Available", "Pending", None) and not ref:
            continue
        if (pv_spec.get("storageClassName") or "") != (class_name or ""):
            continue
        if spec.get("volumeName") and spec["volumeName"] != pv["metadata"]["name"]:
            continue
        if not set(spec.get("accessModes") or []) <= set(pv_spec.get("accessModes") or []):
            continue
        if _quantity((pv_spec.get("capacity") or {}).get("storage")) < _quantity(_size(pvc)):
            continue
        return pv
    return None


def bind_claim(cluster, pvc):
    """Bind or provision one Pending claim, or record why it waits."""
    if (pvc.get("status") or {}).get("phase") != "Pending":
        return
    spec = pvc.get("spec") or {}
    class_name = spec.get("storageClassName")
    static = _static_volume(cluster, pvc, class_name)
    if static is not None:
        _bind(cluster, pvc, static)
        return
    if not class_name:
        events.record(cluster, pvc, "Normal", "FailedBinding",
                      "no persistent volumes available for this claim and no storage class is set", "persistentvolume-controller")
        return
    storage_class = cluster.get("storage.k8s.io/v1", "StorageClass", class_name)
    if storage_class is None:
        events.record(cluster, pvc, "Warning", "ProvisioningFailed", 'storageclass.storage.k8s.io "%s" not found' % class_name,
                      "persistentvolume-controller")
        return
    node = _annotations(pvc).get(SELECTED_NODE)
    if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer" and not node:
        events.record(cluster, pvc, "Normal", "WaitForFirstConsumer", "waiting for first consumer to be created before binding",
                      "persistentvolume-controller")
        return
    provisioner = storage_class.get("provisioner") or "emulator/no-provisioner"
    pv_name = "pvc-" + pvc["metadata"]["uid"]
    pv = cluster.get("v1", "PersistentVolume", pv_name)
    if pv is None:
        pv_spec = {"capacity": {"storage": _size(pvc)}, "accessModes": spec.get("accessModes") or ["ReadWriteOnce"],
                   "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy") or "Delete", "storageClassName": class_name,
                   "volumeMode": spec.get("volumeMode") or "Filesystem",
                   "hostPath": {"path": "/var/local-path-provisioner/%s_%s_%s" % (pv_name, pvc["metadata"]["namespace"], pvc["metadata"]["name"]),
                                "type": "DirectoryOrCreate"},
                   "claimRef": {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": pvc["metadata"]["namespace"],
                                "name": pvc["metadata"]["name"], "uid": pvc["metadata"]["uid"],
                                "resourceVersion": pvc["metadata"]["resourceVersion"]}}
        if node:
            pv_spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
        pv = _quietly(cluster.create, {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {
            "name": pv_name, "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}}, "spec": pv_spec})
        if pv is None:
            return
        events.record(cluster, pvc, "Normal", "ProvisioningSucceeded", "Successfully provisioned volume %s" % pv_name, provisioner)
    _bind(cluster, pvc, pv, provisioner)


def _schedule_waiting_pods(cluster, pvc):
    ns, name = pvc["metadata"]["namespace"], pvc["metadata"]["name"]
    for pod in cluster.list("v1", "Pod", ns):
        if name in _claims(pod) and (pod.get("status") or {}).get("phase") in (None, "Pending"):
            pod_status(cluster, pod)


def _pending_claims(cluster):
    return [c for c in cluster.list("v1", "PersistentVolumeClaim") if (c.get("status") or {}).get("phase") == "Pending"]


def on_claim(cluster, event):
    """Bind a new or changed claim; schedule the Pods waiting for it; release the volume of a deleted one."""
    if event.type == "DELETED":
        for pv in cluster.list("v1", "PersistentVolume"):
            if ((pv.get("spec") or {}).get("claimRef") or {}).get("uid") == event.object["metadata"]["uid"]:
                if (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") == "Delete":
                    _quietly(cluster.delete, "v1", "PersistentVolume", pv["metadata"]["name"])
                else:
                    _quietly(cluster.update_status, dict(pv, status={"phase": "Released"}))
        return
    pvc = cluster.get("v1", "PersistentVolumeClaim", event.name, event.namespace)
    if pvc is None:
        return
    bind_claim(cluster, pvc)
    pvc = cluster.get("v1", "PersistentVolumeClaim", event.name, event.namespace)
    if pvc is not None and (pvc.get("status") or {}).get("phase") == "Bound":
        _schedule_waiting_pods(cluster, pvc)


def on_volume(cluster, event):
    """A new static volume becomes Available; Pending claims may bind to it."""
    if event.type != "ADDED":
        return
    pv = cluster.get("v1", "PersistentVolume", event.name)
    if pv is not None and (pv.get("status") or {}).get("phase") == "Pending" and not (pv.get("spec") or {}).get("claimRef"):
        _quietly(cluster.update_status, dict(pv, status={"phase": "Available"}))
    for pvc in _pending_claims(cluster):
        bind_claim(cluster, pvc)


def on_storage_class(cluster, event):
    """A new (default) class: claims without class get it (retroactive default), Pending claims of it provision."""
    if event.type == "DELETED":
        return
    default = default_storage_class(cluster.store)
    for pvc in _pending_claims(cluster):
        if (pvc.get("spec") or {}).get("storageClassName") is None and default is not None:
            _quietly(cluster.patch, "v1", "PersistentVolumeClaim", pvc["metadata"]["name"],
                     {"spec": {"storageClassName": default["metadata"]["name"]}}, pvc["metadata"]["namespace"])
        elif (pvc.get("spec") or {}).get("storageClassName") == event.name:
            bind_claim(cluster, pvc)


def setup(emulator):
    """Register the storage controllers."""
    emulator.on_write(on_claim, kinds=[("v1", "PersistentVolumeClaim")])
    emulator.on_write(on_volume, kinds=[("v1", "PersistentVolume")])
    emulator.on_write(on_storage_class, kinds=[("storage.k8s.io/v1", "StorageClass")])
