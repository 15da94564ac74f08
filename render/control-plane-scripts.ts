import { joinHostPort } from "../spec/network";
import { NodeAddress } from "../spec/types";
import { discoveryFunctions } from "./discovery";
import { ENCRYPTION_CONFIG_PATH, encryptionConfigCheck } from "./encryption";
import { KUBELET_DROPIN_DIR } from "./kubelet";
import { OPTIONAL_CA_DIRS } from "./manifests/control-plane";
import { dataDirCheckName, ETCD_MANIFEST, etcdQuorumGateScript, etcdRestartedWait, etcdServingBefore, StackedEtcdJoin, stackedEtcdMemberAddScript, stackedEtcdPromoteScript } from "./etcd-scripts";
import { cgroupsCheck, checkFunctions, portChecks, preparedCheckNames, preparedChecks, preparedChecksLater } from "./preflight";
import { anyChanged, ensureDir, kubeletRunning, pendingDone, PlacedFile, placeFilesScript, ScriptContext, scriptHeader, shellWord, summary, TOOL_SAID } from "./scripts";
import { SUPPORTED_MINORS } from "./versions";

export const MANIFESTS_DIR = "/etc/kubernetes/manifests";
export const APISERVER_MANIFEST = `${MANIFESTS_DIR}/kube-apiserver.yaml`;
export const CONTROLLER_MANAGER_MANIFEST = `${MANIFESTS_DIR}/kube-controller-manager.yaml`;
export const SCHEDULER_MANIFEST = `${MANIFESTS_DIR}/kube-scheduler.yaml`;
/** Where the kubeadm package ships its kubelet drop-in; placed in /etc when no package put it anywhere. */
export const PACKAGED_KUBEADM_DROPINS = ["/usr/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", "/lib/systemd/system/kubelet.service.d/10-kubeadm.conf", `${KUBELET_DROPIN_DIR}/10-kubeadm.conf`];
export const KUBELET_FILES = ["/var/lib/kubelet/config.yaml", "/var/lib/kubelet/kubeadm-flags.env", "/var/lib/kubelet/instance-config.yaml", "/etc/kubernetes/kubelet.conf"];

/** kubeadm's names (--ignore-preflight-errors) of the control-plane checks, for a given API server port. */
export function controlPlanePreflightChecks(bindPort: number, ipv6: boolean, stackedEtcdDataDir?: string): string[] {
    return [
        "IsPrivilegedUser", "Swap", "SystemVerification", `Port-${bindPort}`, "Port-10257", "Port-10259", "Port-10250",
        ...manifestNames(stackedEtcdDataDir !== undefined).map(m => `FileAvailable--etc-kubernetes-manifests-${m}.yaml`),
        ...(stackedEtcdDataDir ? ["Port-2379", "Port-2380", dataDirCheckName(stackedEtcdDataDir)] : []), "CRI",
        "FileExisting-kubelet", "FileExisting-crictl", "FileExisting-mount", "FileExisting-nsenter",
        "FileContent--proc-sys-net-ipv4-ip_forward", "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables",
        ...(ipv6 ? ["FileContent--proc-sys-net-ipv6-conf-default-forwarding"] : []),
        "KubeletVersion",
    ];
}

/** What the preflight learns of a host that the rendered files depend on (as kubeadm looks at the node it runs on). */
export interface HostFacts {
    /** The OS hostname: kubeadm adds --hostname-override when the node name differs. */
    hostname: string;
    /** The CA directories of OPTIONAL_CA_DIRS that exist (kubeadm mounts only those). */
    caCertDirs: string[];
    /** /run/systemd/resolve/resolv.conf when systemd-resolved runs, as kubeadm sets resolvConf. */
    resolvConf: string;
    /** The host is already a node of this cluster (its kubeconfig under the cluster's CA). */
    joined?: boolean;
}

const FACTS_PREFIX = "facts ";

/** Reads the facts line of a preflight's output. */
export function parseHostFacts(stdout: string, host: string): HostFacts {
    const line = String(stdout ?? "").split("\n").reverse().find(l => l.startsWith(FACTS_PREFIX));
    let facts: any;
    try {
        facts = line ? JSON.parse(line.slice(FACTS_PREFIX.length)) : undefined;
    } catch { /* reported below */ }
    if (!facts || typeof facts.hostname !== "string" || !Array.isArray(facts.caCertDirs) || typeof facts.resolvConf !== "string") {
        throw new Error(`[${host}] preflight: its output has no facts line ("${FACTS_PREFIX}{...}"); got: ${String(stdout ?? "").slice(-300)}`);
    }
    return {
        hostname: facts.hostname, caCertDirs: facts.caCertDirs.filter((d: string) => OPTIONAL_CA_DIRS.includes(d)), resolvConf: facts.resolvConf,
        joined: facts.joined === true,
    };
}

export interface ControlPlanePreflightInput extends ScriptContext {
    node: NodeAddress;
    bindPort: number;
    criSocket: string;
    certificatesDir: string;
    /** sha256 of the cluster's ca.crt: a control plane already on the host is "ours" only under it. */
    caSha256: string;
    /** Instead of caSha256, kubeadm's CA public key hashes (a cluster known only by its discovery-token-ca-cert-hash). */
    caCertHashes?: string[];
    /** The kubelet config sets failSwapOn: false (swap tolerated). */
    swapTolerated: boolean;
    /** The minor of the kubelet to run ("1.37"): from 1.35 it refuses cgroups v1 hosts. */
    kubeletMinor: string;
    ignore: string[];
    /** nodePreparation runs later, after every host's preflight: the checks of what it provides (preparedChecks) are left to it. */
    preparedLater?: boolean;
    /** The data dir of etcd stacked on this control plane (kubeadm then also checks etcd's ports and that the dir is empty). */
    stackedEtcdDataDir?: string;
    /** The version to deploy: the kube-apiserver this host runs must not be newer, nor more than one minor older. */
    version?: string;
    /** With upgrade.through, its first release: the kube-apiserver may be one minor older than that instead. */
    walkFrom?: string;
    /** A pass of upgrade.through: a kube-apiserver must already run here. */
    requireRunning?: boolean;
    /** With nodePreparation: the kubelet upgrades drain nodes with kubectl from the control planes. */
    requireKubectl?: boolean;
}

