import { HostSpec } from "../spec/types";
import { DEFAULTS, ResolvedCluster } from "../spec/validate";
import { CRI_SOCKET_ANNOTATION } from "./cluster-objects";
import { HostFacts, KUBELET_FILES, kubeletVersionCheck, PACKAGED_KUBEADM_DROPINS } from "./control-plane-scripts";
import { checkFunctions } from "./preflight";
import { kubeadmFlagsEnv, KUBELET_DROPIN_DIR, kubeletConfig, kubeletInstanceConfig, nodeKubeletInput } from "./kubelet";
import { minorAtLeast } from "./manifests/static-pod";
import { anyChanged, ensureDir, kubeletRunning, PlacedFile, placeFilesScript, ScriptContext, scriptHeader, shellWord, summary } from "./scripts";

export const BOOTSTRAP_KUBELET_CONF = "/etc/kubernetes/bootstrap-kubelet.conf";
export const KUBELET_CONF = "/etc/kubernetes/kubelet.conf";
export const DEFAULT_TLS_BOOTSTRAP_TIMEOUT_SECONDS = 300;

/** A worker's public files in kubeadm join's order: ca.crt, then the kubelet's files and the user's drop-ins. */
export function workerFiles(cluster: ResolvedCluster, node: HostSpec, facts: HostFacts, caCertPem: string): PlacedFile[] {
    const pki = cluster.spec.certificates?.certificatesDir ?? DEFAULTS.certificatesDir;
    const kubelet = nodeKubeletInput(cluster, node, facts, []);
    const files: PlacedFile[] = [
        { path: `${pki}/ca.crt`, mode: "0644", content: caCertPem },
        { path: "/var/lib/kubelet/config.yaml", mode: "0644", content: kubeletConfig(kubelet) },
        { path: "/var/lib/kubelet/kubeadm-flags.env", mode: "0644", content: kubeadmFlagsEnv(kubelet) },
    ];
    const instance = kubeletInstanceConfig(kubelet);
    if (instance) files.push({ path: "/var/lib/kubelet/instance-config.yaml", mode: "0644", content: instance });
    for (const d of cluster.spec.kubelet?.dropIns ?? []) files.push({ path: `${KUBELET_DROPIN_DIR}/${d.name}`, mode: "0644", content: d.content.endsWith("\n") ? d.content : `${d.content}\n` });
    return files;
}

export interface WorkerJoinInput extends ScriptContext {
    node: HostSpec;
    version: string;
    minimumKubeletVersion: string;
    minor: string;
    certificatesDir: string;
    /** "host:port" of the control-plane endpoint. */
    endpoint: string;
    files: PlacedFile[];
    kubeadmDropIn: string;
    ignore: string[];
    /** How long to wait for the kubelet's TLS bootstrap (kubelet.conf); 0: do not wait. */
    tlsBootstrapTimeoutSeconds: number;
}

/**
 * kubeadm join's kubelet-start for a worker: the kubelet's version against the skew policy, the
 * cluster CA, bootstrap-kubelet.conf (from stdin, only until the node has joined), the kubelet's
 * config, flags and drop-ins, a restart when they changed; then the wait for the TLS bootstrap
 * (the kubelet's CSR approved and kubelet.conf written), after which bootstrap-kubelet.conf is
 * removed, as kubeadm does. The worker's key is made by its kubelet and never leaves the host.
 */
export function workerJoinScript(i: WorkerJoinInput): string {
    const kubeletFiles = i.files.map(f => f.path).filter(p => KUBELET_FILES.includes(p) || p.startsWith(`${KUBELET_DROPIN_DIR}/`) || p === `${i.certificatesDir}/ca.crt`);
    const wait = i.tlsBootstrapTimeoutSeconds > 0;
    return scriptHeader(i) + checkFunctions(i.ignore) + kubeletVersionCheck(i, "a cluster")
        + ensureDir("/etc/kubernetes", "0755")
        + ensureDir(i.certificatesDir, "0755")
        + ensureDir("/var/lib/kubelet", "0700")
        + placeFilesScript(i.files)
        + `joined=false
if [ -f ${KUBELET_CONF} ]; then
    joined=true
    cat >/dev/null
else
${placeFilesScript([{ path: BOOTSTRAP_KUBELET_CONF, mode: "0600", secret: true }], true)}fi
packaged_dropin=""
for f in ${PACKAGED_KUBEADM_DROPINS.slice(0, 2).join(" ")}; do [ -f "$f" ] && packaged_dropin=$f; done
if [ -z "$packaged_dropin" ]; then
${placeFilesScript([{ path: PACKAGED_KUBEADM_DROPINS[2], mode: "0644", content: i.kubeadmDropIn }], true)}fi
`
        + anyChanged([...kubeletFiles, BOOTSTRAP_KUBELET_CONF, PACKAGED_KUBEADM_DROPINS[2]])
        + kubeletRunning()
        + (wait ? tlsBootstrapWait(i) : `if [ "$joined" = false ]; then echo "not waiting for the kubelet's TLS bootstrap (tlsBootstrapTimeoutSeconds: 0)"; fi\n`)
        + summary();
}

function tlsBootstrapWait(i: WorkerJoinInput): string {
    const annotate = !minorAtLeast(i.minor, 1, 34);
    const nodeUrl = `https://${i.endpoint}/api/v1/nodes/${i.node.name}`;
    return `if [ "$joined" = false ]; then
    deadline=$(( $(date +%s) + ${i.tlsBootstrapTimeoutSeconds} ))
    until [ -f ${KUBELET_CONF} ]; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            fail "the kubelet did not complete its TLS bootstrap in ${i.tlsBootstrapTimeoutSeconds}s (no ${KUBELET_CONF}): its certificate request was not approved or the API server at ${i.endpoint} was not reachable with ${BOOTSTRAP_KUBELET_CONF}; see journalctl -u kubelet, and that the bootstrap token has not expired"
        fi
        sleep 2
    done
    rm -f ${BOOTSTRAP_KUBELET_CONF}
    echo "the kubelet completed its TLS bootstrap; removed ${BOOTSTRAP_KUBELET_CONF}"
${annotate ? `    # Before NodeLocalCRISocket (1.34) kubeadm annotates the Node with its CRI socket, with the kubelet's credentials.
    if command -v curl >/dev/null 2>&1; then
        patch='{"metadata":{"annotations":{"${CRI_SOCKET_ANNOTATION}":${JSON.stringify(i.node.criSocket ?? DEFAULTS.criSocket)}}}}'
        pem=/var/lib/kubelet/pki/kubelet-client-current.pem
        until curl -sSf --max-time 5 --cacert ${shellWord(`${i.certificatesDir}/ca.crt`)} --cert "$pem" --key "$pem" -X PATCH \\
            -H 'Content-Type: application/strategic-merge-patch+json' --data "$patch" ${shellWord(nodeUrl)} >/dev/null; do
            if [ "$(date +%s)" -ge "$deadline" ]; then fail "could not annotate Node ${i.node.name} with its CRI socket at ${nodeUrl}; has the kubelet registered it? (journalctl -u kubelet)"; fi
            sleep 2
        done
        echo "annotated Node ${i.node.name} with ${CRI_SOCKET_ANNOTATION}"
    else
        echo "warning: curl is not installed: Node ${i.node.name} is not annotated with ${CRI_SOCKET_ANNOTATION} (kubeadm upgrade node reads it before 1.34)"
    fi
` : ""}fi
`;
}
