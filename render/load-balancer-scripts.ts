import { HAPROXY_BACKEND, HAPROXY_CONFIG, HAPROXY_SOCKET, HAPROXY_STATE_FILE } from "./haproxy";
import { certificatesPem } from "./pem";
import { ensureDir, heredocDelimiter, placeFilesScript, runStamp, ScriptContext, scriptHeader, shellWord, summary } from "./scripts";

/**
 * `hap CMD`: one command on HAProxy's admin socket (socat when installed, else Perl, which every
 * Debian and RHEL host has), and `save_state`: the servers' state written where
 * `load-server-state-from-file` reads it, so a reload or restart keeps who is registered.
 */
export const HAPROXY_SOCKET_FUNCTIONS = `hap() {
    [ -S ${HAPROXY_SOCKET} ] || fail "HAProxy's admin socket ${HAPROXY_SOCKET} is missing: is haproxy running with pulumi-kubeadm's haproxy.cfg? (systemctl status haproxy)"
    if command -v socat >/dev/null 2>&1; then
        printf '%s\\n' "$1" | socat -t 5 stdio UNIX-CONNECT:${HAPROXY_SOCKET}
    else
        perl -MIO::Socket::UNIX -e '
            my $s = IO::Socket::UNIX->new(Type => IO::Socket::SOCK_STREAM(), Peer => $ARGV[0]) or die "connect $ARGV[0]: $!\\n";
            print $s "$ARGV[1]\\n"; print while <$s>;' ${HAPROXY_SOCKET} "$1"
    fi
}
save_state() {
    local tmp
    tmp=$(mktemp ${HAPROXY_STATE_FILE}.XXXXXX)
    hap "show servers state" >"$tmp" || { rm -f "$tmp"; fail "could not read the servers' state from HAProxy"; }
    mv -f "$tmp" ${HAPROXY_STATE_FILE}
}
server_status() { # server_status NAME: UP, DOWN, MAINT, ... from "show stat"; fails when HAProxy does not answer
    local stat
    stat=$(hap "show stat") || fail "HAProxy did not answer on ${HAPROXY_SOCKET} (show stat)"
    # No pipe into a reader that stops early (grep -q, head): under pipefail, the writer's SIGPIPE would fail the check.
    case "$stat" in "# pxname,"*) ;; *) fail "HAProxy's answer to show stat is not its CSV: \${stat:0:200}" ;; esac
    awk -F, -v b=${HAPROXY_BACKEND} -v s="$1" '$1 == b && $2 == s { print $18 }' <<<"$stat"
}
backend_servers() { # backend_servers: "NAME STATUS" for each server of the backend; fails when HAProxy does not answer
    local stat
    stat=$(hap "show stat") || fail "HAProxy did not answer on ${HAPROXY_SOCKET} (show stat)"
    awk -F, -v b=${HAPROXY_BACKEND} '$1 == b && $2 != "BACKEND" && $2 != "FRONTEND" { print $2 " " $18 }' <<<"$stat"
}
`;

/**
 * HAProxy on a load-balancer host: the configuration checked by haproxy itself before it is
 * placed, then a reload (not a restart) when it changed, keeping the registered servers through the
 * state file. Registration of each control plane happens later, at runtime.
 */