/**
 * kubeadm's init/join preflight checks that apply to a control plane placed over SSH, each
 * reported with its name and the fix; ports in use pass when this node of this cluster is what
 * listens. Ends with the host's facts as one JSON line. It changes nothing on the host.
 */
export function controlPlanePreflightScript(i: ControlPlanePreflightInput): string {
    const ipv6 = i.node.address.includes(":");
    const loopback = ipv6 ? "::1" : "127.0.0.1";
    const dataDir = i.stackedEtcdDataDir;
    return nodePreflightScript(i, {
        ports: [`${i.bindPort}@${i.node.address}`, `10257@${loopback}`, `10259@${loopback}`, `10250@${i.node.address}`,
            ...(dataDir ? [`2379@${i.node.address}`, `2379@${loopback}`, `2380@${i.node.address}`] : [])],
        owner: "this control plane",
        extra: manifestChecks(dataDir !== undefined) + (dataDir ? `if [ -d ${shellWord(dataDir)} ] && [ -n "$(ls -A ${shellWord(dataDir)} 2>/dev/null)" ] && [ "$ours" != true ]; then
    check ${shellWord(dataDirCheckName(dataDir))} ${shellWord(`${dataDir} is not empty and this host runs no control plane of this cluster; move it away or set etcd.dataDir`)}
fi
` : ""),
        // A control plane already on the host is "ours" when it advertises this node under this cluster's CA.
        ours: `[ -f ${APISERVER_MANIFEST} ] && grep -q -- ${shellWord(`--advertise-address=${i.node.address}`)} ${APISERVER_MANIFEST}`,
    }) + (i.version ? runningVersionCheck(i.version, i.walkFrom, i.requireRunning) : "");
}

/**
 * kubeadm init's FileAvailable checks of the static pod manifests (etcd's with stacked etcd): one
 * already there fails, unless this host runs this cluster's control plane or holds this cluster's
 * CA (an install that stopped after placing the certificates and some manifests runs again).
 */
const manifestNames = (stackedEtcd: boolean) => ["kube-apiserver", "kube-controller-manager", "kube-scheduler", ...(stackedEtcd ? ["etcd"] : [])];

function manifestChecks(stackedEtcd: boolean): string {
    return `for manifest in ${manifestNames(stackedEtcd).join(" ")}; do
    if [ -e "/etc/kubernetes/manifests/$manifest.yaml" ] && [ "$ours" != true ] && [ "$ca_ours" != true ]; then
        check "FileAvailable--etc-kubernetes-manifests-$manifest.yaml" "/etc/kubernetes/manifests/$manifest.yaml already exists and this host runs no control plane of this cluster; remove it (kubeadm reset) or use another host"
    fi
done
`;
}

/**
 * kubeadm join's checks for a worker: the kubelet's port, the runtime, binaries and sysctls, and
 * its FileAvailable checks of the kubeconfigs and the CA (each passes when it is this cluster's, as
 * after a join that stopped half-way); facts as for a control plane.
 */
export function workerPreflightScript(i: Omit<ControlPlanePreflightInput, "bindPort">): string {
    const caFile = `${i.certificatesDir}/ca.crt`;
    return nodePreflightScript(i, {
        ports: [`10250@${i.node.address}`],
        owner: "the kubelet of this node",
        ours: "[ -f /etc/kubernetes/kubelet.conf ]",
        extra: `if [ -f /etc/kubernetes/kubelet.conf ] && [ "$ours" != true ]; then
    check FileAvailable--etc-kubernetes-kubelet.conf "/etc/kubernetes/kubelet.conf exists under another cluster's CA: this host already belongs to a cluster; run kubeadm reset there first"
fi
for file in /etc/kubernetes/bootstrap-kubelet.conf ${shellWord(caFile)}; do
    if [ -e "$file" ] && [ "$ca_ours" != true ]; then
        check "FileAvailable-\${file//\\//-}" "$file already exists and ${caFile} is not this cluster's CA: this host holds another cluster's files; run kubeadm reset there first"
    fi
done
`,
    });
}

