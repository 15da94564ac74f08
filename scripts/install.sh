#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine (run as root): the Debian packages the
# assertions and the lab's hosts use, then the npm dependencies exactly as locked.
set -euo pipefail
cd "$(dirname "$0")/.."

# Real tools the assertions call (haproxy -c checks the load balancer config), and the lab's
# hosts: sshd, haproxy, curl for the readiness gate; namespaces from util-linux, ss from iproute2.
# etcd, kubeadm and the Kubernetes binaries are built from their Go modules (the end of this script).
packages=(openssl openssh-server openssh-client haproxy curl shellcheck util-linux iproute2)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# kubectl loads the rendered kubeconfigs; Debian's kubernetes-client provides one where none is installed.
command -v kubectl >/dev/null 2>&1 || missing+=(kubernetes-client)
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # A policy-rc.d that says no keeps package scripts from starting sshd or etcd on the machine.
    created_policy=false
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        created_policy=true
    fi
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
    if [ "$created_policy" = true ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# --ignore-scripts: the provider-plugin downloads of @pulumi/command and @pulumi/kubernetes need
# the Pulumi CLI and the network; the tests use neither.
npm ci --ignore-scripts --no-audit --no-fund

# The real tools (etcd, etcdctl, crictl, kubeadm of every supported minor, the Kubernetes binaries
# of the two newest, the Pulumi CLI, its YAML host and the Kubernetes provider), built from their Go modules at the versions of tools/versions.env into
# ~/.cache/pulumi-kubeadm/tools; nothing is built when they are there.
bash scripts/real-tools.sh