export function haproxyInstallScript(i: ScriptContext & { config: string }): string {
    const cfgEnd = heredocDelimiter(i.config, "PULUMI_KUBEADM_HAPROXY_CFG");
    return scriptHeader(i) + `command -v haproxy >/dev/null 2>&1 || fail "haproxy is not installed; install it (apt-get install haproxy, or dnf install haproxy)"
${ensureDir("/etc/haproxy", "0755")}${ensureDir("/var/lib/haproxy", "0755")}${ensureDir("/run/haproxy", "0755")}candidate=$(mktemp /etc/haproxy/.pulumi-kubeadm-check.XXXXXX)
cat >"$candidate" <<'${cfgEnd}'
${i.config.replace(/\n$/, "")}
${cfgEnd}
if ! out=$(haproxy -c -q -f "$candidate" 2>&1); then
    rm -f "$candidate"
    fail "haproxy rejects the configuration: $out"
fi
rm -f "$candidate"
${HAPROXY_SOCKET_FUNCTIONS}running=false
if systemctl is-active --quiet haproxy && [ -S ${HAPROXY_SOCKET} ]; then running=true; fi
` + placeFilesScript([{ path: HAPROXY_CONFIG, mode: "0644", content: i.config }]) + `if [ "$running" = true ] && [ "\${#changed[@]}" -gt 0 ]; then
    save_state
    systemctl reload haproxy || fail "systemctl reload haproxy failed; see: journalctl -u haproxy"
    echo "reloaded haproxy"
elif [ "$running" = false ] && systemctl is-active --quiet haproxy; then
    # Running with another configuration (no admin socket): a restart is the only way to ours.
    systemctl restart haproxy || fail "haproxy runs with another configuration and did not restart with ours; see: journalctl -u haproxy"
    echo "restarted haproxy with ${HAPROXY_CONFIG}"
fi
systemctl is-enabled --quiet haproxy 2>/dev/null || systemctl enable haproxy >/dev/null 2>&1 || fail "could not enable haproxy"
if ! systemctl is-active --quiet haproxy; then
    systemctl start haproxy || fail "haproxy did not start; see: journalctl -u haproxy"
    echo "started haproxy"
fi
for _ in $(seq 1 50); do [ -S ${HAPROXY_SOCKET} ] && break; sleep 0.2; done
[ -S ${HAPROXY_SOCKET} ] || fail "haproxy runs but its admin socket ${HAPROXY_SOCKET} did not appear; see: journalctl -u haproxy"
` + summary();
}

/**
 * A register step's delete on a load-balancer host takes the server out only when the cluster no
 * longer has it, i.e. HAProxy's configuration (written for the program's control planes, before
 * any delete runs) no longer lists it. A step deleted while its node stays (a rename or a
 * re-parent, whose new step registered it already) leaves it registered.
 */
function keptOnDelete(server: string): string {
    return `if grep -qE ${shellWord(`^[[:space:]]*server ${server.replace(/\./g, "\\.")}[[:space:]]`)} ${HAPROXY_CONFIG} 2>/dev/null; then
    echo "${server} is still a server in ${HAPROXY_CONFIG} on $HOST (the cluster keeps it: a renamed or re-parented step was deleted), so it stays registered"
    exit 0
fi
`;
}

/** Where a kube-vip node records which register step placed its kube-vip (claimKubeVip). */
export const KUBE_VIP_CLAIM = "/var/lib/pulumi-kubeadm/kube-vip-registered-by";

/** Lines that record `owner` as the register step whose delete may remove kube-vip here (a renamed step's new one takes it over). */
export function claimKubeVip(owner: string): string {
    return `install -d -m 0700 -o 0 -g 0 ${shellWord(KUBE_VIP_CLAIM.replace(/\/[^/]*$/, ""))}
[ "$(cat ${KUBE_VIP_CLAIM} 2>/dev/null || true)" = ${shellWord(owner)} ] || printf '%s\\n' ${shellWord(owner)} >${KUBE_VIP_CLAIM}
`;
}

/** upgrade.registration "afterAll": what a registration compares (each control plane's /version, read with the cluster CA). */
export interface SameVersionRule {
    controlPlanes: { name: string; address: string }[];
    port: number;
    caCertPem: string;
}

/**
 * Shell that sets `$ca_file` to a temporary file (removed on exit) holding the cluster CA: its
 * certificates alone, parsed and written again, in a heredoc no line of them can end.
 */
function clusterCaFile(caCertPem: string): string {
    const pem = certificatesPem(caCertPem, "the cluster CA");
    const end = heredocDelimiter(pem, "PULUMI_KUBEADM_CA");
    return `ca_file=$(mktemp)
trap 'rm -f "$ca_file"' EXIT
cat > "$ca_file" <<'${end}'
${pem}
${end}
`;
}