function nodePreflightScript(i: Omit<ControlPlanePreflightInput, "bindPort">, role: { ports: string[]; owner: string; ours: string; extra?: string }): string {
    const ipv6 = i.node.address.includes(":");
    const caFile = shellWord(`${i.certificatesDir}/ca.crt`);
    const pinned = i.caCertHashes !== undefined;
    const prepared = { node: true, ipv6, kubectl: i.requireKubectl };
    return scriptHeader(i) + checkFunctions(i.ignore) + (pinned ? discoveryFunctions(i.caCertHashes!) + `for tool in curl openssl; do
    command -v "$tool" >/dev/null 2>&1 || check "FileExisting-$tool" "$tool is not installed; token discovery needs it: install $tool"
done
` : "") + `
# The host holds this cluster's CA; what runs there is ours when it is also this node's.
ca_ours=false
if ${pinned ? `ca_pinned ${caFile}` : i.caSha256 ? `[ "$(sha256sum ${caFile} 2>/dev/null | cut -d' ' -f1)" = ${shellWord(i.caSha256)} ]` : "false"}; then
    ca_ours=true
fi
ours=false
if [ "$ca_ours" = true ] && ${role.ours}; then
    ours=true
fi
${role.extra ?? ""}[ "$(id -u)" -eq 0 ] || check IsPrivilegedUser "running as $(id -un); connect as root"
if [ "$(awk 'NR > 1' /proc/swaps 2>/dev/null | wc -l)" -gt 0 ]; then
    ${i.swapTolerated ? "echo \"[preflight] swap is on; the kubelet config tolerates it (failSwapOn: false)\"" : `check Swap "swap is on ($(awk 'NR > 1 { printf \"%s \", $1 }' /proc/swaps)); turn it off (swapoff -a, and remove it from /etc/fstab) or set kubelet.config {failSwapOn: false, memorySwap: {swapBehavior: LimitedSwap}}"`}
fi
${cgroupsCheck(i.kubeletMinor)}${portChecks(role.ports, role.owner)}for bin in mount nsenter; do
    command -v "$bin" >/dev/null 2>&1 || check "FileExisting-$bin" "$bin not found in PATH; install it (util-linux)"
done
${i.preparedLater ? preparedChecksLater(preparedCheckNames(prepared)) : preparedChecks({ ...prepared, criSocket: i.criSocket })}report
echo "[preflight] $HOST: all checks passed"

ca_dirs=""
for d in ${OPTIONAL_CA_DIRS.join(" ")}; do
    if [ -d "$d" ]; then ca_dirs="$ca_dirs\${ca_dirs:+,}\\"$d\\""; fi
done
resolv=""
if systemctl is-active --quiet systemd-resolved 2>/dev/null; then resolv=/run/systemd/resolve/resolv.conf; fi
hostname=$(hostname 2>/dev/null || cat /proc/sys/kernel/hostname)
# A hostname a node name cannot be is reported as none: the kubelet then gets --hostname-override.
case $hostname in *[!A-Za-z0-9.-]*) hostname="" ;; esac
printf '${FACTS_PREFIX}{"hostname":"%s","caCertDirs":[%s],"resolvConf":"%s","joined":%s}\\n' "$hostname" "$ca_dirs" "$resolv" "$ours"
`;
}

export interface ControlPlaneInstallInput extends ScriptContext {
    node: NodeAddress;
    bindPort: number;
    /** The Kubernetes version of the control plane; the kubelet may be older (down to minimumKubeletVersion), not newer. */
    version: string;
    minimumKubeletVersion: string;
    /** Certificates, kubeconfigs, the encryption config, kubelet files and drop-ins, then the static pod manifests. */
    files: PlacedFile[];
    /** The packaged 10-kubeadm.conf, placed when no kubeadm package put it anywhere. */
    kubeadmDropIn: string;
    certificatesDir: string;
    ignore: string[];
    timeoutSeconds: number;
    /** etcd stacked on this control plane: its data dir, and for every control plane after the first, its etcd join. */
    stackedEtcd?: { dataDir: string; join?: StackedEtcdJoin; members: NodeAddress[] };
    /** Back up the manifests the install replaces, for the readiness gate's rollback (as kubeadm upgrade). */
    backupManifests?: boolean;
    /** A pass of upgrade.through: a node whose kube-apiserver is already past `version` is left as it is (a run again after a stop). */
    pass?: boolean;
}

/**
 * A control plane in kubeadm's order: the kubelet's version against the skew policy (before
 * anything is written), certificates, kubeconfigs, the encryption config, static pod manifests,
 * then the kubelet's files (daemon-reload and a kubelet restart only when one of them changed). A
 * component whose inputs changed while its manifest did not (a renewed certificate, a new
 * encryption config) is restarted the way kubeadm's docs say: its manifest moved out and back.
 */
export function controlPlaneInstallScript(i: ControlPlaneInstallInput): string {
    const pki = i.certificatesDir;
    const paths = i.files.map(f => f.path);
    const kubeletFiles = paths.filter(p => KUBELET_FILES.includes(p) || p.startsWith(`${KUBELET_DROPIN_DIR}/`) || p === `${pki}/ca.crt`);
    const restarts: [string, string[]][] = [
        [APISERVER_MANIFEST, paths.filter(p => p.startsWith(`${pki}/`) || p === ENCRYPTION_CONFIG_PATH)],
        [CONTROLLER_MANAGER_MANIFEST, paths.filter(p => p.startsWith(`${pki}/`) || p === "/etc/kubernetes/controller-manager.conf")],
        [SCHEDULER_MANIFEST, ["/etc/kubernetes/scheduler.conf"]],
    ];
    const etcd = i.stackedEtcd;
    // What restarts a stacked etcd: its manifest, or (moved out and back) its certificates.
    const etcdCertificates = paths.filter(p => p.startsWith(`${pki}/etcd/`));
    if (etcd) restarts.unshift([ETCD_MANIFEST, etcdCertificates]);
    // A joining member's manifest is written only once the running cluster has it as a member.
    const [early, late] = etcd?.join ? [i.files.filter(f => f.path !== ETCD_MANIFEST), i.files.filter(f => f.path === ETCD_MANIFEST)] : [i.files, []];
    return scriptHeader(i) + (i.pass ? passedGuard(i.version) : "") + checkFunctions(i.ignore) + kubeletVersionCheck(i) + (i.backupManifests ? apiserverConfigHashFunction() + manifestBackup() : "") + `
declare -A had=()
for m in ${restarts.map(r => r[0]).join(" ")}; do [ -f "$m" ] && had[$m]=1; done
` + ensureDir("/etc/kubernetes", "0755")
        + ensureDir(MANIFESTS_DIR, "0700")
        + ensureDir(pki, "0755")
        + ensureDir("/var/lib/kubelet", "0700")
        + (etcd ? ensureDir(etcd.dataDir, "0700") + etcdServingBefore(i.node) + etcdQuorumGateScript({
            member: i.node, members: etcd.members, dataDir: etcd.dataDir, certificatesDir: pki, timeoutSeconds: i.timeoutSeconds,
            restartsOn: i.files.filter(f => f.path === ETCD_MANIFEST || etcdCertificates.includes(f.path)),
        }) : "")
        // The backup and its pointer before any file moves: a step that stops after this still leaves the gate its rollback.
        + placeFilesScript(early, false, i.backupManifests ? keepManifestBackup(controlPlaneManifests(false)) : "")
        + (etcd?.join ? stackedEtcdMemberAddScript(etcd.join) + placeFilesScript(late, true) : "")
        + `packaged_dropin=""
for f in ${PACKAGED_KUBEADM_DROPINS.slice(0, 2).join(" ")}; do [ -f "$f" ] && packaged_dropin=$f; done
if [ -z "$packaged_dropin" ]; then
${placeFilesScript([{ path: PACKAGED_KUBEADM_DROPINS[2], mode: "0644", content: i.kubeadmDropIn }], true)}fi
`
        + anyChanged([...kubeletFiles, PACKAGED_KUBEADM_DROPINS[2]])
        + kubeletRunning() + restartFunction(i) + restarts.map(([manifest, inputs]) => `watched=(${inputs.map(shellWord).join(" ")})
if [ -n "\${had[${manifest}]:-}" ] && any_changed; then
    watched=(${manifest})
    any_changed || restart_static_pod ${manifest}
fi
`).join("")
        // A member that ran restarts one at a time: the next control plane's etcd waits for this one's new process.
        + (etcd ? `watched=(${[ETCD_MANIFEST, ...etcdCertificates].map(shellWord).join(" ")})
if [ -n "\${had[${ETCD_MANIFEST}]:-}" ] && any_changed; then
${etcdRestartedWait(i.node, pki, i.timeoutSeconds)}fi
` : "")
        + (etcd?.join ? stackedEtcdPromoteScript(etcd.join) : "")
        + summary();
}

