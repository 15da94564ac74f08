import { HostSpec, NodePreparationSpec, SystemdDropIn } from "../spec/types";
import { DEFAULTS, ResolvedCluster } from "../spec/validate";
import { bootstrapKubeletConf } from "./bootstrap-token";
import { CRI_SOCKET_ANNOTATION } from "./cluster-objects";
import { HostFacts, KUBELET_FILES, kubeletVersionCheck, PACKAGED_KUBEADM_DROPINS } from "./control-plane-scripts";
import { checkFunctions } from "./preflight";
import { discoveryFunctions } from "./discovery";
import { KUBELET_RESTARTED, kubeletPackageUpgrade } from "./kubelet-upgrade";
import { kubeadmFlagsEnv, KUBELET_DROPIN_DIR, kubeletConfig, kubeletInstanceConfig, KubeletInput, nodeKubeletInput } from "./kubelet";
import { minorAtLeast } from "./manifests/static-pod";
import { anyChanged, digest, ensureDir, kubeletRunning, pendingDone, PlacedFile, placeFilesScript, ScriptContext, scriptHeader, shellWord, summary } from "./scripts";

export const BOOTSTRAP_KUBELET_CONF = "/etc/kubernetes/bootstrap-kubelet.conf";
export const KUBELET_CONF = "/etc/kubernetes/kubelet.conf";
export const DEFAULT_TLS_BOOTSTRAP_TIMEOUT_SECONDS = 300;

