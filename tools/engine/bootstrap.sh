# Cluster objects a kubelet-less control plane needs before workloads fit; sourced by cluster.sh.
# shellcheck shell=bash

FAKE_NODE_ZONES=(zone-a zone-b zone-c)
HOSTPATH_VOLUMES=6

# One kwok-managed node per zone, so topology spread over nodes and zones can be satisfied.
fake_nodes_yaml() {
  local index=0 zone
  for zone in "${FAKE_NODE_ZONES[@]}"; do
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-$index
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/os: linux
    kubernetes.io/hostname: kwok-node-$index
    topology.kubernetes.io/zone: $zone
    type: kwok
status:
  allocatable: {cpu: "8", memory: 32Gi, pods: "110"}
  capacity: {cpu: "8", memory: 32Gi, pods: "110"}
EOF
    index=$((index + 1))
  done
}

# No provisioner runs here, so the default StorageClass is backed by pre-created volumes that the
# controller-manager's binder hands to claims (any claim up to the volume size). Released volumes
# stay Released (Retain), so a cluster serves HOSTPATH_VOLUMES claims over its life.
storage_yaml() {
  local volumes_dir=$1 index
  cat <<EOF
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: Immediate
reclaimPolicy: Retain
EOF
  for ((index = 0; index < HOSTPATH_VOLUMES; index++)); do
    cat <<EOF
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: hostpath-$index
spec:
  storageClassName: standard
  capacity: {storage: 50Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  hostPath: {path: $volumes_dir/hostpath-$index, type: DirectoryOrCreate}
EOF
  done
}