/** Sets `running`: the version of the kube-apiserver manifest on the host, without the "v" (empty when there is none). */
const RUNNING_APISERVER = `running=""
[ -f ${APISERVER_MANIFEST} ] && running=$(sed -n 's|^ *image: .*/kube-apiserver:v\\{0,1\\}\\([0-9][0-9.]*\\).*$|\\1|p' ${APISERVER_MANIFEST})
running=\${running%%$'\\n'*}`;

/**
 * The skew rules against the control plane this host runs (its kube-apiserver manifest's image), in
 * its preflight, before anything changes: no downgrade, at most one minor up (with upgrade.through, from its first release).
 */
export function runningVersionCheck(version: string, walkFrom?: string, requireRunning?: boolean): string {
    const want = version.replace(/^v/, "");
    const [major, minor] = (walkFrom ?? version).replace(/^v/, "").split(".").map(Number);
    const allowed = [...new Set([`${major}.${minor - 1}`, ...SUPPORTED_MINORS.filter(m => minorIndex(m) >= minorIndex(`${major}.${minor}`) && minorIndex(m) <= minorIndex(want))])];
    return `${RUNNING_APISERVER}
${requireRunning ? `[ -n "$running" ] || fail "upgrade.through walks a running cluster, and no kube-apiserver runs here (${APISERVER_MANIFEST}): a new cluster installs kubernetesVersion directly; remove upgrade.through"
` : ""}if [ -n "$running" ]; then
    running_minor=$(printf '%s' "$running" | cut -d. -f1,2)
    if ! printf '%s\\n%s\\n' "$running" ${shellWord(want)} | sort -V -C; then
        ${requireRunning ? `echo "[preflight] this node runs kube-apiserver v$running, past this pass (v${want}): the pass leaves it as it is"` : `fail "this node runs kube-apiserver v$running; v${want} would downgrade it, which kubeadm refuses: set kubernetesVersion to v$running or newer${walkFrom ? ", and remove upgrade.through" : ""}"`}
    fi
    case "$running_minor" in
        ${allowed.map(shellWord).join("|")}) ;;
        *) fail "this node runs kube-apiserver v$running; v${want} is more than one minor ahead, and kubeadm upgrades one minor at a time: ${walkFrom ? `upgrade.through must start at the minor just above it` : "go through each minor in between first (or list them in upgrade.through)"}" ;;
    esac
fi
`;
}

/** A pass of upgrade.through on a node already past its release (a walk run again after it stopped): nothing to do. */
function passedGuard(version: string): string {
    const want = version.replace(/^v/, "");
    return `${RUNNING_APISERVER}
if [ -n "$running" ] && [ "$running" != ${shellWord(want)} ] && [ "$(printf '%s\\n%s\\n' "$running" ${shellWord(want)} | sort -V | tail -n1)" = "$running" ]; then
    cat >/dev/null
    echo "$HOST runs kube-apiserver v$running, past this pass (v${want}): left as it is"
    exit 0
fi
`;
}

const minorIndex = (minor: string) => SUPPORTED_MINORS.indexOf(minor.split(".").slice(0, 2).join("."));

/** Every static pod manifest as it was, kept aside until we know whether the install replaces any. */
function manifestBackup(): string {
    return `manifests_before=$(mktemp -d)
trap 'rm -rf "$manifests_before"' EXIT
cp -p ${MANIFESTS_DIR}/*.yaml "$manifests_before"/ 2>/dev/null || true
apiserver_hash=$(apiserver_config_hash)
`;
}

/**
 * \`apiserver_config_hash\`: the kubelet's hash of the kube-apiserver static pod it runs ready
 * (kubernetes.io/config.hash on its sandbox, through crictl), or "-" where crictl cannot tell.
 */
function apiserverConfigHashFunction(): string {
    return `apiserver_config_hash() {
    local h=""
    if command -v crictl >/dev/null 2>&1; then
        h=$(crictl pods --name '^kube-apiserver' --state ready -o json 2>/dev/null | grep -o '"kubernetes.io/config.hash": *"[^"]*"' | head -n1 | sed 's/.*"\\([^"]*\\)"$/\\1/' || true)
    fi
    printf '%s' "\${h:--}"
}
`;
}

