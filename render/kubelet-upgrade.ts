import { NodePreparationSpec } from "../spec/types";
import { installerScript } from "./node-preparation";
import { KUBELET_VERSION, ScriptContext, scriptHeader, shellWord, TOOL_SAID } from "./scripts";

// The kubelet's part of an upgrade, as kubeadm's upgrade guide: once the control planes run the new
// version, each node in turn is cordoned and drained, its kubelet and kubectl packages are upgraded,
// the kubelet restarts, and once its Node reports the new version (and Ready, if it was) it is
// uncordoned. kubectl drains with the control plane's admin.conf; the packages come from the
// cluster's nodePreparation installer.

export const ADMIN_CONF = "/etc/kubernetes/admin.conf";
/** The Node annotation that records a drain this upgrade made: "<version> ready=<Ready status> cordoned=<was unschedulable>". */
export const DRAIN_ANNOTATION = "pulumi-kubeadm.io/upgrade-drain";
/** Lines the rollout prints as it goes (`<prefix><event> <node> <UTC time>`), read back into the upgrade's timeline. */
export const TIMELINE_PREFIX = "timeline ";

export interface DrainOptions {
    /** The version the kubelets go to, e.g. "v1.34.1". */
    version: string;
    drainTimeoutSeconds: number;
    /** kubectl drain --disable-eviction: delete pods even where a PodDisruptionBudget forbids their eviction. */
    disableEviction: boolean;
    kubeletReadyTimeoutSeconds: number;
}

/** The checks the drain functions need: kubectl, and this control plane's admin.conf. */
function drainTools(): string {
    return `command -v kubectl >/dev/null 2>&1 || fail "kubectl is not installed on $HOST; draining nodes needs it with ${ADMIN_CONF} (nodePreparation installs it)"
[ -f ${ADMIN_CONF} ] || fail "no ${ADMIN_CONF} on $HOST: this control plane has not been installed by this program"
`;
}

/**
 * Bash functions over the Node objects, with admin.conf: node_state, drain_node, release_node. A
 * Node that cannot be read stops the step (a failure inside `$(…)` would not), except while
 * release_node waits, which reads again until its deadline.
 */
function drainFunctions(o: DrainOptions): string {
    const jsonpath = `{.status.nodeInfo.kubeletVersion}|{.spec.unschedulable}|{.status.conditions[?(@.type=="Ready")].status}|{.metadata.annotations.${DRAIN_ANNOTATION.replace(/\./g, "\\.")}}`;
    return TOOL_SAID + `TARGET=${shellWord(o.version)}
ANNOTATION=${shellWord(DRAIN_ANNOTATION)}
kc() { kubectl --kubeconfig=${ADMIN_CONF} --request-timeout=30s "$@"; }
at() { date -u +%Y-%m-%dT%H:%M:%S.%3NZ; }
# node_state NODE: "kubeletVersion|unschedulable|Ready status|drain annotation", or "absent" when there is no such Node.
node_state() {
    local out
    if ! out=$(kc get node "$1" -o ${shellWord(`jsonpath=${jsonpath}`)} 2>&1); then
        case "$out" in *"(NotFound): nodes"*) echo absent; return 0 ;; esac
        printf '[%s] %s: cannot read Node %s with ${ADMIN_CONF}: %s\\n' "$HOST" "$STEP" "$1" "$(said "$out")" >&2
        return 1
    fi
    printf '%s\\n' "$out"
}
# drain_node NODE: cordon and drain a Node whose kubelet is not at TARGET, recording what it was before.
drain_node() {
    local node=$1 state version unschedulable ready mark out why pods
    state=$(node_state "$node") || exit 1
    IFS='|' read -r version unschedulable ready mark <<< "$state"
    if [ "$version" = absent ]; then echo "[drain] $node: no Node yet: nothing to drain"; return 0; fi
    if [ -z "$mark" ] && [ "$version" = "$TARGET" ]; then echo "[drain] $node: kubelet already $TARGET"; return 0; fi
    if [ -z "$mark" ]; then
        kc annotate --overwrite node "$node" "$ANNOTATION=$TARGET ready=\${ready:-Unknown} cordoned=\${unschedulable:-false}" >/dev/null \\
            || fail "could not annotate Node $node before draining it"
    fi
    echo "[drain] $node: cordon and drain (kubelet $version, to $TARGET)"
    if ! out=$(kc drain "$node" --ignore-daemonsets --delete-emptydir-data --timeout=${o.drainTimeoutSeconds}s${o.disableEviction ? " --disable-eviction" : ""} 2>&1); then
        why="kubectl said: $(said "$out")"
        if grep -q "disruption budget" <<< "$out"; then
            pods=$(grep -o 'evicting pods/[^ ]* -n "[^"]*"' <<< "$out" | sort -u | sed 's/^evicting //' | tr '\\n' ' ' || true)
            why="a PodDisruptionBudget allows no disruption of \${pods:-its pods }(kubectl: Cannot evict pod as it would violate the pod's disruption budget): scale its workload up or relax the budget${o.disableEviction ? "" : ", or set upgrade.disableEviction to delete such pods"}, or raise upgrade.drainTimeoutSeconds (${o.drainTimeoutSeconds}s)"
        fi
        fail "kubectl drain $node failed: $why. $node stays cordoned, and no node after it was touched; fix it, then pulumi up again"
    fi
    printf '%s\n' "$out" | sed 's/^/    /'
    echo "${TIMELINE_PREFIX}drained $node $(at)"
}
# release_node NODE: once a Node this upgrade drained runs its kubelet at TARGET (and is Ready, if it was), uncordon it (unless it was cordoned before).
release_node() {
    local node=$1 state version unschedulable ready mark was_ready was_cordoned deadline
    state=$(node_state "$node") || exit 1
    IFS='|' read -r version unschedulable ready mark <<< "$state"
    if [ "$version" = absent ] || [ -z "$mark" ]; then echo "[uncordon] $node: not drained by an upgrade: nothing to uncordon"; return 0; fi
    was_ready=$(sed -n 's/.*ready=\\([A-Za-z]*\\).*/\\1/p' <<< "$mark")
    was_cordoned=$(sed -n 's/.*cordoned=\\([a-z]*\\).*/\\1/p' <<< "$mark")
    deadline=$(( $(date +%s) + ${o.kubeletReadyTimeoutSeconds} ))
    until [ "$version" = "$TARGET" ] && { [ "$was_ready" != True ] || [ "$ready" = True ]; }; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            fail "Node $node reports kubelet \${version:-none} and Ready \${ready:-Unknown} after ${o.kubeletReadyTimeoutSeconds}s; expected $TARGET$([ "$was_ready" = True ] && echo " and Ready, as before the drain"). It stays cordoned: see journalctl -u kubelet on $node, fix it, then pulumi up again (or kubectl uncordon $node)"
        fi
        sleep 2
        # The API may blink while a kubelet restarts: read again until the deadline.
        if state=$(node_state "$node" 2>/dev/null) && [ "$state" != absent ]; then
            IFS='|' read -r version unschedulable ready mark <<< "$state"
        fi
    done
    if [ "$was_cordoned" != true ]; then
        kc uncordon "$node" >/dev/null || fail "could not uncordon Node $node"
    fi
    kc annotate node "$node" "$ANNOTATION-" >/dev/null || fail "could not remove the annotation $ANNOTATION from Node $node"
    echo "[uncordon] $node: kubelet $version, Ready \${ready:-Unknown}$([ "$was_cordoned" = true ] && echo "; left cordoned, as it was before the upgrade" || echo "; uncordoned")"
    echo "${TIMELINE_PREFIX}uncordoned $node $(at)"
}
`;
}

