import { joinHostPort } from "../spec/network";
import { NodeAddress, NodePreparationSpec } from "../spec/types";
import { KUBELET_DROPIN_DIR } from "./kubelet";
import { cgroupsCheck, checkFunctions, portChecks, preparedCheckNames, preparedChecks, preparedChecksLater } from "./preflight";
import { kubeletPackageChanges, kubeletPackageUpgrade } from "./kubelet-upgrade";
import { anyChanged, digest, ensureDir, kubeletRunning, PlacedFile, placeFilesScript, ScriptContext, scriptHeader, shellWord, summary } from "./scripts";

export const ETCD_MANIFEST = "/etc/kubernetes/manifests/etcd.yaml";

/** Names of the preflight checks on an etcd member, as kubeadm names them (--ignore-preflight-errors). */
export const ETCD_PREFLIGHT_CHECKS = [
    "IsPrivilegedUser", "SystemVerification", "FileExisting-kubelet", "CRI", "Port-2379", "Port-2380", "Port-2381", "DirAvailable--var-lib-etcd",
] as const;

export interface EtcdPreflightInput extends ScriptContext {
    member: NodeAddress;
    /** "stacked" members also listen on the loopback for clients. */
    topology: string;
    dataDir: string;
    /** Where the etcd CA is, to tell this cluster's member from another's. */
    certificatesDir: string;
    criSocket: string;
    /** The minor of the kubelet that runs the member ("1.37"): from 1.35 it refuses cgroups v1 hosts. */
    kubeletMinor: string;
    /** Check names to skip (case-insensitive); "all" skips every check. */
    ignore: string[];
    /** sha256 of the etcd CA this cluster uses: a member is "ours" only under the same CA. */
    caSha256: string;
    /** nodePreparation runs later, after every host's preflight: the checks of what it provides (preparedChecks) are left to it. */
    preparedLater?: boolean;
}

/** kubeadm's name for the data dir check (DirAvailable--var-lib-etcd for the default). */
export const dataDirCheckName = (dataDir: string) => `DirAvailable-${dataDir.replace(/\//g, "-")}`;

/** Shell lines that set `ours=true` when this host already runs this member of this cluster. */
function thisMember(i: { member: NodeAddress; caSha256: string; certificatesDir: string }): string {
    return `ours=false
if [ -f ${ETCD_MANIFEST} ] && awk -v want=${shellWord(`--name=${i.member.name}`)} '{ v = $0; sub(/^[[:space:]]*-[[:space:]]*/, "", v); gsub(/["\\047]/, "", v) } v == want { found = 1 } END { exit !found }' ${ETCD_MANIFEST} \
    && [ "$(sha256sum ${shellWord(`${i.certificatesDir}/etcd/ca.crt`)} 2>/dev/null | cut -d' ' -f1)" = ${shellWord(i.caSha256)} ]; then
    ours=true
fi
`;
}

/**
 * kubeadm's preflight for an etcd member: every failed check is reported, with its name and how to
 * fix or skip it. Ports in use and a data dir with data pass only when they are this member's own:
 * its manifest names it and the etcd CA on the host is this cluster's.
 */