/** `manifests_hash`: one digest of the node's own static pod manifests as they are now. */
export function manifestsHashFunction(manifests: string[]): string {
    return `manifests_hash() { cat ${manifests.join(" ")} 2>/dev/null | sha256sum | cut -d' ' -f1; }\n`;
}

/**
 * When the install is about to replace a manifest (placeFilesScript's beforeMove, so a step that
 * stops after the move still has it), the old ones go where kubeadm upgrade keeps them
 * (/etc/kubernetes/tmp/kubeadm-backup-manifests-<time>), and the readiness gate learns where,
 * with the digest the manifests will have once placed.
 */
function keepManifestBackup(manifests: string[]): string {
    return manifestsHashFunction(manifests) + `declare -A staged_tmp=()
for i in "\${!staged_targets[@]}"; do staged_tmp["\${staged_targets[$i]}"]=\${staged_tmps[$i]}; done
replaced=false
for f in ${manifests.join(" ")}; do
    [ -n "\${staged_tmp[$f]:-}" ] && [ -f "$manifests_before/$(basename "$f")" ] && replaced=true
done
# The gate waits for a new kube-apiserver pod only when this run replaces its manifest.
[ -n "\${staged_tmp[${APISERVER_MANIFEST}]:-}" ] || apiserver_hash=-
if $replaced; then
    backup=/etc/kubernetes/tmp/kubeadm-backup-manifests-$(date -u +%Y-%m-%d-%H-%M-%S)
    while [ -e "$backup" ]; do backup=$backup-1; done
    install -d -m 0700 -o 0 -g 0 /etc/kubernetes/tmp
    cp -a "$manifests_before" "$backup"
    placed_digest=$(for f in ${manifests.join(" ")}; do cat "\${staged_tmp[$f]:-$f}" 2>/dev/null || true; done | sha256sum | cut -d' ' -f1)
    printf '%s %s %s\\n' "$placed_digest" "$backup" "$apiserver_hash" >${MANIFEST_BACKUP_POINTER}
    echo "backed up the replaced manifests to $backup"
fi
`;
}

export function kubeletVersionCheck(i: { version: string; minimumKubeletVersion: string }, what = "a control plane"): string {
    const want = i.version.replace(/^v/, "");
    const wantMinor = want.split(".").slice(0, 2).join(".");
    const min = i.minimumKubeletVersion.replace(/^v/, "");
    // As kubeadm: no older than the minimum, and no newer minor than the control plane (a newer patch is fine).
    return `if command -v kubelet >/dev/null 2>&1; then
    kubelet_version=$(kubelet --version 2>/dev/null | awk '{ sub(/^v/, "", $2); print $2 }')
    kubelet_minor=$(printf '%s' "$kubelet_version" | cut -d. -f1,2)
    oldest=$(printf '%s\\n%s\\n' "$kubelet_version" ${shellWord(min)} | sort -V | sed -n 1p)
    newest=$(printf '%s\\n%s\\n' "$kubelet_minor" ${shellWord(wantMinor)} | sort -V | tail -n1)
    if [ -z "$kubelet_version" ]; then
        check KubeletVersion "kubelet --version printed no version"
    elif [ "$oldest" != ${shellWord(min)} ] || [ "$newest" != ${shellWord(wantMinor)} ]; then
        check KubeletVersion "the kubelet is v$kubelet_version; ${what} at v${want} needs a kubelet from v${min} to v${wantMinor}.x (the skew policy); install the kubelet of v${want}"
    fi
else
    check KubeletVersion "kubelet is not installed; install the kubelet package of v${want}"
fi
report
`;
}

/** `restart_static_pod MANIFEST`: moves it out until its pod has stopped, then back, as kubeadm's docs restart a static pod. */
function restartFunction(i: { node: NodeAddress; bindPort: number; timeoutSeconds: number }): string {
    const loopback = i.node.address.includes(":") ? "::1" : "127.0.0.1";
    return `restart_static_pod() {
    local manifest=$1 name port addr parked deadline
    name=$(basename "$manifest" .yaml)
    case $name in
        kube-apiserver) port=${i.bindPort} addr=${shellWord(i.node.address)} ;;
        etcd) port=2379 addr=${shellWord(i.node.address)} ;;
        kube-controller-manager) port=10257 addr=${loopback} ;;
        *) port=10259 addr=${loopback} ;;
    esac
    parked=/etc/kubernetes/tmp/pulumi-kubeadm-restart
    install -d -m 0700 -o 0 -g 0 "$parked"
    mv -f "$manifest" "$parked/" || fail "cannot move $manifest out to restart $name"
    deadline=$(( $(date +%s) + ${i.timeoutSeconds} ))
    while ss -Hltn | awk -v a="$addr" -v p="$port" '$4 == a":"p || $4 == "["a"]:"p || $4 == "0.0.0.0:"p || $4 == "*:"p || $4 == "[::]:"p { found = 1 } END { exit !found }'; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            mv -f "$parked/$name.yaml" "$manifest"
            fail "$name still listens on $addr:$port ${i.timeoutSeconds}s after its manifest was moved out; is the kubelet running? (journalctl -u kubelet)"
        fi
        sleep 1
    done
    mv -f "$parked/$name.yaml" "$manifest" || fail "cannot move $manifest back"
    echo "restarted $name"
}
`;
}

export interface ReadinessGateInput extends ScriptContext {
    node: NodeAddress;
    bindPort: number;
    certificatesDir: string;
    timeoutSeconds: number;
    /** A digest of what the gate checks after, so it runs again after each change. */
    after: string;
    /** The manifests to roll back (kube-apiserver, controller-manager, scheduler): on timeout, when the install that just ran replaced them (and backed them up), restore them and wait again. */
    rollback?: string[];
}

/**
 * kubeadm's wait-control-plane for one node: GET https://<address>:<port>/readyz, trusting only the
 * cluster's ca.crt and checking the serving certificate names the address, until it answers "ok"
 * or the timeout passes (then the last answer and where to look).
 */