/** `api_version NAME`: the gitVersion a control plane's kube-apiserver reports on /version (open to anyone, as kubeadm's RBAC leaves it), "" when it does not answer. */
function apiVersionFunctions(r: SameVersionRule): string {
    const url = (h: { address: string }) => `https://${h.address.includes(":") ? `[${h.address}]` : h.address}:${r.port}/version`;
    return `command -v curl >/dev/null 2>&1 || fail "curl is not installed on $HOST; upgrade.registration afterAll reads each control plane's /version with it"
${clusterCaFile(r.caCertPem)}# serving NAME: the server takes new connections (UP, or DRAIN/NOLB); a DOWN or MAINT one does not. HAProxy not answering
# stops the step (exit: a failure inside $(…) in a condition would not).
serving() {
    local status
    status=$(server_status "$1") || exit 1
    case "$status" in UP*|DRAIN*|NOLB*) return 0 ;; *) return 1 ;; esac
}
# answered_version NAME: api_version, retried for 30 s; "" when it never answers.
answered_version() {
    local v tries=0
    until v=$(api_version "$1") && [ -n "$v" ]; do
        tries=$((tries + 1))
        [ "$tries" -lt 15 ] || return 0
        sleep 2
    done
    printf '%s\n' "$v"
}
# version_of NAME: answered_version; a control plane that never answers stops the step (with anonymous /version turned
# off, the versions cannot be compared, and registering anyway could serve two versions).
version_of() {
    local v
    v=$(answered_version "$1")
    [ -n "$v" ] || fail "cannot read $1's kube-apiserver version (/version, with the cluster CA) from $HOST; upgrade.registration afterAll compares them: check that $HOST reaches it and that /version is open to anonymous clients, as kubeadm's RBAC leaves it"
    printf '%s\n' "$v"
}
api_version() {
    local url
    case "$1" in
${r.controlPlanes.map(h => `        ${shellWord(h.name)}) url=${shellWord(url(h))} ;;`).join("\n")}
        *) return 0 ;;
    esac
    curl -sS --max-time 5 --cacert "$ca_file" "$url" 2>/dev/null | sed -n 's/.*"gitVersion": *"\\([^"]*\\)".*/\\1/p' | head -n1 || true
}
`;
}

/**
 * Registers one control plane at runtime (no reload): its server enabled through the admin socket,
 * the state saved, then a bounded wait until HAProxy's own health check sees it UP. With
 * `sameVersion` (upgrade.registration "afterAll"), a control plane whose kube-apiserver version
 * differs from one still registered is left out ("deferred"): the last one of an upgrade, and
 * then every other one through the register-all step, come back once no two versions would serve.
 */
