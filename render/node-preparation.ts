import { NodePreparationSpec } from "../spec/types";
import { checkFunctions, PreparedChecksInput, preparedChecks } from "./preflight";
import { fileFunctions, KUBELET_VERSION, ScriptContext, scriptHeader, shellWord } from "./scripts";

export const KUBELET_UNIT = "/etc/systemd/system/kubelet.service";

/** The kubelet unit the deb/rpm packages ship (reference §4.1), for hosts where none is installed. */
export function kubeletUnit(): string {
    return [
        "[Unit]",
        "Description=kubelet: The Kubernetes Node Agent",
        "Documentation=https://kubernetes.io/docs/",
        "Wants=network-online.target",
        "After=network-online.target",
        "",
        "[Service]",
        "ExecStart=/usr/bin/kubelet",
        "Restart=always",
        "StartLimitInterval=0",
        "RestartSec=10",
        "",
        "[Install]",
        "WantedBy=multi-user.target",
        "",
    ].join("\n");
}

/**
 * The installer's commands for the kubelet and kubectl of `version` (and containerd with
 * `withRuntime`): apt or dnf from pkgs.k8s.io, whose repository is per minor (an upgrade points it
 * at the new minor first), or the user's command with KUBERNETES_VERSION and KUBERNETES_MINOR set.
 * A failure names what failed.
 */
export function installerScript(p: NodePreparationSpec, version: string, withRuntime: boolean): string {
    const full = version.replace(/^v/, "");
    const minor = full.split(".").slice(0, 2).join(".");
    const runtime = withRuntime ? "containerd " : "";
    const what = withRuntime ? `containerd, kubelet ${full} and kubectl ${full}` : `kubelet ${full} and kubectl ${full}`;
    const install = p.installer === "apt"
        ? `export DEBIAN_FRONTEND=noninteractive
apt-get update -q || fail "apt-get update failed"
apt-get install -y -q apt-transport-https ca-certificates curl gpg || fail "installing curl and gpg failed"
install -d -m 0755 /etc/apt/keyrings
curl -fsSL https://pkgs.k8s.io/core:/stable:/v${minor}/deb/Release.key | gpg --batch --yes --dearmor -o /etc/apt/keyrings/kubernetes-apt-keyring.gpg \\
    || fail "cannot fetch the pkgs.k8s.io key for v${minor}"
echo 'deb [signed-by=/etc/apt/keyrings/kubernetes-apt-keyring.gpg] https://pkgs.k8s.io/core:/stable:/v${minor}/deb/ /' > /etc/apt/sources.list.d/kubernetes.list
apt-get update -q || fail "apt-get update failed with pkgs.k8s.io v${minor}"
apt-mark unhold kubelet kubectl >/dev/null 2>&1 || true
apt-get install -y -q --allow-downgrades ${runtime}"kubelet=${full}-*" "kubectl=${full}-*" || fail "installing ${what} failed"
apt-mark hold kubelet kubectl >/dev/null
`
        : p.installer === "dnf"
            ? `printf '%s' ${shellWord(`[kubernetes]
name=Kubernetes
baseurl=https://pkgs.k8s.io/core:/stable:/v${minor}/rpm/
enabled=1
gpgcheck=1
gpgkey=https://pkgs.k8s.io/core:/stable:/v${minor}/rpm/repodata/repomd.xml.key
exclude=kubelet kubeadm kubectl cri-tools kubernetes-cni
`)} > /etc/yum.repos.d/kubernetes.repo
dnf install -y ${runtime}"kubelet-${full}" "kubectl-${full}" --disableexcludes=kubernetes || fail "installing ${what} failed"
`
            : `KUBERNETES_VERSION=${shellWord(full)} KUBERNETES_MINOR=${shellWord(minor)} bash -c ${shellWord(p.command ?? "")} || fail "the nodePreparation command failed (KUBERNETES_VERSION=${full})"
`;
    return install;
}

export interface PreparationInput extends ScriptContext {
    nodePreparation: NodePreparationSpec;
    version: string;
    /** The cluster's skipped checks (kubeadm's --ignore-preflight-errors). */
    ignore: string[];
    checks: PreparedChecksInput;
}

/**
 * A host's preparation step, which runs only once every host's preflight passed: nodePreparation,
 * then kubeadm's checks of what it provides (the runtime, the kubelet, crictl, the kernel's
 * forwarding settings), so that a host it could not prepare fails here, before any of the
 * cluster's files is written anywhere.
 */