export function readinessGateScript(i: ReadinessGateInput): string {
    const gate = scriptHeader(i) + `# checks after: ${i.after}\n` + waitReadyFunction(i);
    if (!i.rollback) return gate + "wait_ready || exit 1\n";
    return gate + manifestsHashFunction(i.rollback) + apiserverConfigHashFunction() + `backup="" old_hash=-
if [ -f ${MANIFEST_BACKUP_POINTER} ]; then
    read -r digest dir old_hash <${MANIFEST_BACKUP_POINTER} || true
    # Only while the manifests in place are still the ones the install wrote when it made the backup.
    if [ "\${digest:-}" = "$(manifests_hash)" ] && [ -d "\${dir:-}" ]; then backup=$dir; else old_hash=-; fi
fi
# As kubeadm (the mirror pod's hash): the new kube-apiserver pod must run before its /readyz counts,
# not the old one still answering. Where crictl cannot tell (old_hash "-"), /readyz alone.
wait_new_pod() {
    local deadline
    [ "\${old_hash:--}" != - ] || return 0
    deadline=$(( $(date +%s) + ${i.timeoutSeconds} ))
    until [ "$(apiserver_config_hash)" != - ] && [ "$(apiserver_config_hash)" != "$old_hash" ]; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            printf '[%s] %s: the kubelet did not run the new kube-apiserver pod within ${i.timeoutSeconds}s (its config hash is still %s)\\n' "$HOST" "$STEP" "$old_hash" >&2
            return 1
        fi
        sleep 2
    done
}
if wait_new_pod && wait_ready; then
    rm -f ${MANIFEST_BACKUP_POINTER}
    exit 0
fi
# As kubeadm upgrade: the manifests the install replaced go back, and the node must be ready with them.
[ -n "$backup" ] || fail "kube-apiserver is not ready after ${i.timeoutSeconds}s, and this install replaced no manifest to roll back to (nothing was upgraded here); fix the cause above"
# What the new kube-apiserver last wrote, for the upgrade's verdict to quote.
apiserver_log_tail | sed "s/^/${APISERVER_SAID_PREFIX}/" || true
# etcd is never rolled back (kubeadm never downgrades etcd: a member may have moved its data on).
for target in ${i.rollback.join(" ")}; do
    old=$backup/$(basename "$target")
    [ -f "$old" ] || continue
    tmp=$(mktemp "${MANIFESTS_DIR}/.pulumi-kubeadm.XXXXXX")
    if ! { cp "$old" "$tmp" && chmod 0600 "$tmp" && mv -f "$tmp" "$target"; }; then fail "cannot restore $target from $backup"; fi
done
rm -f ${MANIFEST_BACKUP_POINTER}
echo "rolling back: restored the manifests of $backup"
wait_ready || fail "kube-apiserver is not ready after ${i.timeoutSeconds}s with the new manifests, nor with the ones restored from $backup; the node is out of the load balancer: fix it by hand"
echo "${ROLLED_BACK_PREFIX}$backup"
`;
}

/** Where the install leaves "<install digest> <backup dir>" for the readiness gate's rollback. */
export const MANIFEST_BACKUP_POINTER = "/etc/kubernetes/tmp/pulumi-kubeadm-manifests-backup";
/** The readiness gate's last line after a rollback. */
export const ROLLED_BACK_PREFIX = "rolled back to the manifests of ";
/** Before a rollback, the readiness gate's lines of what the failed kube-apiserver last wrote. */
export const APISERVER_SAID_PREFIX = "kube-apiserver said: ";

/** `wait_ready`: the bounded wait for the node's /readyz. */
function waitReadyFunction(i: { node: NodeAddress; bindPort: number; certificatesDir: string; timeoutSeconds: number }): string {
    const hostPort = joinHostPort(i.node.address, i.bindPort);
    const url = `https://${hostPort}/readyz`;
    const ca = `${i.certificatesDir}/ca.crt`;
    return `if command -v curl >/dev/null 2>&1; then
    probe() { curl -sS --max-time 5 --cacert ${shellWord(ca)} -o - -w '\\n%{http_code}' ${shellWord(url)} 2>&1; }
elif command -v openssl >/dev/null 2>&1; then
    probe() {
        printf 'GET /readyz HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' ${shellWord(hostPort)} \\
            | timeout 5 openssl s_client -quiet -verify_return_error -CAfile ${shellWord(ca)} -verify_ip ${shellWord(i.node.address)} -connect ${shellWord(hostPort)} 2>&1 \\
            | awk 'NR == 1 { code = $2 } /^\\r?$/ { body = 1; next } body { print } END { printf "\\n%s", code }'
    }
else
    fail "neither curl nor openssl is installed to check ${url}; install curl"
fi
# The last lines kube-apiserver wrote, where the kubelet keeps them (/var/log/pods, CRI log format), else as crictl gives them.
apiserver_log_tail() {
    local log id
    log=$(find /var/log/pods -path '*/kube-system_kube-apiserver-*/kube-apiserver/*.log' -printf '%T@ %p\\n' 2>/dev/null | sort -rn | head -n 1 | cut -d' ' -f2- || true)
    if [ -n "$log" ]; then
        printf 'kube-apiserver last wrote (%s):\\n' "$log"
        { tail -n 12 "$log" 2>&1 || true; } | sed -E 's/^[0-9]{4}-[0-9-]+T[0-9:.]+(Z|[+-][0-9:]+) (stdout|stderr) [FP] //; s/^/    /'
    elif command -v crictl >/dev/null 2>&1; then
        id=$(crictl ps -a --name kube-apiserver -q 2>/dev/null || true)
        id=\${id%%$'\\n'*}
        if [ -n "$id" ]; then
            printf 'kube-apiserver last wrote (crictl logs %s):\\n' "$id"
            crictl logs --tail 12 "$id" 2>&1 | sed 's/^/    /' || true
        fi
    fi
    return 0
}
wait_ready() {
    local deadline answer code
    deadline=$(( $(date +%s) + ${i.timeoutSeconds} ))
    while :; do
        answer=$(probe || true)
        code=\${answer##*$'\\n'}
        if [ "$code" = 200 ]; then
            echo "kube-apiserver on $HOST is ready (${url})"
            return 0
        fi
        if [ "$(date +%s)" -ge "$deadline" ]; then
            printf '[%s] %s: kube-apiserver is not ready after ${i.timeoutSeconds}s at %s; last answer: %s\\n' "$HOST" "$STEP" ${shellWord(url)} "$(printf '%s' "$answer" | tr '\\n' ' ' | cut -c1-400)" >&2
            apiserver_log_tail >&2
            printf 'Look at its container (crictl ps -a --name kube-apiserver; crictl logs <id>) and the kubelet (journalctl -u kubelet).\\n' >&2
            return 1
        fi
        sleep 2
    done
}
`;
}