export function haproxyRegisterScript(i: ScriptContext & { server: string; after: string; timeoutSeconds: number; sameVersion?: SameVersionRule }): string {
    return scriptHeader(i) + `# registers after: ${i.after}
${HAPROXY_SOCKET_FUNCTIONS}${i.sameVersion ? apiVersionFunctions(i.sameVersion) + `mine=$(version_of ${shellWord(i.server)})
others=(${i.sameVersion.controlPlanes.map(h => h.name).filter(n => n !== i.server).map(shellWord).join(" ")})
for other in \${others[@]+"\${others[@]}"}; do
    serving "$other" || continue
    theirs=$(version_of "$other")
    if [ "$theirs" != "$mine" ]; then
        echo "deferred: ${i.server} runs $mine and $other, still registered, runs $theirs; ${i.server} comes back once every control plane runs one version (upgrade.registration afterAll)"
        exit 0
    fi
done
` : ""}status=$(server_status ${shellWord(i.server)})
[ -n "$status" ] || fail ${shellWord(`backend ${HAPROXY_BACKEND} has no server ${i.server}: the load balancer's haproxy.cfg does not list this control plane yet`)}
out=$(hap ${shellWord(`enable server ${HAPROXY_BACKEND}/${i.server}`)})
[ -z "$out" ] || fail "HAProxy refused to enable ${i.server}: $out"
save_state
deadline=$(( $(date +%s) + ${i.timeoutSeconds} ))
until [ "$(server_status ${shellWord(i.server)})" = UP ]; do
    if [ "$(date +%s)" -ge "$deadline" ]; then
        fail "${i.server} is enabled but HAProxy's health check (GET /healthz over TLS) does not see it UP after ${i.timeoutSeconds}s (status: $(server_status ${shellWord(i.server)})); check that the load balancer reaches the node's API port"
    fi
    sleep 1
done
echo "registered ${i.server} on $HOST: UP"
`;
}

/** Deregisters one control plane at runtime: no new connections go to it (maintenance), state saved. */
export function haproxyDeregisterScript(i: ScriptContext & { server: string; after?: string; sameVersion?: SameVersionRule; onDelete?: boolean }): string {
    return scriptHeader(i) + (i.after ? `# deregisters before: ${i.after}\n` : "") + (i.onDelete ? keptOnDelete(i.server) : "") + `if ! systemctl is-active --quiet haproxy || [ ! -S ${HAPROXY_SOCKET} ]; then
    echo "haproxy is not running on $HOST: ${i.server} receives nothing"
    exit 0
fi
${HAPROXY_SOCKET_FUNCTIONS}status=$(server_status ${shellWord(i.server)})
if [ -z "$status" ]; then
    echo "backend ${HAPROXY_BACKEND} on $HOST has no server ${i.server}"
    exit 0
fi
command=${shellWord(`disable server ${HAPROXY_BACKEND}/${i.server}`)}
${i.sameVersion ? apiVersionFunctions(i.sameVersion) + `# upgrade.registration afterAll: the last serving control plane going out switches the load balancer over to the held-out
# ones in the same command line (no moment with no server, none with two versions).
others=(${i.sameVersion.controlPlanes.map(h => h.name).filter(n => n !== i.server).map(shellWord).join(" ")})
held=()
if serving ${shellWord(i.server)}; then
    for other in \${others[@]+"\${others[@]}"}; do
        if serving "$other"; then held=(); break; fi
        other_status=$(server_status "$other") || exit 1
        if [ "$other_status" = MAINT ]; then held+=("$other"); fi
    done
fi
if [ "\${#held[@]}" -gt 0 ]; then
    # Those that answer come back, all at one version; one that never answers (not installed yet) stays out. With none
    # to switch to, this one does not go out: the load balancer would have no server.
    version=""
    back=()
    for other in "\${held[@]}"; do
        v=$(answered_version "$other")
        if [ -z "$v" ]; then echo "$other answers no /version: it stays out of the load balancer"; continue; fi
        [ -z "$version" ] || [ "$v" = "$version" ] || fail "the control planes held out of the load balancer run different versions ($version and $v on $other): ${i.server}, the last one serving, stays in; upgrade them to one version (pulumi up), then run again"
        version=$v
        back+=("$other")
    done
    [ "\${#back[@]}" -gt 0 ] || fail "${i.server} is the last control plane serving on $HOST, and none of those held out (\${held[*]}) answers /version: taking it out would leave the load balancer with no server, so it stays in. Check their kube-apiserver (and that $HOST reaches it), then pulumi up again"
    switch=""
    for other in "\${back[@]}"; do switch="\${switch}enable server ${HAPROXY_BACKEND}/$other; "; done
    command="\${switch}$command"
    echo "switching over: \${back[*]} (at $version) back in as ${i.server} goes out (upgrade.registration afterAll)"
fi
` : ""}# A serving control plane goes out only while another one serves (or comes back in the same command): with the others out
# (a failed readiness gate left one out, say), taking it out too would leave the API with no server.
if [[ $status == UP* ]] && [[ $command != enable* ]]; then
    serving_others=() listed_others=()
    servers=$(backend_servers) || exit 1
    while read -r name state; do
        if [ -z "$name" ] || [ "$name" = ${shellWord(i.server)} ]; then continue; fi
        listed_others+=("$name ($state)")
        [[ $state != UP* ]] || serving_others+=("$name")
    done <<< "$servers"
    if [ "\${#listed_others[@]}" -gt 0 ] && [ "\${#serving_others[@]}" -eq 0 ]; then
        fail "${i.server} is the only control plane serving on $HOST (\${listed_others[*]}): taking it out would leave the API with no server, so it stays in and nothing on ${i.server} changes. Bring another control plane back (its readiness gate, then its register step: pulumi up again once it is fixed), then run again"
    fi
    [ "\${#serving_others[@]}" -eq 0 ] || echo "serving while ${i.server} is out: \${serving_others[*]}"
fi
out=$(hap "$command")
[ -z "$out" ] || fail "HAProxy refused to disable ${i.server}: $out"
save_state
status=$(server_status ${shellWord(i.server)})
[ "$status" = MAINT ] || fail "${i.server} is still $status after disable server; it would go on receiving traffic"
echo "deregistered ${i.server} on $HOST: $status"
${runStamp()}`;
}

/**
 * A user's register/deregister command with the node's values substituted, each shell-quoted.
 * With `peers` (a deregistration), it runs only while another control plane is ready. With
 * `onDelete` (a register step's delete), it runs only once the node's kube-apiserver no longer
 * answers: a step deleted while its node still serves (a rename or re-parent, whose new step
 * registered it already) leaves it registered.
 */
export function externalLoadBalancerScript(template: string, node: { name: string; address: string; port: number }, ctx: ScriptContext, after?: string, peers?: ReadyPeers, onDelete?: { caCertPem: string }): string {
    const values: Record<string, string> = { name: node.name, address: node.address, port: String(node.port) };
    const command = template.replace(/\{\{\s*(name|address|port)\s*\}\}/g, (_, k: string) => shellWord(values[k]));
    // The failure names the node and the status, not the command: a template may carry credentials.
    return scriptHeader(ctx) + (after ? `# after: ${after}\n` : "")
        + (onDelete ? stillServing(node, onDelete.caCertPem) : "")
        + (peers && peers.controlPlanes.length > 0 ? readyPeersGate(peers, node.name, `taking ${node.name} out of the external load balancer could leave it no ready kube-apiserver, so the deregister command does not run and ${node.name} stays in`) : "")
        + `if ( ${command}
); then :; else
    status=$?
    fail "the load balancer command (loadBalancer.external's template for this step) failed for ${node.name} (${node.address}:${node.port}) with exit status $status; what it printed is above"
fi
echo ${shellWord(`${ctx.step}: ${node.name} (${node.address}:${node.port}) done`)}
${runStamp()}`;
}

