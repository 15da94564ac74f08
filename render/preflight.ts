import { minorAtLeast } from "./manifests/static-pod";
import { shellWord } from "./scripts";

/**
 * Shell functions of a preflight: `check NAME MESSAGE` records a failure unless NAME is skipped
 * (kubeadm's --ignore-preflight-errors: case-insensitive names, or "all"); `report` lists every
 * failure with its name and exits 1, or lets the script go on.
 */
export function checkFunctions(ignore: string[]): string {
    return `ignored=(${ignore.map(x => shellWord(x.toLowerCase())).join(" ")})
failures=()
check() { # check NAME MESSAGE: record a failure unless NAME is ignored
    local lower name
    lower=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')
    for name in \${ignored[@]+"\${ignored[@]}"}; do
        if [ "$name" = all ] || [ "$name" = "$lower" ]; then echo "[preflight] ignored $1: $2"; return 0; fi
    done
    failures+=("$1: $2")
}
report() {
    if [ "\${#failures[@]}" -gt 0 ]; then
        printf '[%s] %s: %d check(s) failed:\\n' "$HOST" "$STEP" "\${#failures[@]}" >&2
        printf '  - %s\\n' "\${failures[@]}" >&2
        printf 'Fix them, or skip a check by adding its name to ignorePreflightErrors.\\n' >&2
        exit 1
    fi
}
`;
}

/**
 * kubeadm's Port-N checks: each "port@address" must be free there (or on a wildcard), unless
 * `$ours` is true (this cluster's own component already listens there).
 */
export function portChecks(listeners: string[], owner: string): string {
    return `command -v ss >/dev/null 2>&1 || fail "ss (iproute2) is needed to check which ports are in use; install iproute2"
listening=$(ss -Hltn)
listeners=(${listeners.map(shellWord).join(" ")})
for entry in "\${listeners[@]}"; do
    port=\${entry%@*} addr=\${entry#*@}
    in_use=$(printf '%s\\n' "$listening" | awk -v a="$addr" -v p="$port" '$4 == a":"p || $4 == "["a"]:"p || $4 == "0.0.0.0:"p || $4 == "*:"p || $4 == "[::]:"p')
    if [ -n "$in_use" ] && [ "$ours" != true ]; then
        check "Port-$port" "port $port is in use on $addr ($(printf '%s' "$in_use" | awk 'NR == 1 { print $4 }')) and ${owner} of this cluster is not what runs there; stop what listens there"
    fi
done
`;
}

/** What the checks of preparedChecks look at on a host. */
export interface PreparedChecksInput {
    criSocket: string;
    /** A control plane or worker: also crictl (and the runtime answering it) and the kernel's forwarding settings; else (an etcd host) the kubelet and the runtime's socket. */
    node: boolean;
    ipv6?: boolean;
    /** With nodePreparation on a control plane: kubectl, which the kubelet upgrades drain nodes with. */
    kubectl?: boolean;
}

/** kubeadm's checks of what nodePreparation installs or sets: with nodePreparation they run after it, and only once every host's preflight passed. */
export function preparedCheckNames(i: Pick<PreparedChecksInput, "node" | "ipv6" | "kubectl">): string[] {
    return i.node
        ? ["CRI", "FileExisting-kubelet", "FileExisting-crictl", "FileContent--proc-sys-net-ipv4-ip_forward", "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables",
            ...(i.ipv6 ? ["FileContent--proc-sys-net-ipv6-conf-default-forwarding"] : []), ...(i.kubectl ? ["FileExisting-kubectl"] : [])]
        : ["FileExisting-kubelet", "CRI"];
}

/**
 * The checks of what node preparation provides: the container runtime, the kubelet (and crictl,
 * kubectl), the kernel's forwarding settings. Needs checkFunctions earlier in the script.
 */