export interface EncryptionRotationInput extends ScriptContext {
    node: NodeAddress;
    bindPort: number;
    certificatesDir: string;
    timeoutSeconds: number;
    /** What this step of the rotation is, for its output ("add the new key second"). */
    phase: string;
}

/**
 * One step of a key rotation on one control plane (the EncryptionConfiguration arrives on stdin):
 * a node that has no encryption config yet is left alone (its install places the final one); one
 * whose config differs gets it and its kube-apiserver restarted, then waits until it is ready.
 */
export function encryptionRotationScript(i: EncryptionRotationInput): string {
    return scriptHeader(i) + `if [ ! -f ${ENCRYPTION_CONFIG_PATH} ] || [ ! -f ${APISERVER_MANIFEST} ]; then
    echo "no kube-apiserver with encryption at rest on $HOST yet: nothing to rotate (${i.phase})"
    cat >/dev/null
    exit 0
fi
` + placeFilesScript([{ path: ENCRYPTION_CONFIG_PATH, mode: "0600", secret: true, check: encryptionConfigCheck() }])
        + restartFunction(i)
        + waitReadyFunction(i)
        + `if [ "\${#changed[@]}" -gt 0 ]; then
    restart_static_pod ${APISERVER_MANIFEST}
    wait_ready
fi
echo ${shellWord(`encryption key rotation (${i.phase}) done on`)} "$HOST"
` + pendingDone();
}

/**
 * Rotation's middle step: every Secret (and every other encrypted resource) read and written back
 * through the API, so it is encrypted with the new first key, as system:masters (super-admin.conf,
 * on the first control plane; admin.conf elsewhere). When any control plane already had encryption
 * (`required`), a node without a control plane here is an error, not a skip: the old key must not
 * be dropped while data encrypted with it may remain.
 */
export function rewriteResourcesScript(i: ScriptContext & { resources: string[]; endpoint: string; required: boolean }): string {
    return scriptHeader(i) + `kubeconfig=/etc/kubernetes/super-admin.conf
[ -f "$kubeconfig" ] || kubeconfig=/etc/kubernetes/admin.conf
if [ ! -f "$kubeconfig" ] || [ ! -f ${APISERVER_MANIFEST} ]; then
    ${i.required ? `fail "no control plane with $kubeconfig on $HOST to rewrite the encrypted resources through, yet other control planes hold data under the old key; the old key is kept until this succeeds"` : `echo "no control plane had encryption at rest yet: nothing to rewrite"
    exit 0`}
fi
command -v kubectl >/dev/null 2>&1 || fail "kubectl is needed to rewrite the encrypted resources with the new key; install the kubectl package"
kc=(kubectl --kubeconfig "$kubeconfig")
` + TOOL_SAID + `err=$(mktemp)
trap 'rm -f "$err"' EXIT
resources=(${i.resources.map(shellWord).join(" ")})
for resource in "\${resources[@]}"; do
    case $resource in *'*'*) fail "rewriting wildcard resources ($resource) is not supported; list the resources" ;; esac
    count=$("\${kc[@]}" get "$resource" --all-namespaces -o name 2>"$err") || fail "listing $resource through ${i.endpoint} failed: $(said "$(cat "$err")"); the old key is kept until this succeeds"
    if [ -z "$count" ]; then echo "no $resource to rewrite"; continue; fi
    "\${kc[@]}" get "$resource" --all-namespaces -o json 2>"$err" | "\${kc[@]}" replace -f - >/dev/null 2>>"$err" \\
        || fail "rewriting $resource through ${i.endpoint} failed: $(said "$(cat "$err")"); the old key is kept until this succeeds"
    echo "rewrote every $resource with the new key ($(printf '%s\\n' "$count" | wc -l))"
done
`;
}

/** A control plane's own static pod manifests (etcd's too when it is stacked there). */
export function controlPlaneManifests(stackedEtcd: boolean): string[] {
    return [...(stackedEtcd ? [ETCD_MANIFEST] : []), APISERVER_MANIFEST, CONTROLLER_MANAGER_MANIFEST, SCHEDULER_MANIFEST];
}

/**
 * After a control plane's readiness gate and registration: when the gate rolled the new manifests
 * back, the run stops here, saying so (the node is ready and registered with its old manifests; no
 * other node was touched). Otherwise it says nothing changes, and does not run again.
 */