/**
 * The other control planes a deregistration needs one of ready: their /readyz, trusting the
 * cluster CA, read from `caFile` on the host or written from `caCertPem` where the step runs.
 */
export interface ReadyPeers {
    controlPlanes: { name: string; address: string }[];
    bindPort: number;
    caFile?: string;
    caCertPem?: string;
}
/** kube-vip's peers: the CA is the node's own ca.crt. */
export type KubeVipPeers = ReadyPeers & { caFile: string };

/** Ends the step, changing nothing, while the node's kube-apiserver answers /readyz (verified with the cluster CA). */
function stillServing(node: { name: string; address: string; port: number }, caCertPem: string): string {
    const url = `https://${node.address.includes(":") ? `[${node.address}]` : node.address}:${node.port}/readyz`;
    return clusterCaFile(caCertPem) + `code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$ca_file" ${shellWord(url)} 2>/dev/null || true)
if [ "$code" = 200 ]; then
    echo ${shellWord(`${node.name} still serves ${url}: a renamed or re-parented step was deleted, or the node left the program while it still runs; it stays registered (deregister it yourself once it is shut down)`)}
    exit 0
fi
`;
}

/**
 * Stops the step, changing nothing, unless another control plane's kube-apiserver is ready
 * (each /readyz read once, 5 s at most); names the ready ones while `out` is out, or what each
 * answered and `refusal` (what a deregistration with none ready would leave, and that it does not happen).
 */