export function preparedChecks(i: PreparedChecksInput): string {
    const socket = shellWord(i.criSocket.replace(/^unix:\/\//, ""));
    const noSocket = shellWord(`no container runtime socket at ${i.criSocket}; install and start containerd (or set the host's criSocket)`);
    if (!i.node) {
        return `command -v kubelet >/dev/null 2>&1 || check FileExisting-kubelet "kubelet is not installed (not on PATH); install the kubelet package"
[ -S ${socket} ] || check CRI ${noSocket}
`;
    }
    return `if [ ! -S ${socket} ]; then
    check CRI ${noSocket}
elif command -v crictl >/dev/null 2>&1 && ! crictl --runtime-endpoint ${shellWord(i.criSocket)} info >/dev/null 2>&1; then
    check CRI ${shellWord(`the container runtime at ${i.criSocket} does not answer (crictl info failed); start it: systemctl start containerd`)}
fi
command -v kubelet >/dev/null 2>&1 || check FileExisting-kubelet "kubelet is not installed (not on PATH); install the kubelet package"
command -v crictl >/dev/null 2>&1 || check FileExisting-crictl "crictl not found in PATH; install it (the cri-tools package)"
${i.kubectl ? `command -v kubectl >/dev/null 2>&1 || check FileExisting-kubectl "kubectl is not installed: with nodePreparation, kubelet upgrades drain nodes with it from the control planes (the apt and dnf installers install it; a command installer must too)"
` : ""}[ "$(cat /proc/sys/net/ipv4/ip_forward 2>/dev/null)" = 1 ] || check FileContent--proc-sys-net-ipv4-ip_forward "/proc/sys/net/ipv4/ip_forward is not 1; set net.ipv4.ip_forward = 1 in /etc/sysctl.d/k8s.conf and run sysctl --system"
if [ ! -e /proc/sys/net/bridge/bridge-nf-call-iptables ]; then
    check FileContent--proc-sys-net-bridge-bridge-nf-call-iptables "the br_netfilter module is not loaded; modprobe br_netfilter and list it in /etc/modules-load.d/k8s.conf"
elif [ "$(cat /proc/sys/net/bridge/bridge-nf-call-iptables)" != 1 ]; then
    check FileContent--proc-sys-net-bridge-bridge-nf-call-iptables "/proc/sys/net/bridge/bridge-nf-call-iptables is not 1; set net.bridge.bridge-nf-call-iptables = 1 in /etc/sysctl.d/k8s.conf and run sysctl --system"
fi
${i.ipv6 ? `[ "$(cat /proc/sys/net/ipv6/conf/default/forwarding 2>/dev/null)" = 1 ] || check FileContent--proc-sys-net-ipv6-conf-default-forwarding "/proc/sys/net/ipv6/conf/default/forwarding is not 1; set net.ipv6.conf.default.forwarding = 1 and run sysctl --system"\n` : ""}`;
}

/** In a preflight whose prepared checks come later: says so, naming them. */
export function preparedChecksLater(names: string[]): string {
    return `echo ${shellWord(`[preflight] checked after nodePreparation, once every host passed its preflight: ${names.join(", ")}`)}
`;
}

/**
 * The cgroups part of kubeadm's SystemVerification (k8s.io/system-validators' CgroupsValidator,
 * which reads /proc/mounts the same way): a cgroups v1 host fails it for a kubelet of 1.35 or newer
 * (KEP-5573: that kubelet refuses to start there unless failCgroupV1 is false), and is warned
 * about before 1.35. Needs checkFunctions earlier in the script.
 */
export function cgroupsCheck(kubeletMinor: string): string {
    const refused = minorAtLeast(kubeletMinor, 1, 35);
    return `cgroups=$(awk '$2 == "/sys/fs/cgroup" { print $3; exit }' /proc/mounts)
if [ "$cgroups" = tmpfs ]; then
    if [ -d /sys/fs/cgroup/memory ]; then cgroups=v1; else cgroups=v2; fi
elif [ "$cgroups" = cgroup2 ] || { [ -z "$cgroups" ] && awk '$3 == "cgroup2" { found = 1 } END { exit !found }' /proc/mounts; }; then
    cgroups=v2
else
    cgroups=v1
fi
if [ "$cgroups" = v1 ]; then
    ${refused
        ? `check SystemVerification ${shellWord(`this host runs cgroups v1, which the kubelet refuses from 1.35 (KEP-5573); boot it with cgroups v2 (systemd.unified_cgroup_hierarchy=1), or set kubelet.config {failCgroupV1: false} and add SystemVerification to ignorePreflightErrors`)}`
        : `echo ${shellWord(`[preflight] warning SystemVerification: this host runs cgroups v1, which Kubernetes keeps in maintenance mode and the kubelet refuses from 1.35; move it to cgroups v2 before upgrading to 1.35`)}`}
fi
`;
}