export function preparationScript(i: PreparationInput): string {
    return scriptHeader(i) + nodePreparationScript(i.nodePreparation, i.version) + checkFunctions(i.ignore) + preparedChecks(i.checks)
        + `report
echo "[prepare] $HOST: prepared (${i.nodePreparation.installer}); the checks of what it provides passed"
`;
}

/**
 * The optional node preparation, run in each host's preparation step: the container runtime,
 * the kubelet and kubectl of the cluster's version through the chosen installer (apt or dnf from
 * pkgs.k8s.io, as Kubernetes' install guide, or the user's command), containerd with the systemd
 * cgroup driver, the kernel settings kubeadm's preflight checks, and the kubelet unit when none is
 * installed. Idempotent: a host with the right versions is left alone. A node already in the cluster
 * keeps its kubelet (the KubeletVersion check says whether the skew policy allows it): a kubelet
 * changes after the control planes, never in the preflight that comes before them.
 */
export function nodePreparationScript(p: NodePreparationSpec, version: string): string {
    const full = version.replace(/^v/, "");
    return `# node preparation (${p.installer})
have=$(${KUBELET_VERSION} || true)
if { [ -f /etc/kubernetes/kubelet.conf ] || [ -f /etc/kubernetes/manifests/etcd.yaml ]; } && [ -n "$have" ]; then
    # A node of the cluster changes its kubelet after the control planes, never in its preparation (a kubelet is never newer than the API servers);
    # a dedicated etcd member (its manifest, no kubelet.conf) in its etcd step, one member at a time behind the quorum gate.
    [ "$have" = ${shellWord(full)} ] || echo "[prepare] kubelet $have is kept: this host is in the cluster, and its kubelet does not change in its preparation (${full} comes in its $([ -f /etc/kubernetes/kubelet.conf ] && echo "kubelet step, after the control planes" || echo "etcd step, one member at a time"))"
elif [ "$have" != ${shellWord(full)} ] || ! command -v containerd >/dev/null 2>&1; then
    echo "[prepare] installing containerd and the kubelet ${full} (found: \${have:-no kubelet})"
${installerScript(p, version, true)}fi
changed=()
${fileFunctions().join("\n")}
put() { # put MODE PATH: stdin to PATH, atomically, owned by root (not in a pipeline: $changed must stay this shell's)
    local tmp
    tmp=$(tmpfile "$2")
    cat > "$tmp" || { rm -f "$tmp"; fail "cannot write $2"; }
    place "$2" "$1" "$tmp"
}
if { [ ! -f /etc/containerd/config.toml ] || is_pending /etc/containerd/config.toml; } && command -v containerd >/dev/null 2>&1; then
    containerd_config=$(containerd config default | sed 's/SystemdCgroup = false/SystemdCgroup = true/') || fail "containerd config default failed"
    put 0644 /etc/containerd/config.toml <<<"$containerd_config"
    systemctl restart containerd || fail "could not restart containerd; see: journalctl -u containerd"
    echo "[prepare] containerd configured with the systemd cgroup driver"
fi
systemctl enable --now containerd >/dev/null 2>&1 || true
# Kernel modules and settings once, as the install guide: a host that has these files keeps its own
# (a file a stopped run placed, still pending, is acted on again).
if [ ! -f /etc/modules-load.d/k8s.conf ] || is_pending /etc/modules-load.d/k8s.conf; then
    put 0644 /etc/modules-load.d/k8s.conf <<'EOF_MODULES'
overlay
br_netfilter
EOF_MODULES
    modprobe overlay 2>/dev/null || true
    modprobe br_netfilter 2>/dev/null || true
fi
if [ ! -f /etc/sysctl.d/k8s.conf ] || is_pending /etc/sysctl.d/k8s.conf; then
    put 0644 /etc/sysctl.d/k8s.conf <<'EOF_SYSCTL'
net.bridge.bridge-nf-call-iptables = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward = 1
EOF_SYSCTL
    sysctl --system >/dev/null 2>&1 || true
fi
if { [ ! -f ${KUBELET_UNIT} ] || is_pending ${KUBELET_UNIT}; } && [ ! -f /usr/lib/systemd/system/kubelet.service ] && [ ! -f /lib/systemd/system/kubelet.service ]; then
    put 0644 ${KUBELET_UNIT} <<'EOF_UNIT'
${kubeletUnit().replace(/\n$/, "")}
EOF_UNIT
    systemctl daemon-reload || fail "systemctl daemon-reload failed"
    echo "[prepare] placed ${KUBELET_UNIT}"
fi
systemctl enable kubelet >/dev/null 2>&1 || true
pending_done
`;
}
