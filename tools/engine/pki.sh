# Certificates and keys of the throwaway control plane, made with openssl; sourced by cluster.sh.
# shellcheck shell=bash

# Issues DIR/NAME.{key,crt} signed by DIR/ca; SUBJECT like "/CN=admin/O=system:masters".
issue_cert() {
  local dir=$1 name=$2 subject=$3 extensions=$4
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/$name.key" -subj "$subject" \
    -out "$dir/$name.csr" 2>/dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -days 30 -extfile <(printf '%s\n' "$extensions") -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr"
}

make_pki() {
  local dir=$1 service_ip=$2
  mkdir -p "$dir"
  openssl req -x509 -new -newkey rsa:2048 -nodes -keyout "$dir/ca.key" -subj "/CN=mlstack-engine-ca" \
    -days 30 -out "$dir/ca.crt" 2>/dev/null
  local client="extendedKeyUsage=clientAuth"
  local names="DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  issue_cert "$dir" apiserver "/CN=kube-apiserver" \
    "$(printf 'extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,IP:%s,%s,DNS:kubernetes.default.svc.cluster.local' \
      "$service_ip" "$names")"
  issue_cert "$dir" admin "/CN=mlstack-admin/O=system:masters" "$client"
  issue_cert "$dir" controller-manager "/CN=system:kube-controller-manager" "$client"
  issue_cert "$dir" scheduler "/CN=system:kube-scheduler" "$client"
  # kwok writes node and pod status for every fake node, which the Node authorizer would refuse.
  issue_cert "$dir" kwok "/CN=kwok-controller/O=system:masters" "$client"
  openssl genrsa -out "$dir/service-account.key" 2048 2>/dev/null
  openssl rsa -in "$dir/service-account.key" -pubout -out "$dir/service-account.pub" 2>/dev/null
}