export function etcdPreflightScript(i: EtcdPreflightInput): string {
    const ipv6 = i.member.address.includes(":");
    const loopback = ipv6 ? "::1" : "127.0.0.1";
    // Where etcd will listen: the member address for clients and peers, the loopback for metrics
    // (and for clients when stacked).
    const listeners = [`2379@${i.member.address}`, `2380@${i.member.address}`, `2381@${loopback}`];
    if (i.topology === "stacked") listeners.push(`2379@${loopback}`);
    return scriptHeader(i) + `
${checkFunctions(i.ignore)}${thisMember(i)}
[ "$(id -u)" -eq 0 ] || check IsPrivilegedUser "running as $(id -un); connect as root"
${cgroupsCheck(i.kubeletMinor)}${i.preparedLater ? preparedChecksLater(preparedCheckNames({ node: false })) : preparedChecks({ node: false, criSocket: i.criSocket })}${portChecks(listeners, "this member")}if [ -d ${shellWord(i.dataDir)} ] && [ -n "$(ls -A ${shellWord(i.dataDir)} 2>/dev/null)" ] && [ "$ours" != true ]; then
    check ${shellWord(dataDirCheckName(i.dataDir))} ${shellWord(`${i.dataDir} is not empty and holds no member of this cluster (no etcd manifest naming ${i.member.name} under this cluster's etcd CA); move it away or set etcd.dataDir`)}
fi

report
echo "[preflight] $HOST: all checks passed"
`;
}

export interface EtcdInstallInput extends ScriptContext {
    member: NodeAddress;
    /** Every member of the cluster, this one included (a restart waits for the others' quorum). */
    members: NodeAddress[];
    /** Certificates and keys under the certificates directory, then the kubelet drop-ins and the manifest. */
    files: PlacedFile[];
    dataDir: string;
    certificatesDir: string;
    /** How long to wait for a restarted member to be healthy again, in seconds. */
    timeoutSeconds: number;
    /**
     * With nodePreparation: the kubelet and kubectl packages at this version through its installer,
     * here (one member at a time, behind the quorum gate), not in the preparation (every member at once).
     */
    kubeletUpgrade?: { installer: NodePreparationSpec; version: string };
}

/**
 * kubeadm's order on an etcd host: certificates, the kubelet as a standalone static-pod manager
 * (daemon-reload and restart only when its drop-ins changed), the data dir (0700), then the static
 * pod. A member that already had data and whose manifest changes restarts: first the other members
 * must keep quorum without it; after it the step waits until a new etcd process serves the client
 * port and is healthy, so members change one at a time.
 */
export function etcdInstallScript(i: EtcdInstallInput): string {
    const dropIns = i.files.map(f => f.path).filter(p => p.startsWith(`${KUBELET_DROPIN_DIR}/`));
    return scriptHeader(i)
        + `had_data=false
if [ -d ${shellWord(`${i.dataDir}/member`)} ]; then had_data=true; fi
` + etcdServingBefore(i.member)
        + etcdQuorumGateScript({
            member: i.member, members: i.members, dataDir: i.dataDir, certificatesDir: i.certificatesDir, timeoutSeconds: i.timeoutSeconds,
            restartsOn: i.files.filter(f => f.path === ETCD_MANIFEST),
            alsoWhen: i.kubeletUpgrade && kubeletPackageChanges(i.kubeletUpgrade.version),
        })
        + ensureDir("/etc/kubernetes/manifests", "0700")
        + ensureDir(i.dataDir, "0700")
        + placeFilesScript(i.files)
        + (i.kubeletUpgrade ? kubeletPackageUpgrade(i.kubeletUpgrade.installer, i.kubeletUpgrade.version) : "")
        + anyChanged(dropIns)
        + kubeletRunning() + `watched=(${ETCD_MANIFEST})
if [ "$had_data" = true ] && any_changed; then
${etcdRestartedWait(i.member, i.certificatesDir, i.timeoutSeconds)}fi
`
        + summary();
}

/** Before a change that may restart this member's etcd: `serving_before`, the pid serving its client port ("" when none). */
export function etcdServingBefore(member: NodeAddress): string {
    return `# client_listener: the pid of the process serving etcd's client port on the member's address ("" when none).
client_listener() { ss -Hltnp 2>/dev/null | awk -v a=${shellWord(joinHostPort(member.address, 2379))} '$4 == a' | grep -o 'pid=[0-9]*' | head -n1 | cut -d= -f2 || true; }
serving_before=$(client_listener)
`;
}

/**
 * After this member's etcd was made to restart (its manifest changed, or it was moved out and back):
 * a bounded wait for a new process on its client port (the kubelet replaces the pod on its own
 * schedule, and the old process's health must not count for the new one's), then for its health.
 * Indented, for the body of an \`if\` (needs etcdServingBefore earlier in the script).
 */
export function etcdRestartedWait(member: NodeAddress, certificatesDir: string, timeoutSeconds: number): string {
    return (etcdctlFunction(certificatesDir) + `deadline=$(( $(date +%s) + ${timeoutSeconds} ))
if [ -n "$serving_before" ]; then
    until serving_now=$(client_listener) && [ -n "$serving_now" ] && [ "$serving_now" != "$serving_before" ]; do
        [ "$(date +%s)" -lt "$deadline" ] || fail ${shellWord(`the kubelet has not replaced ${member.name}'s etcd after ${timeoutSeconds}s (the same process still serves ${joinHostPort(member.address, 2379)}); see: journalctl -u kubelet`)}
        sleep 1
    done
fi
until etcdctl_ --endpoints=${shellWord(`https://${joinHostPort(member.address, 2379)}`)} endpoint health >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail ${shellWord(`the restarted member ${member.name} is not healthy after ${timeoutSeconds}s; see its etcd log (crictl logs) and: journalctl -u kubelet`)}
    sleep 2
done
echo "restarted member is healthy"
`).replace(/^(?=.)/gm, "    ");
}

export interface EtcdQuorumGate {
    member: NodeAddress;
    /** The cluster's members as configured: whom to ask for etcd's own member list. */
    members: NodeAddress[];
    dataDir: string;
    certificatesDir: string;
    /** What restarts this member when it changes: its manifest and certificates, with their new content. */
    restartsOn: PlacedFile[];
    timeoutSeconds: number;
    /** A shell condition that also counts as a restart (its kubelet package about to change). */
    alsoWhen?: string;
}

/**
 * \`peers_needed N\`: how many of the other voting members must be healthy before one of N restarts:
 * never more than ⌊(N−1)/2⌋ of N down, the restarting one included (with one or two voting
 * members the restart itself costs quorum, which the spec's warning names: then every other one).
 */
export const PEERS_NEEDED_FUNCTION = `peers_needed() {
    local n=$1 spare
    spare=$(( (n - 1) / 2 - 1 ))
    [ "$spare" -ge 0 ] || spare=0
    echo $(( n - 1 - spare ))
}
`;

/**
 * Before a member that holds data restarts (its manifest or certificates change), a bounded wait
 * until enough of the other voting members answer healthy that etcd keeps quorum while it is down,
 * counted from etcd's own member list (a learner or a member being added counts as etcd counts
 * it); else the step stops before anything is placed, naming the members that did not answer.
 */
export function etcdQuorumGateScript(g: EtcdQuorumGate): string {
    const watched = g.restartsOn.filter(f => !f.secret).map(f => shellWord(`${f.path}=${digest(f.content ?? "")}`));
    if (watched.length === 0 && !g.alsoWhen) return "";
    const endpoints = g.members.map(m => `https://${joinHostPort(m.address, 2379)}`).join(",");
    const me = shellWord(g.member.name);
    return `# etcd's quorum before ${g.member.name} restarts.
etcd_restarts=false
restart_inputs=(${watched.join(" ")})
for f in \${restart_inputs[@]+"\${restart_inputs[@]}"}; do
    [ "$(sha256sum "\${f%%=*}" 2>/dev/null | cut -d' ' -f1)" = "\${f#*=}" ] || etcd_restarts=true
done
${g.alsoWhen ? `if ${g.alsoWhen}; then etcd_restarts=true; fi
` : ""}if [ -d ${shellWord(`${g.dataDir}/member`)} ] && [ "$etcd_restarts" = true ]; then
${(etcdctlFunction(g.certificatesDir) + PEERS_NEEDED_FUNCTION).replace(/^(?=.)/gm, "    ")}    deadline=$(( $(date +%s) + ${g.timeoutSeconds} ))
    while :; do
        problem=""
        # etcdctl's simple format: ID, STATUS, NAME, PEER ADDRS, CLIENT ADDRS, IS LEARNER (a member not started yet has no name or client URL).
        if list=$(etcdctl_ --endpoints=${shellWord(endpoints)} member list 2>&1); then
            voters=0 healthy=0 learner=false
            unhealthy=()
            while IFS= read -r line; do
                [ -n "$line" ] || continue
                name=$(awk -F', ' '{ print $3 }' <<< "$line")
                url=$(awk -F', ' '{ print $(NF-1) }' <<< "$line")
                if [ "$(awk -F', ' '{ print $NF }' <<< "$line")" = true ]; then
                    [ "$name" != ${me} ] || learner=true
                    continue
                fi
                voters=$((voters + 1))
                [ "$name" != ${me} ] || continue
                if [ -n "$url" ] && etcdctl_ --endpoints="$url" endpoint health >/dev/null 2>&1 </dev/null; then healthy=$((healthy + 1)); else unhealthy+=("\${name:-(not started)}"); fi
            done <<< "$list"
            if [ "$learner" = true ]; then echo "etcd: ${g.member.name} is a learner: its restart costs no quorum"; break; fi
            need=$(peers_needed "$voters")
            [ "$healthy" -lt "$need" ] || { echo "etcd: $healthy of $((voters - 1)) other voting members healthy ($need needed): ${g.member.name} may restart"; break; }
            problem="only $healthy of the other $((voters - 1)) voting members answer healthy (not healthy: \${unhealthy[*]}); etcd needs $need of them to keep quorum while ${g.member.name} is down"
        else
            problem="etcd's member list could not be read ($(tail -n1 <<< "$list")), so its quorum cannot be counted"
        fi
        [ "$(date +%s)" -lt "$deadline" ] || fail "${g.member.name}'s etcd would restart, but after ${g.timeoutSeconds}s $problem. Nothing was changed here: bring those members back (crictl logs of etcd; journalctl -u kubelet on them), then pulumi up again"
        sleep 2
    done
fi
`;
}

export interface EtcdHealthInput extends ScriptContext {
    members: NodeAddress[];
    certificatesDir: string;
    timeoutSeconds: number;
    /** A digest of what the gate checks after (the members' install steps), so it runs again after each change. */
    after?: string;
}

/**
 * \`etcdctl_\`: the host's etcdctl, or the one in the running etcd container (crictl) where none
 * is installed, with the healthcheck-client certificate.
 */
function etcdctlFunction(certificatesDir: string): string {
    const pki = `${certificatesDir}/etcd`;
    const tls = `--cacert=${shellWord(`${pki}/ca.crt`)} --cert=${shellWord(`${pki}/healthcheck-client.crt`)} --key=${shellWord(`${pki}/healthcheck-client.key`)}`;
    // The etcd container is looked up at each call: a member that restarts has a new one.
    return `if command -v etcdctl >/dev/null 2>&1; then
    etcdctl_() { etcdctl ${tls} --dial-timeout=3s --command-timeout=5s "$@"; }
elif command -v crictl >/dev/null 2>&1; then
    etcdctl_() {
        local container
        container=$(crictl ps --name '^etcd$' -q 2>/dev/null | head -n1) || true
        [ -n "$container" ] || { echo "no etcd container runs on $HOST (crictl ps --name etcd)" >&2; return 1; }
        crictl exec "$container" etcdctl ${tls} --dial-timeout=3s --command-timeout=5s "$@"
    }
else
    fail "neither etcdctl nor crictl on this host to check etcd with; install etcd-client (or cri-tools)"
fi
`;
}

/**
 * The health gate: bounded wait until every member answers healthy through etcdctl with the
 * healthcheck-client certificate and the member list is exactly the expected one; on timeout it
 * names each unhealthy member and what it answered.
 */
export function etcdHealthScript(i: EtcdHealthInput): string {
    const endpoints = i.members.map(m => `${m.name}=https://${joinHostPort(m.address, 2379)}`);
    const expected = i.members.map(m => m.name).sort().join(",");
    return scriptHeader(i) + (i.after ? `# checks after: ${i.after}\n` : "") + etcdctlFunction(i.certificatesDir) + `
endpoints=(${endpoints.map(shellWord).join(" ")})
deadline=$(( $(date +%s) + ${i.timeoutSeconds} ))
declare -A answer=()
while :; do
    unhealthy=()
    for entry in "\${endpoints[@]}"; do
        name=\${entry%%=*} url=\${entry#*=}
        if out=$(etcdctl_ --endpoints="$url" endpoint health 2>&1); then answer[$name]="healthy"; else
            answer[$name]=$(printf '%s' "$out" | tail -n1); unhealthy+=("$name")
        fi
    done
    if [ "\${#unhealthy[@]}" -eq 0 ]; then
        members=$(etcdctl_ --endpoints=${shellWord(endpoints.map(e => e.slice(e.indexOf("=") + 1)).join(","))} member list 2>&1 | awk -F', ' '{print $3}' | sort | paste -sd, -) || members=""
        if [ "$members" = ${shellWord(expected)} ]; then
            echo "etcd healthy: members $members"
            exit 0
        fi
        answer[member-list]="members are [$members], expected [${expected}]"
        unhealthy+=(member-list)
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        printf '[%s] %s: etcd not healthy after ${i.timeoutSeconds}s:\\n' "$HOST" "$STEP" >&2
        for name in "\${unhealthy[@]}"; do printf '  - %s: %s\\n' "$name" "\${answer[$name]}" >&2; done
        printf 'Check each member: its kubelet (systemctl status kubelet) and the etcd container log.\\n' >&2
        exit 1
    fi
    sleep 2
done
`;
}

export interface StackedEtcdJoin {
    /** The joining member (this control plane). */
    member: NodeAddress;
    /** The members already in the cluster (the control planes before this one), asked in turn. */
    existing: NodeAddress[];
    certificatesDir: string;
    /** Added as a learner and promoted once in sync (kubeadm's EtcdLearnerMode, on from 1.29). */
    learner: boolean;
    timeoutSeconds: number;
}

/**
 * \`etcd_api PATH JSON\`: a POST to etcd's v3 JSON gateway of the first existing member that
 * answers, with the API server's etcd client certificate as kubeadm's etcd client uses (curl only:
 * the joining node has no etcd of its own running yet). Sets \`etcd_error\` when none answers.
 */
function etcdApiFunction(j: StackedEtcdJoin): string {
    const pki = j.certificatesDir;
    const urls = j.existing.map(m => `https://${joinHostPort(m.address, 2379)}`);
    return `etcd_endpoints=(${urls.map(shellWord).join(" ")})
etcd_peer=${shellWord(`https://${joinHostPort(j.member.address, 2380)}`)}
etcd_error=""
etcd_api() {
    local url out
    for url in "\${etcd_endpoints[@]}"; do
        if out=$(curl -sS --max-time 10 --cacert ${shellWord(`${pki}/etcd/ca.crt`)} --cert ${shellWord(`${pki}/apiserver-etcd-client.crt`)} --key ${shellWord(`${pki}/apiserver-etcd-client.key`)} \\
            -X POST "$url/v3/$1" -d "$2" 2>&1) && [[ $out == *'"header":'* ]]; then
            printf '%s' "$out"
            return 0
        fi
        etcd_error="$url answered: $(printf '%s' "$out" | tail -n1)"
    done
    return 1
}
# This member's entry in a member list ({"ID":"…",…,"peerURLs":[…]}; entries hold no nested objects).
etcd_own_entry() { grep -o '{"ID":"[0-9]*"[^{}]*}' | grep -F "\\"$etcd_peer\\"" || true; }
`;
}

/**
 * kubeadm's etcd join for a stacked control plane, before its etcd manifest is written: this
 * member added to the running cluster (as a learner when EtcdLearnerMode is on), unless it already
 * is a member (a second run, or a run that stopped after the add). etcd refuses a new member until
 * every member has been connected for a few seconds ("unhealthy cluster"): retried, bounded, as
 * kubeadm retries it.
 */
export function stackedEtcdMemberAddScript(j: StackedEtcdJoin): string {
    return etcdApiFunction(j) + `deadline=$(( $(date +%s) + ${j.timeoutSeconds} ))
until members=$(etcd_api cluster/member/list '{}'); do
    [ "$(date +%s)" -lt "$deadline" ] || fail "cannot list the etcd members to add ${j.member.name} ($etcd_error); the control planes before this one must run a healthy etcd: check their etcd (crictl ps --name etcd) and kubelet"
    sleep 2
done
if [ -n "$(printf '%s' "$members" | etcd_own_entry)" ]; then
    echo "etcd: ${j.member.name} ($etcd_peer) is already a member"
else
    until etcd_api cluster/member/add "{\\"peerURLs\\":[\\"$etcd_peer\\"]${j.learner ? ",\\\"isLearner\\\":true" : ""}}" >/dev/null; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "could not add ${j.member.name} ($etcd_peer) to the etcd cluster within ${j.timeoutSeconds}s: $etcd_error"
        sleep 2
    done
    echo "etcd: added ${j.member.name} ($etcd_peer)${j.learner ? " as a learner" : ""}"
