import { joinHostPort } from "../spec/network";
import { NodeAddress } from "../spec/types";
import { KUBELET_DROPIN_DIR } from "./kubelet";
import { anyChanged, ensureDir, PlacedFile, placeFilesScript, ScriptContext, scriptHeader, shellWord, summary } from "./scripts";

export const ETCD_MANIFEST = "/etc/kubernetes/manifests/etcd.yaml";

/** Names of the preflight checks on an etcd member, as kubeadm names them (--ignore-preflight-errors). */
export const ETCD_PREFLIGHT_CHECKS = [
    "IsPrivilegedUser", "FileExisting-kubelet", "CRI", "Port-2379", "Port-2380", "Port-2381", "DirAvailable--var-lib-etcd",
] as const;

export interface EtcdPreflightInput extends ScriptContext {
    member: NodeAddress;
    dataDir: string;
    criSocket: string;
    /** Check names to skip (case-insensitive); "all" skips every check. */
    ignore: string[];
}

/**
 * kubeadm's preflight for an etcd member: every failed check is reported, with its name and how to
 * fix or skip it. Ports in use and a data dir with data are fine when they are this member's own
 * (its manifest names it).
 */
export function etcdPreflightScript(i: EtcdPreflightInput): string {
    const ignore = i.ignore.map(x => x.toLowerCase());
    const dataDirCheck = i.dataDir === "/var/lib/etcd" ? "DirAvailable--var-lib-etcd" : `DirAvailable-${i.dataDir.replace(/\//g, "-")}`;
    const socket = i.criSocket.replace(/^unix:\/\//, "");
    return scriptHeader(i) + `
ignored=" ${ignore.join(" ")} "
failures=()
check() { # check NAME MESSAGE: record a failure unless NAME is ignored
    local lower
    lower=$(printf '%s' "$1" | tr '[:upper:]' '[:lower:]')
    case "$ignored" in *" all "*|*" $lower "*) echo "[preflight] ignored $1: $2"; return 0 ;; esac
    failures+=("$1: $2")
}
ours=false
if [ -f ${ETCD_MANIFEST} ] && grep -q -- ${shellWord(`--name=${i.member.name}`)} ${ETCD_MANIFEST}; then ours=true; fi

[ "$(id -u)" -eq 0 ] || check IsPrivilegedUser "running as $(id -un); connect as root"
command -v kubelet >/dev/null 2>&1 || check FileExisting-kubelet "kubelet is not installed (not on PATH); install the kubelet package"
[ -S ${shellWord(socket)} ] || check CRI ${shellWord(`no container runtime socket at ${i.criSocket}; install and start containerd (or set the host's criSocket)`)}
for entry in ${shellWord(`2379@${i.member.address}`)} ${shellWord(`2380@${i.member.address}`)} 2381@127.0.0.1; do
    port=\${entry%@*} addr=\${entry#*@}
    in_use=$(ss -Hltn "sport = :$port" 2>/dev/null | awk -v a="$addr" -v p="$port" '$4 == a":"p || $4 == "["a"]:"p || $4 == "0.0.0.0:"p || $4 == "*:"p || $4 == "[::]:"p' || true)
    if [ -n "$in_use" ] && [ "$ours" != true ]; then
        check "Port-$port" "port $port is in use on $addr ($(printf '%s' "$in_use" | awk '{print $4}' | head -n1)) and no etcd manifest of this member is present; stop what listens there"
    fi
done
if [ -d ${shellWord(i.dataDir)} ] && [ -n "$(ls -A ${shellWord(i.dataDir)} 2>/dev/null)" ] && [ "$ours" != true ]; then
    check ${dataDirCheck} ${shellWord(`${i.dataDir} is not empty and holds no member of this cluster (no etcd manifest naming ${i.member.name}); move it away or set etcd.dataDir`)}
fi

if [ "\${#failures[@]}" -gt 0 ]; then
    printf '[%s] preflight: %d check(s) failed:\\n' "$HOST" "\${#failures[@]}" >&2
    printf '  - %s\\n' "\${failures[@]}" >&2
    printf 'Fix them, or skip a check by adding its name to ignorePreflightErrors.\\n' >&2
    exit 1
fi
echo "[preflight] $HOST: all checks passed"
`;
}

export interface EtcdInstallInput extends ScriptContext {
    /** Certificates and keys under the certificates directory, then the kubelet drop-ins and the manifest. */
    files: PlacedFile[];
    dataDir: string;
}

/**
 * kubeadm's order on an etcd host: certificates, the kubelet as a standalone static-pod manager
 * (daemon-reload and restart only when its drop-ins changed), the data dir, then the static pod.
 */
export function etcdInstallScript(i: EtcdInstallInput): string {
    const dropIns = i.files.map(f => f.path).filter(p => p.startsWith(`${KUBELET_DROPIN_DIR}/`));
    return scriptHeader(i)
        + ensureDir("/etc/kubernetes/manifests", "0700")
        + placeFilesScript(i.files)
        + anyChanged(dropIns)
        + `if any_changed; then
    systemctl daemon-reload || fail "systemctl daemon-reload failed"
    systemctl restart kubelet || fail "could not restart kubelet; see: journalctl -u kubelet"
    echo "restarted kubelet"
fi
systemctl is-enabled --quiet kubelet 2>/dev/null || systemctl enable kubelet >/dev/null 2>&1 || fail "could not enable kubelet"
systemctl is-active --quiet kubelet || systemctl start kubelet || fail "kubelet is not running and could not be started; see: journalctl -u kubelet"
`
        + ensureDir(i.dataDir, "0700")
        + summary();
}

export interface EtcdHealthInput extends ScriptContext {
    members: NodeAddress[];
    certificatesDir: string;
    timeoutSeconds: number;
}

/**
 * The health gate: bounded wait until every member answers healthy through etcdctl with the
 * healthcheck-client certificate and the member list is exactly the expected one. Uses the
 * host's etcdctl, or the one in the running etcd container (crictl) where none is installed.
 */
export function etcdHealthScript(i: EtcdHealthInput): string {
    const pki = `${i.certificatesDir}/etcd`;
    const endpoints = i.members.map(m => `${m.name}=https://${joinHostPort(m.address, 2379)}`);
    const expected = i.members.map(m => m.name).sort().join(",");
    return scriptHeader(i) + `
etcdctl_() {
    if command -v etcdctl >/dev/null 2>&1; then
        ETCDCTL_API=3 etcdctl --cacert=${pki}/ca.crt --cert=${pki}/healthcheck-client.crt --key=${pki}/healthcheck-client.key --dial-timeout=3s --command-timeout=5s "$@"
    elif command -v crictl >/dev/null 2>&1 && id=$(crictl ps --name '^etcd$' -q 2>/dev/null | head -n1) && [ -n "$id" ]; then
        crictl exec "$id" etcdctl --cacert=${pki}/ca.crt --cert=${pki}/healthcheck-client.crt --key=${pki}/healthcheck-client.key --dial-timeout=3s --command-timeout=5s "$@"
    else
        fail "neither etcdctl nor a running etcd container (crictl) on this host to check etcd with"
    fi
}
deadline=$(( $(date +%s) + ${i.timeoutSeconds} ))
declare -A answer=()
while :; do
    unhealthy=()
    for entry in ${endpoints.map(shellWord).join(" ")}; do
        name=\${entry%%=*} url=\${entry#*=}
        if out=$(etcdctl_ --endpoints="$url" endpoint health 2>&1); then answer[$name]="healthy"; else
            answer[$name]=$(printf '%s' "$out" | tail -n1); unhealthy+=("$name")
        fi
    done
    if [ "\${#unhealthy[@]}" -eq 0 ]; then
        members=$(etcdctl_ --endpoints=${shellWord(endpoints.map(e => e.split("=")[1]).join(","))} member list 2>&1 | awk -F', ' '{print $3}' | sort | paste -sd, -) || members=""
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