/**
 * Set while a kubelet package is upgraded and the kubelet not yet restarted: a run that stopped in
 * between (the installed binary already new, the running kubelet old) restarts it the next time.
 */
export const KUBELET_RESTART_PENDING = "/var/lib/kubelet/pulumi-kubeadm-restart-pending";
/** After the kubelet restarted with an upgraded package. */
export const KUBELET_RESTARTED = `[ "\${kubelet_upgraded:-false}" = false ] || rm -f ${KUBELET_RESTART_PENDING}
`;

/** A shell condition: kubeletPackageUpgrade(version) has work to do (a kubelet at another version, or one a stopped run installed without restarting it). */
export function kubeletPackageChanges(version: string): string {
    return `{ [ "$(${KUBELET_VERSION} || true)" != ${shellWord(version.replace(/^v/, ""))} ] || [ -f ${KUBELET_RESTART_PENDING} ]; }`;
}

/**
 * The kubelet and kubectl packages at `version` through the installer on a node whose kubelet is
 * older, then (with `restart`) a restart of the kubelet; a kubelet installed by a run that stopped
 * before restarting it is restarted too. Sets `kubelet_upgraded=true` when the kubelet is to restart
 * with a new package (without `restart`, the caller restarts it, then runs KUBELET_RESTARTED).
 */
export function kubeletPackageUpgrade(installer: NodePreparationSpec, version: string, restart = true): string {
    const full = version.replace(/^v/, "");
    return `kubelet_upgraded=false
kubelet_have=$(${KUBELET_VERSION} || true)
if [ "$kubelet_have" != ${shellWord(full)} ]; then
    echo "[upgrade] kubelet and kubectl \${kubelet_have:-none} → ${full} (${installer.installer})"
    echo ${shellWord(full)} > ${KUBELET_RESTART_PENDING}
${installerScript(installer, version, false)}    kubelet_have=$(${KUBELET_VERSION} || true)
    [ "$kubelet_have" = ${shellWord(full)} ] || fail "the ${installer.installer} installer ran, but kubelet --version says \${kubelet_have:-nothing}, not ${full}; check the installer on $HOST"
    kubelet_upgraded=true
elif [ -f ${KUBELET_RESTART_PENDING} ]; then
    echo "[upgrade] kubelet ${full} was installed by a run that stopped before restarting it: restarting it now"
    kubelet_upgraded=true
fi
if [ "$kubelet_upgraded" = true ]; then
${restart ? `    systemctl daemon-reload || fail "systemctl daemon-reload failed"
    systemctl restart kubelet || fail "could not restart kubelet ${full}; see: journalctl -u kubelet"
    rm -f ${KUBELET_RESTART_PENDING}
` : ""}    echo "${TIMELINE_PREFIX}kubelet-upgraded $HOST $(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)"
fi
`;
}