function readyPeersGate(p: ReadyPeers, out: string, refusal: string): string {
    return `command -v curl >/dev/null 2>&1 || fail "curl is not installed on $HOST; a deregistration reads the other control planes' /readyz with it first"
${p.caCertPem !== undefined ? clusterCaFile(p.caCertPem) : `ca_file=${shellWord(p.caFile!)}\n`}ready=() answers=()
peers=(${p.controlPlanes.map(c => shellWord(`${c.name}=https://${c.address.includes(":") ? `[${c.address}]` : c.address}:${p.bindPort}/readyz`)).join(" ")})
for entry in "\${peers[@]}"; do
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$ca_file" "\${entry#*=}" 2>/dev/null || true)
    if [ "$code" = 200 ]; then ready+=("\${entry%%=*}"); else answers+=("\${entry%%=*} (\${code:-no answer})"); fi
done
if [ "\${#ready[@]}" -eq 0 ]; then
    fail "no other control plane is ready (/readyz: \${answers[*]}): ${refusal}. Bring another control plane back (pulumi up again once it is fixed), then run again"
fi
echo "ready while ${out} is out: \${ready[*]}"
`;
}

/**
 * kube-vip's registration on a control plane: its static pod placed (or removed), so the VIP may
 * move here only while the node is ready. With `peers`, the pod is removed only while another
 * control plane's kube-apiserver is ready, so the VIP has somewhere to go.
 */
export function kubeVipScript(i: ScriptContext & {
    manifestPath: string; manifest?: string; after: string; peers?: KubeVipPeers; owner?: string;
    /** The first control plane's: `manifest` mounts super-admin.conf; this one, placed once `boundMarker` exists, admin.conf. */
    bound?: { manifest: string; boundMarker: string };
}): string {
    if (i.manifest === undefined) {
        const peers = i.peers && i.peers.controlPlanes.length > 0 ? i.peers : undefined;
        // A delete (with its owner): kube-vip stays when another register step placed it since (a renamed step).
        return scriptHeader(i) + `# deregisters before: ${i.after}
${i.owner ? `claimed=$(cat ${KUBE_VIP_CLAIM} 2>/dev/null || true)
if [ -n "$claimed" ] && [ "$claimed" != ${shellWord(i.owner)} ]; then
    echo "kube-vip on $HOST was placed by $claimed since (a renamed step's new one), so it stays"
    exit 0
fi
` : ""}if [ -f ${shellWord(i.manifestPath)} ]; then
${peers ? (readyPeersGate(peers, "$HOST", "removing kube-vip from $HOST would leave the VIP on no ready kube-apiserver, so it stays and nothing on $HOST changes")) : ""}    rm -f ${shellWord(i.manifestPath)}
    echo "removed kube-vip from $HOST: the VIP moves to another control plane"
else
    echo "kube-vip is not on $HOST"
fi
${i.owner ? `rm -f ${KUBE_VIP_CLAIM}
` : ""}${runStamp()}`;
    }
    const place = (manifest: string) => placeFilesScript([{ path: i.manifestPath, mode: "0600", content: manifest }]);
    return scriptHeader(i) + `# registers after: ${i.after}
` + (i.owner ? claimKubeVip(i.owner) : "") + ensureDir("/etc/kubernetes/manifests", "0700")
        + (i.bound ? `if [ -f ${shellWord(i.bound.boundMarker)} ]; then
${place(i.bound.manifest)}else
${place(i.manifest)}fi
` : place(i.manifest)) + summary();
}

/**
 * On the first control plane, once the kubeadm:cluster-admins binding exists: kube-vip moves from
 * super-admin.conf to admin.conf (the marker tells its register step to keep it so), then the VIP
 * must answer /readyz again (verified with the cluster CA). If it does not within the timeout,
 * super-admin.conf comes back and the step fails saying so.
 */
export function kubeVipAdminConfScript(i: ScriptContext & {
    manifestPath: string; adminManifest: string; superAdminManifest: string; boundMarker: string; readyz: string; caFile: string; timeoutSeconds: number;
}): string {
    return scriptHeader(i) + `[ -f ${shellWord(i.manifestPath)} ] || { echo "kube-vip is not on $HOST: nothing to move to admin.conf"; exit 0; }
install -d -m 0700 -o 0 -g 0 ${shellWord(i.boundMarker.replace(/\/[^/]*$/, ""))}
: > ${shellWord(i.boundMarker)}
` + placeFilesScript([{ path: i.manifestPath, mode: "0600", content: i.adminManifest }]) + `if [ "\${#changed[@]}" -gt 0 ]; then
    deadline=$(( $(date +%s) + ${i.timeoutSeconds} ))
    until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert ${shellWord(i.caFile)} ${shellWord(i.readyz)} 2>/dev/null || true)" = 200 ]; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            rm -f ${shellWord(i.boundMarker)}
            tmp=$(tmpfile ${shellWord(i.manifestPath)})
            cat > "$tmp" <<'${heredocDelimiter(i.superAdminManifest, "PULUMI_KUBEADM_KUBE_VIP")}'
${i.superAdminManifest.replace(/\n$/, "")}
${heredocDelimiter(i.superAdminManifest, "PULUMI_KUBEADM_KUBE_VIP")}
            place ${shellWord(i.manifestPath)} 0600 "$tmp"
            fail "kube-vip on $HOST ran with admin.conf, and the VIP (${i.readyz}) did not answer in ${i.timeoutSeconds}s; it is back on super-admin.conf. See crictl logs of kube-vip, and whether the kubeadm:cluster-admins ClusterRoleBinding exists"
        fi
        sleep 2
    done
    echo "kube-vip on $HOST uses admin.conf now (super-admin.conf is no longer mounted); the VIP answers ${i.readyz}"
fi
` + summary();
}

/** A registration step with nothing to do (a key rotation step that found no kube-apiserver on its node). */
export function leftAsItWas(ctx: ScriptContext): string {
    return `${scriptHeader(ctx)}echo "$STEP: nothing changed on this node, so its registration is left as it was"\n`;
}

/**
 * upgrade.registration "afterAll", after the last control plane: every control plane left out of
 * the load balancer whose kube-apiserver runs the version the registered ones run (all of them,
 * once an upgrade is through) is enabled again, and waited for until UP.
 */
export function haproxyRegisterAllScript(i: ScriptContext & { after: string; timeoutSeconds: number; sameVersion: SameVersionRule }): string {
    return scriptHeader(i) + `# registers after: ${i.after}
${HAPROXY_SOCKET_FUNCTIONS}${apiVersionFunctions(i.sameVersion)}serving=""
for server in ${i.sameVersion.controlPlanes.map(h => shellWord(h.name)).join(" ")}; do
    if serving "$server"; then serving=$(version_of "$server"); break; fi
done
enabled=()
for server in ${i.sameVersion.controlPlanes.map(h => shellWord(h.name)).join(" ")}; do
    status=$(server_status "$server") || exit 1
    [ "$status" = MAINT ] || continue
    version=$(version_of "$server")
    if [ -n "$serving" ] && [ "$version" != "$serving" ]; then
        fail "$server runs $version and the registered control planes run $serving: it stays out of the load balancer (upgrade.registration afterAll); upgrade it (pulumi up) or, to serve both versions, set upgrade.registration to each"
    fi
    out=$(hap "enable server ${HAPROXY_BACKEND}/$server")
    [ -z "$out" ] || fail "HAProxy refused to enable $server: $out"
    enabled+=("$server")
done
save_state
deadline=$(( $(date +%s) + ${i.timeoutSeconds} ))
for server in \${enabled[@]+"\${enabled[@]}"}; do
    until [ "$(server_status "$server")" = UP ]; do
        if [ "$(date +%s)" -ge "$deadline" ]; then fail "$server is enabled but HAProxy's health check does not see it UP after ${i.timeoutSeconds}s"; fi
        sleep 1
    done
    echo "registered $server on $HOST: UP"
done
if [ "\${#enabled[@]}" -eq 0 ]; then echo "every control plane was already in the load balancer of $HOST"; fi
`;
}