/** A worker's public files in kubeadm join's order: ca.crt, then the kubelet's files and the user's drop-ins. */
export function workerFiles(cluster: ResolvedCluster, node: HostSpec, facts: HostFacts, caCertPem: string): PlacedFile[] {
    const pki = cluster.spec.certificates?.certificatesDir ?? DEFAULTS.certificatesDir;
    const kubelet = nodeKubeletInput(cluster, node, facts, []);
    return [
        { path: `${pki}/ca.crt`, mode: "0644", content: caCertPem },
        { path: "/var/lib/kubelet/config.yaml", mode: "0644", content: kubeletConfig(kubelet) },
        ...joinNodeFiles(kubelet, cluster.spec.kubelet?.dropIns ?? []),
    ];
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
    /** On a joined node whose kubelet is older: upgrade its kubelet and kubectl with this installer (the node was drained first). */
    kubeletInstaller?: NodePreparationSpec;
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
`
        + (i.kubeletInstaller ? `if [ "$joined" = true ]; then
${kubeletPackageUpgrade(i.kubeletInstaller, i.version, false)}    [ "$kubelet_upgraded" = false ] || changed+=(${KUBELET_PACKAGE})
fi
` : "")
        + kubeletStart(i, [...kubeletFiles, ...(i.kubeletInstaller ? [KUBELET_PACKAGE] : [])]);
}

/** What `changed` lists when the kubelet package was upgraded (the kubelet restarts once, with its new files). */
const KUBELET_PACKAGE = "kubelet-package";

/** kubelet-start's end, once `$joined` is set and the files are placed: the packaged drop-in, a restart when anything changed, the TLS bootstrap wait. */
function kubeletStart(i: KubeletStartInput, kubeletFiles: string[]): string {
    return `packaged_dropin=""
for f in ${PACKAGED_KUBEADM_DROPINS.slice(0, 2).join(" ")}; do [ -f "$f" ] && packaged_dropin=$f; done
if [ -z "$packaged_dropin" ]; then
${placeFilesScript([{ path: PACKAGED_KUBEADM_DROPINS[2], mode: "0644", content: i.kubeadmDropIn }], true)}fi
`
        + anyChanged([...kubeletFiles, BOOTSTRAP_KUBELET_CONF, PACKAGED_KUBEADM_DROPINS[2]])
        + kubeletRunning() + KUBELET_RESTARTED
        + (i.tlsBootstrapTimeoutSeconds > 0 ? tlsBootstrapWait(i) : `if [ "$joined" = false ]; then echo "not waiting for the kubelet's TLS bootstrap (tlsBootstrapTimeoutSeconds: 0)"; fi\n`)
        + summary();
}

type KubeletStartInput = Pick<WorkerJoinInput, "node" | "minor" | "certificatesDir" | "endpoint" | "kubeadmDropIn" | "tlsBootstrapTimeoutSeconds">;

function tlsBootstrapWait(i: KubeletStartInput): string {
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

const PLACEHOLDER = { server: "PULUMI_KUBEADM_SERVER", caData: "PULUMI_KUBEADM_CA_DATA", token: "PULUMI_KUBEADM_TOKEN" };

/** bootstrap-kubelet.conf with placeholders for what discovery finds on the host: the server, the CA data and the token. */
export function bootstrapKubeletConfTemplate(): string {
    const caPlaceholder = "PULUMI_KUBEADM_CA";
    return bootstrapKubeletConf({ server: PLACEHOLDER.server, caCertPem: caPlaceholder, token: PLACEHOLDER.token })
        .replace(Buffer.from(caPlaceholder).toString("base64"), PLACEHOLDER.caData);
}

/** A joining node's files that need nothing from the cluster: kubeadm-flags.env, instance-config.yaml (1.34+) and the user's drop-ins. */
export function joinNodeFiles(kubelet: KubeletInput, dropIns: SystemdDropIn[]): PlacedFile[] {
    const files: PlacedFile[] = [{ path: "/var/lib/kubelet/kubeadm-flags.env", mode: "0644", content: kubeadmFlagsEnv(kubelet) }];
    const instance = kubeletInstanceConfig(kubelet);
    if (instance) files.push({ path: "/var/lib/kubelet/instance-config.yaml", mode: "0644", content: instance });
    for (const d of dropIns) files.push({ path: `${KUBELET_DROPIN_DIR}/${d.name}`, mode: "0644", content: d.content.endsWith("\n") ? d.content : `${d.content}\n` });
    return files;
}

export interface DiscoveryJoinInput extends Omit<WorkerJoinInput, "files"> {
    /** kubeadm's --discovery-token-ca-cert-hash values: the cluster CA must match one. */
    caCertHashes: string[];
    /** How long to retry fetching a signed cluster-info (kubeadm's discovery timeout). */
    discoveryTimeoutSeconds: number;
    /** joinNodeFiles(). */
    files: PlacedFile[];
}

/**
 * `kubeadm join` with token discovery, for a node of a cluster this program did not build: the
 * token arrives on stdin. As kubeadm: fetch kube-public/cluster-info without TLS verification and
 * retry until it carries this token's JWS signature and the signature verifies; check the CA
 * against the pinned hashes; fetch cluster-info again over TLS with that CA and require the same;
 * then, with the token over the pinned TLS, read the cluster's version from kubeadm-config and the
 * KubeletConfiguration from kubelet-config. Nothing changes on the host before all of this passes.
 * Then kubelet-start as for any worker, with the CA and the server of cluster-info. A node that has
 * already joined (kubelet.conf under a pinned CA) skips discovery, so an expired token does not matter.
 */
export function discoveryJoinScript(i: DiscoveryJoinInput): string {
    const pki = i.certificatesDir;
    const caFile = `${pki}/ca.crt`;
    const api = `https://${i.endpoint}`;
    const minor = i.minor;
    const nodeLocalCriSocket = minorAtLeast(minor, 1, 34);
    const template = bootstrapKubeletConfTemplate();
    const end = `EOF_${digest(template).slice(0, 10).toUpperCase()}`;
    const kubeletFiles = [caFile, "/var/lib/kubelet/config.yaml", ...i.files.map(f => f.path)];
    return scriptHeader(i) + checkFunctions(i.ignore) + kubeletVersionCheck(i, "a cluster")
        + placeFilesScript([])
        + discoveryFunctions(i.caCertHashes)
        + `for tool in curl openssl awk sha256sum base64; do
    command -v "$tool" >/dev/null 2>&1 || fail "token discovery needs $tool on the host; install it (curl, openssl, and coreutils/gawk or mawk)"
done
api=${shellWord(api)}
joined=false
if [ -f ${KUBELET_CONF} ] && ca_pinned ${shellWord(caFile)}; then
    joined=true
    cat >/dev/null
    echo "already joined (${KUBELET_CONF} under a pinned CA): discovery skipped"
else
    IFS= read -r token || true
    [[ $token =~ ^([a-z0-9]{6})\\.([a-z0-9]{16})$ ]] || fail "the bootstrap token given is not of the form [a-z0-9]{6}.[a-z0-9]{16}"
    token_id=\${BASH_REMATCH[1]} token_secret=\${BASH_REMATCH[2]}
    disc=$(mktemp -d)
    trap 'rm -rf "$disc"' EXIT
    info=/api/v1/namespaces/kube-public/configmaps/cluster-info
    problem=""
    signed_cluster_info() {
        local code signature header payload
        if ! code=$(curl -sS -k --max-time 10 -o "$disc/info.json" -w '%{http_code}' "$api$info" 2>"$disc/curl.err"); then
            problem="cannot reach $api: $(head -c 300 "$disc/curl.err")"; return 1
        fi
        if [ "$code" != 200 ]; then problem="GET $info answered HTTP $code: $(head -c 300 "$disc/info.json")"; return 1; fi
        if ! json_string kubeconfig <"$disc/info.json" >"$disc/kubeconfig"; then problem="cluster-info has no kubeconfig"; return 1; fi
        if ! signature=$(json_string "jws-kubeconfig-$token_id" <"$disc/info.json"); then
            problem="cluster-info has no signature for token id $token_id: the token is unknown, expired or not for signing, or kube-controller-manager has not signed it yet"; return 1
        fi
        header=$(printf '{"alg":"HS256","kid":"%s"}' "$token_id" | base64 -w0 | tr '+/' '-_' | tr -d '=')
        payload=$(base64 -w0 <"$disc/kubeconfig" | tr '+/' '-_' | tr -d '=')
        if [ "$signature" != "$header..$(hmac_sha256_b64url "$token_secret" "$header.$payload")" ]; then
            problem="cluster-info's signature for token id $token_id does not verify with this token: its secret is wrong"; return 1
        fi
    }
    deadline=$(( $(date +%s) + ${i.discoveryTimeoutSeconds} ))
    until signed_cluster_info; do
        if [ "$(date +%s)" -ge "$deadline" ]; then fail "token discovery at $api gave up after ${i.discoveryTimeoutSeconds}s: $problem"; fi
        sleep 5
    done
    server=$(awk '$1 == "server:" { gsub(/"/, "", $2); print $2; exit }' "$disc/kubeconfig")
    [[ $server =~ ^https://[A-Za-z0-9.:_-]+$|^https://\\[[0-9A-Fa-f:.]+\\](:[0-9]+)?$ ]] || fail "cluster-info's kubeconfig names no usable server (found: \${server:-none})"
    awk '$1 == "certificate-authority-data:" { print $2; exit }' "$disc/kubeconfig" | base64 -d >"$disc/ca.crt" 2>/dev/null || true
    awk -v dir="$disc" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (dir "/ca-" n ".pem") }' "$disc/ca.crt"
    pinned=false
    found=""
    for cert in "$disc"/ca-*.pem; do
        [ -f "$cert" ] || fail "cluster-info's kubeconfig has no CA certificate (certificate-authority-data)"
        found="$found $(ca_pin "$cert")"
        if ca_pinned "$cert"; then pinned=true; fi
    done
    $pinned || fail "the CA that $api presents in cluster-info has the public key hash$found, which is none of caCertHashes (\${pins[*]}): this is not the cluster you named, or a hash is wrong; on a control plane: openssl x509 -pubkey -noout -in ${pki}/ca.crt | openssl pkey -pubin -outform DER | sha256sum"
    # The token reaches curl in a file of this 0700 directory, never in its argv.
    printf 'Authorization: Bearer %s.%s\\n' "$token_id" "$token_secret" >"$disc/auth"
    api_get() { # api_get PATH OUT [token]: GET over TLS pinned to the cluster CA
        local code
        if ! code=$(curl -sS --cacert "$disc/ca.crt" --max-time 10 \${3:+-H "@$disc/auth"} -o "$2" -w '%{http_code}' "$api$1" 2>"$disc/curl.err"); then
            fail "GET $api$1 over TLS with the pinned CA failed (does the API server's certificate name ${i.endpoint}?): $(head -c 300 "$disc/curl.err")"
        fi
        [ "$code" = 200 ] || fail "GET $1\${3:+ with the bootstrap token} answered HTTP $code: $(head -c 300 "$2")"
    }
    api_get "$info" "$disc/info-pinned.json"
    json_string kubeconfig <"$disc/info-pinned.json" >"$disc/kubeconfig-pinned" || fail "cluster-info fetched over the pinned TLS has no kubeconfig"
    cmp -s "$disc/kubeconfig" "$disc/kubeconfig-pinned" || fail "cluster-info fetched over the pinned TLS differs from the first copy; try again"
    echo "discovery: cluster-info signed for token $token_id, CA pinned, server $server"
    api_get /api/v1/namespaces/kube-system/configmaps/kubeadm-config "$disc/kubeadm-config.json" token
    json_string ClusterConfiguration <"$disc/kubeadm-config.json" >"$disc/cluster-configuration.yaml" || fail "kube-system/kubeadm-config has no ClusterConfiguration"
    cluster_version=$(awk '$1 == "kubernetesVersion:" { gsub(/"/, "", $2); print $2; exit }' "$disc/cluster-configuration.yaml")
    [ "$(printf '%s' "\${cluster_version#v}" | cut -d. -f1,2)" = ${shellWord(minor)} ] \\
        || fail "the cluster runs \${cluster_version:-an unknown version} (kube-system/kubeadm-config) but kubernetesVersion is ${i.version}; set kubernetesVersion to the cluster's version"
    api_get /api/v1/namespaces/kube-system/configmaps/kubelet-config "$disc/kubelet-config.json" token
    json_string kubelet <"$disc/kubelet-config.json" >"$disc/config.yaml" || fail "kube-system/kubelet-config has no kubelet key"
    grep -q '^kind: KubeletConfiguration$' "$disc/config.yaml" || fail "kube-system/kubelet-config's kubelet key is not a KubeletConfiguration"
    set_key() { # set_key FILE KEY VALUE: a top-level YAML key set (replaced, or added)
        awk -v k="$2" -v v="$3" '$0 ~ "^" k ":" { print k ": " v; done = 1; next } { print } END { if (!done) print k ": " v }' "$1" >"$1.new" && mv -f "$1.new" "$1"
    }
${nodeLocalCriSocket ? `    # NodeLocalCRISocket: kubeadm applies instance-config.yaml over the downloaded configuration.
    set_key "$disc/config.yaml" containerRuntimeEndpoint ${shellWord(i.node.criSocket ?? DEFAULTS.criSocket)}
` : ""}    # As kubeadm's kubelet config mutation: the resolver of systemd-resolved when it runs here and none is set.
    if systemctl is-active --quiet systemd-resolved 2>/dev/null && ! grep -q '^resolvConf:' "$disc/config.yaml"; then
        set_key "$disc/config.yaml" resolvConf /run/systemd/resolve/resolv.conf
    fi
`
        + ensureDir("/etc/kubernetes", "0755")
        + ensureDir(pki, "0755")
        + ensureDir("/var/lib/kubelet", "0700")
        + `    tmp=$(tmpfile ${shellWord(caFile)}); cp "$disc/ca.crt" "$tmp"; place ${shellWord(caFile)} 0644 "$tmp"
    tmp=$(tmpfile /var/lib/kubelet/config.yaml); cp "$disc/config.yaml" "$tmp"; place /var/lib/kubelet/config.yaml 0644 "$tmp"
    conf=$(cat <<'${end}'
${template.replace(/\n$/, "")}
${end}
)
    bootstrap_token="$token_id.$token_secret"
    # Quoted where YAML would read a number (as the program's YAML writer quotes it), e.g. 123456.0123456789012e34.
    if [[ $bootstrap_token =~ ^[0-9]+(\\.[0-9]*)?([eE][-+]?[0-9]+)?$ ]]; then bootstrap_token="'$bootstrap_token'"; fi
    conf=\${conf//${PLACEHOLDER.server}/$server}
    conf=\${conf//${PLACEHOLDER.caData}/$(base64 -w0 <"$disc/ca.crt")}
    conf=\${conf//${PLACEHOLDER.token}/$bootstrap_token}
    tmp=$(tmpfile ${BOOTSTRAP_KUBELET_CONF}); printf '%s\\n' "$conf" >"$tmp"; place ${BOOTSTRAP_KUBELET_CONF} 0600 "$tmp"
fi
`
        + ensureDir("/var/lib/kubelet", "0700")
        + placeFilesScript(i.files, true)
        + kubeletStart(i, kubeletFiles)
        + pendingDone();
}