export interface ControlPlaneKubeletInput extends ScriptContext, DrainOptions {
    node: string;
    installer: NodePreparationSpec;
}

/**
 * A control plane's kubelet, after its static pods run the new version: if its kubelet is older,
 * drain the node (with its own admin.conf), upgrade the packages, restart the kubelet, wait for the
 * Node's new version and Ready, uncordon. A kubelet already at the version: nothing is touched
 * (a new cluster's control planes pass here without reaching the API).
 */
export function controlPlaneKubeletScript(i: ControlPlaneKubeletInput): string {
    const full = i.version.replace(/^v/, "");
    const node = shellWord(i.node);
    // A kubelet already at the version: done, unless a run that upgraded it stopped before restarting it or uncordoning the node.
    return scriptHeader(i) + `have=$(${KUBELET_VERSION} || true)
if [ "$have" = ${shellWord(full)} ] && [ ! -f ${KUBELET_RESTART_PENDING} ] && { ! command -v kubectl >/dev/null 2>&1 || [ ! -f ${ADMIN_CONF} ]; }; then
    echo "kubelet already ${i.version} on $HOST: nothing to upgrade"
    exit 0
fi
` + drainTools() + drainFunctions(i) + `if [ "$have" = ${shellWord(full)} ] && [ ! -f ${KUBELET_RESTART_PENDING} ]; then
    if ! state=$(node_state ${node} 2>&1); then
        # A new cluster: admin.conf's group is bound to cluster-admin only once the first control plane is up.
        case "$state" in *"(Forbidden)"*) echo "kubelet already ${i.version} on $HOST: nothing to upgrade (admin.conf may not read Nodes yet: a new cluster)"; exit 0 ;; esac
        fail "kubelet ${i.version} is installed on $HOST, but its Node could not be read to see whether an earlier run left it drained: $state"
    elif [ -z "$(cut -d'|' -f4 <<< "$state")" ]; then
        echo "kubelet already ${i.version} on $HOST: nothing to upgrade"
    else
        release_node ${node}
    fi
    exit 0
fi
drain_node ${node}
` + kubeletPackageUpgrade(i.installer, i.version) + `if [ "$kubelet_upgraded" = true ]; then echo "kubelet and kubectl upgraded to ${full} on $HOST"; fi
release_node ${node}
`;
}

export interface WorkerRolloutInput extends ScriptContext, DrainOptions {
    /** The batch whose kubelets were just upgraded: each is uncordoned once at the version. */
    release: string[];
    /** The next batch: each is cordoned and drained before its kubelet is upgraded. */
    drain: string[];
}

/**
 * One step of the workers' rolling kubelet upgrade, on the first control plane: the previous batch
 * released, the next one drained, so never more than one batch (upgrade.maxUnavailable) is out.
 */
export function workerRolloutScript(i: WorkerRolloutInput): string {
    return scriptHeader(i) + `# workers' kubelets to ${i.version}: uncordon ${i.release.join(", ") || "none"}; drain ${i.drain.join(", ") || "none"}
` + drainTools() + drainFunctions(i) + `# idle NODE uncordon|drain: why there is nothing to do for NODE, or nothing when there is.
idle() {
    local state version unschedulable ready mark
    state=$(node_state "$1") || exit 1
    IFS='|' read -r version unschedulable ready mark <<< "$state"
    if [ "$version" = absent ]; then echo "$1 has no Node yet"
    elif [ -n "$mark" ]; then return 0
    elif [ "$2" = uncordon ]; then echo "$1 was not drained by an upgrade"
    elif [ "$version" = "$TARGET" ]; then echo "$1 runs kubelet $TARGET"
    fi
}
# A step with nothing to do (a new cluster, a run again) says so in one line.
why=()
entries=(${[...i.release.map(n => `uncordon:${n}`), ...i.drain.map(n => `drain:${n}`)].map(shellWord).join(" ")})
for entry in "\${entries[@]}"; do
    reason=$(idle "\${entry#*:}" "\${entry%%:*}") || exit 1
    if [ -z "$reason" ]; then why=(); break; fi
    why+=("$reason")
done
if [ "\${#why[@]}" -gt 0 ]; then
    printf -v reasons '%s; ' "\${why[@]}"
    echo "nothing to drain or uncordon: \${reasons%; }"
    exit 0
fi
`
        + i.release.map(n => `release_node ${shellWord(n)}\n`).join("")
        + i.drain.map(n => `drain_node ${shellWord(n)}\n`).join("");
}

/** The workers in batches of maxUnavailable, in the order of hosts. */
export function workerBatches<T>(workers: T[], maxUnavailable: number): T[][] {
    const batches: T[][] = [];
    for (let i = 0; i < workers.length; i += maxUnavailable) batches.push(workers.slice(i, i + maxUnavailable));
    return batches;
}