fi
`;
}

/**
 * After the etcd manifest: a bounded wait until this member is a voting member, promoting the
 * learner as soon as etcd accepts (once it has caught up with the leader).
 */
export function stackedEtcdPromoteScript(j: StackedEtcdJoin): string {
    return `deadline=$(( $(date +%s) + ${j.timeoutSeconds} ))
while :; do
    entry=""
    if members=$(etcd_api cluster/member/list '{}'); then entry=$(printf '%s' "$members" | etcd_own_entry); fi
    if [ -n "$entry" ] && [[ $entry != *'"isLearner":true'* ]] && [[ $entry == *'"name":'* ]]; then
        echo "etcd: ${j.member.name} is a voting member"
        break
    fi
    if [ -n "$entry" ] && [[ $entry == *'"isLearner":true'* ]]; then
        id=$(printf '%s' "$entry" | sed 's/^{"ID":"\\([0-9]*\\)".*/\\1/')
        if etcd_api cluster/member/promote "{\\"ID\\":\\"$id\\"}" >/dev/null; then echo "etcd: promoted ${j.member.name} (learner $id)"; continue; fi
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        fail "etcd member ${j.member.name} did not start and become a voting member within ${j.timeoutSeconds}s (member entry: \${entry:-none}; \${etcd_error:-no error}); see its log: crictl logs \\$(crictl ps -a --name etcd -q --latest), and journalctl -u kubelet"
    fi
    sleep 2