export function upgradeVerdictScript(i: ScriptContext & { gateOutput: string; timeoutSeconds: number; installUrn: string; afterAll?: boolean }): string {
    const line = String(i.gateOutput ?? "").split("\n").find(l => l.startsWith(ROLLED_BACK_PREFIX));
    if (!line) return scriptHeader(i) + "echo \"$HOST: ready with the manifests this program placed, nothing rolled back: nothing to do\"\n";
    const backup = line.slice(ROLLED_BACK_PREFIX.length);
    const said = String(i.gateOutput).split("\n").filter(l => l.startsWith(APISERVER_SAID_PREFIX)).map(l => l.slice(APISERVER_SAID_PREFIX.length));
    const others = i.afterAll
        ? "no other node was changed. With upgrade.registration afterAll it is back in the load balancer only if the control planes serving there run its version, since no two versions serve at once"
        : "no other node was changed";
    // The message is literal: the URN's "$" must not expand.
    return scriptHeader(i) + `# shellcheck disable=SC2016\nfail ${shellWord(`kube-apiserver was not ready within ${i.timeoutSeconds}s with the new manifests, so they were rolled back to ${backup} (kubeadm's backup) and the node is ready${i.afterAll ? "" : " and back in the load balancer"}; ${others}. Find the cause (crictl logs of kube-apiserver; journalctl -u kubelet on ${i.host}), fix the program or the host, and run pulumi up again; to retry the same program: pulumi up --replace '${i.installUrn}'${said.length ? `\n${said.join("\n")}` : ""}`)}
`;
}

export interface UpgradePreflightInput extends ScriptContext {
    controlPlanes: NodeAddress[];
    bindPort: number;
    certificatesDir: string;
    /** The etcd members the API servers use (none for external etcd, which is not checked). */
    etcdMembers: NodeAddress[];
    /** What the check is before (it runs again on a change of it), e.g. "v1.33.2". */
    before: string;
    /** How long failing checks are read again before the upgrade is refused, in seconds. */
    settleSeconds: number;
}

/**
 * kubeadm upgrade's health checks, run on the first control plane before a version change touches
 * anything: every control plane ready (/readyz with the cluster CA), every etcd member healthy and
 * the member list exactly the expected one (etcd's JSON gateway, with the API server's etcd client
 * certificate). Checks that fail are read again every 2 s for settleSeconds (a leader election or
 * a restarting kube-apiserver passes), then every problem still there is listed, and nothing is
 * changed. A cluster with no control plane yet has nothing to check.
 */
export function upgradePreflightScript(i: UpgradePreflightInput): string {
    const pki = i.certificatesDir;
    const expected = i.etcdMembers.map(m => m.name).sort().join(",");
    return scriptHeader(i) + `# before: ${i.before}
command -v curl >/dev/null 2>&1 || fail "the upgrade's health checks need curl on $HOST; install curl"
control_planes=(${i.controlPlanes.map(c => shellWord(`${c.name}=https://${joinHostPort(c.address, i.bindPort)}/readyz`)).join(" ")})
if [ ! -f ${APISERVER_MANIFEST} ]; then
    # A new cluster, unless another control plane already answers (this host was replaced or moved first).
    for entry in "\${control_planes[@]}"; do
        name=\${entry%%=*} url=\${entry#*=}
        if [ "$(curl -sk --max-time 5 -o /dev/null -w '%{http_code}' "$url" 2>/dev/null || true)" != 000 ]; then
            fail "$HOST runs no control plane yet, but $name answers at $url: the cluster runs, and its health checks and etcd snapshot run on the first control plane listed; list one that already runs first"
        fi
    done
    echo "no control plane on $HOST yet: a new cluster, nothing to check"
    exit 0
fi
${i.etcdMembers.length ? `etcd_get() { curl -sS --max-time 5 --cacert ${shellWord(`${pki}/etcd/ca.crt`)} --cert ${shellWord(`${pki}/apiserver-etcd-client.crt`)} --key ${shellWord(`${pki}/apiserver-etcd-client.key`)} "$@" 2>&1; }
` : ""}# check_health: the problems the cluster has now, in problems.
check_health() {
    problems=()
    for entry in "\${control_planes[@]}"; do
        name=\${entry%%=*} url=\${entry#*=}
        if ! answer=$(curl -sS --max-time 5 --cacert ${shellWord(`${pki}/ca.crt`)} -o - -w '\\n%{http_code}' "$url" 2>&1) || [ "\${answer##*$'\\n'}" != 200 ]; then
            problems+=("control plane $name is not ready: $url answered $(printf '%s' "$answer" | tr '\\n' ' ' | cut -c1-200)")
        fi
    done
${i.etcdMembers.length ? `    etcd_members=(${i.etcdMembers.map(m => shellWord(`${m.name}=https://${joinHostPort(m.address, 2379)}`)).join(" ")})
    for entry in "\${etcd_members[@]}"; do
        name=\${entry%%=*} url=\${entry#*=}
        answer=$(etcd_get "$url/health" || true)
        [[ $answer == *'"health":"true"'* ]] || problems+=("etcd member $name is not healthy: $url/health answered $(printf '%s' "$answer" | tr '\\n' ' ' | cut -c1-200)")
    done
    members=$(etcd_get -X POST ${shellWord(`https://${joinHostPort(i.etcdMembers[0].address, 2379)}/v3/cluster/member/list`)} -d '{}' | grep -o '"name":"[^"]*"' | cut -d'"' -f4 | LC_ALL=C sort | paste -sd, - || true)
    [ "$members" = ${shellWord(expected)} ] || problems+=("etcd's members are [$members], not the expected [${expected}]")
` : ""}}
# A failing check is read again for a while (an etcd leader election, a kube-apiserver restarting), then the upgrade is refused.
deadline=$(( $(date +%s) + ${i.settleSeconds} ))
check_health
until [ "\${#problems[@]}" -eq 0 ] || [ "$(date +%s)" -ge "$deadline" ]; do
    sleep 2
    check_health
done
if [ "\${#problems[@]}" -gt 0 ]; then
    printf '[%s] %s: the cluster is not healthy, so the upgrade to %s does not start (nothing was changed):\\n' "$HOST" "$STEP" ${shellWord(i.before)} >&2
    printf '  - %s\\n' "\${problems[@]}" >&2
    exit 1
fi
echo "cluster healthy before the upgrade to ${i.before}: ${i.controlPlanes.length} control plane(s) ready${i.etcdMembers.length ? `, etcd members ${expected} healthy` : ""}"
`;
}