done
`;
}

export const ETCD_SNAPSHOT_DIR = "/var/lib/etcd-snapshots";
/** The snapshot step's line: "etcd snapshot: <path> sha256:<hex>". */
export const ETCD_SNAPSHOT_PREFIX = "etcd snapshot: ";

export interface EtcdSnapshotInput extends ScriptContext {
    member: NodeAddress;
    certificatesDir: string;
    dataDir: string;
    /** What the snapshot is taken before (its file is named for it), e.g. "v1.33.2". */
    before: string;
    /** How long the snapshot may take to stream, in seconds. */
    timeoutSeconds: number;
    /** How many snapshots this program took are kept on the host (the oldest go first). */
    keep: number;
}

/**
 * Before an upgrade changes anything: a snapshot of etcd from this member, kept on the host in
 * /var/lib/etcd-snapshots (0700, file 0600) with its sha256, the last \`keep\` of them. First the
 * free space is checked against the database's size. The host's etcdctl writes the snapshot there
 * directly; the etcd container's (no etcdctl on the host), which sees only the data directory,
 * writes a scratch copy there, moved out at once. Each snapshot is checked (snapshot status) before
 * it counts. A host with no etcd yet (a new cluster) has nothing to keep.
 */
export function etcdSnapshotScript(i: EtcdSnapshotInput): string {
    const url = `https://${joinHostPort(i.member.address, 2379)}`;
    const name = `pre-upgrade-${i.before.replace(/[^A-Za-z0-9.-]/g, "_")}`;
    const dataDir = shellWord(i.dataDir);
    return scriptHeader(i) + `if [ ! -f ${shellWord(`${i.certificatesDir}/etcd/healthcheck-client.key`)} ] || [ ! -f ${ETCD_MANIFEST} ]; then
    echo "no etcd member on $HOST yet: nothing to snapshot"
    exit 0
fi
` + etcdctlFunction(i.certificatesDir) + `install -d -m 0700 -o 0 -g 0 ${ETCD_SNAPSHOT_DIR}
# The snapshot is about the size of the database; it must fit, with room to spare, where it is written.
db=${dataDir}/member/snap/db
size=$(stat -c %s "$db" 2>/dev/null || echo 0)
fits() { # fits DIR: DIR's file system has room for a snapshot, and a tenth more
    local free
    free=$(df -P -B1 "$1" | awk 'NR == 2 { print $4 }')
    [ "\${free:-0}" -ge $(( size + size / 10 )) ]
}
fits ${ETCD_SNAPSHOT_DIR} || fail "not enough free space in ${ETCD_SNAPSHOT_DIR} on $HOST for a snapshot of etcd's $size-byte database (\$(df -P -h ${ETCD_SNAPSHOT_DIR} | awk 'NR == 2 { print $4 }') free): free some, or remove old snapshots there; nothing was changed"
stamp=$(date -u +%Y-%m-%d-%H-%M-%S)
file=${ETCD_SNAPSHOT_DIR}/${name}-$stamp.db
# (A later --command-timeout wins over etcdctl_'s 5 s: a large database takes longer to stream.)
save() { etcdctl_ --endpoints=${shellWord(url)} --command-timeout=${i.timeoutSeconds}s snapshot save "$1" 2>&1; }
if command -v etcdctl >/dev/null 2>&1; then
    out=$(save "$file.part") || { rm -f "$file.part"; fail "etcdctl snapshot save from ${url} failed: $(printf '%s' "$out" | tail -n3 | tr '\n' ' ')"; }
    chmod 0600 "$file.part"
    # etcdctl 3.6 and later have no "snapshot status": etcdutl reads snapshots (etcdctl did up to 3.5).
    reader=etcdctl
    if command -v etcdutl >/dev/null 2>&1; then reader=etcdutl; fi
    status=$("$reader" snapshot status "$file.part" -w json 2>&1) || { rm -f "$file.part"; fail "the snapshot etcdctl wrote does not read back ($reader snapshot status: $status); nothing was changed"; }
    mv -f "$file.part" "$file"
else
    # Inside the etcd container only its data dir is the host's: the scratch copy goes there, then moves out.
    fits ${dataDir} || fail "not enough free space in ${i.dataDir} on $HOST for the etcd container's scratch copy of its $size-byte database: free some; nothing was changed"
    scratch=${dataDir}/pulumi-kubeadm-snapshot-$stamp.db
    out=$(save "$scratch") || { rm -f "$scratch"; fail "etcdctl snapshot save from ${url} failed: $(printf '%s' "$out" | tail -n3 | tr '\n' ' ')"; }
    chmod 0600 "$scratch"
    container=$(crictl ps --name '^etcd$' -q 2>/dev/null | sed -n 1p) || true
    status=$(crictl exec "$container" etcdutl snapshot status "$scratch" -w json 2>&1) || { rm -f "$scratch"; fail "the snapshot does not read back (etcdutl snapshot status: $status); nothing was changed"; }
    mv -f "$scratch" "$file"
fi
# The last ${i.keep} snapshots this program took stay; older ones go.
mapfile -t old < <(find ${ETCD_SNAPSHOT_DIR} -maxdepth 1 -name 'pre-upgrade-*.db' -printf '%T@ %p\n' | LC_ALL=C sort -rn | cut -d' ' -f2- | tail -n +${i.keep + 1})
for f in \${old[@]+"\${old[@]}"}; do rm -f "$f" && echo "removed the older snapshot $f (upgrade.etcdSnapshot keeps ${i.keep})"; done
echo "${ETCD_SNAPSHOT_PREFIX}$file sha256:$(sha256sum "$file" | cut -d' ' -f1)"
echo "verified ($status); copy it off $HOST (scp, or your backup tool) to keep it when $HOST is lost"
`;
}
