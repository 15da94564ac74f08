import * as yaml from "js-yaml";
import { parseGoDuration } from "./duration";
import { discoveryTokenCaCertHash } from "../render/discovery";
import { joinHostPort } from "./network";
import { deepMerge, defined } from "./merge";
import { Problems, show } from "./problems";
import { Arg, BootstrapTokenSpec, ClusterSpec, EtcdSpec, HostPathMount, HostSpec, Taint } from "./types";
import { DEFAULTS } from "./validate";

/** What a kubeadm config file says, mapped onto the cluster spec. */
export interface KubeadmConfigImport {
    /** The apiVersion the file was written in. */
    apiVersion: string;
    spec: Partial<ClusterSpec>;
    /** Node-specific settings (nodeRegistration) by node name; "*" applies to every node the file does not name. */
    nodes: { [name: string]: { address?: string; criSocket?: string; kubeletExtraArgs?: Arg[] } };
    /** JoinConfiguration's discovery, for joining an existing cluster. */
    join?: { apiServerEndpoint?: string; token?: string; caCertHashes?: string[]; controlPlane: boolean };
    /** Paths on the hosts named by etcd.external that must be supplied as contents. */
    externalEtcdFiles?: { caFile?: string; certFile?: string; keyFile?: string };
    warnings: string[];
}

const KUBEADM = /^kubeadm\.k8s\.io\/(v1alpha1|v1beta3|v1beta4)$/;
const REMOVE_IT = "remove it: pulumi-kubeadm cannot honour it";

/**
 * Reads one YAML document and remembers what was read, so that every field no mapping consumed is
 * reported, never dropped: a scalar (or a list of scalars) counts as read when its own path was
 * read; a mapping or a list of mappings is walked field by field, unless a reader took it whole.
 */
class Doc {
    private readonly read = new Set<string>();
    private readonly taken = new Set<string>();
    constructor(readonly data: Record<string, any>, readonly label: string, readonly p: Problems) {}

    get(path: string): any {
        this.read.add(path);
        return path.split(".").reduce((o, k) => (o && typeof o === "object" ? o[k] : undefined), this.data as any);
    }

    /** Reads a value whose every nested field the caller consumes (flag maps, feature gates, embedded configs). */
    whole(path: string): any {
        this.taken.add(path);
        return this.get(path);
    }

    has(path: string): boolean {
        const v = this.get(path);
        return v !== undefined && v !== null;
    }

    problem(path: string, value: unknown, accepted: string): void {
        this.taken.add(path);
        this.p.add(`${this.label}.${path}`, value, accepted);
    }

    /** A field pulumi-kubeadm has no use for: fine at kubeadm's default (or empty), an error otherwise. */
    onlyDefault(path: string, defaults: unknown[], why: string): void {
        const v = this.whole(path);
        if (v === undefined || v === null || defaults.some(d => JSON.stringify(d) === JSON.stringify(v))) return;
        this.problem(path, v, `${defaults.length ? `only kubeadm's default (${defaults.map(d => show(d)).join(" or ")}); ` : ""}${why}`);
    }

    /** Every field of the document that no mapping read: unknown to kubeadm or to pulumi-kubeadm. */
    reportUnread(kind: string): void {
        const unknown = (path: string, v: unknown) => this.problem(path, v, `a field of ${kind} pulumi-kubeadm knows; this one is not in kubeadm's ${kind} or is misspelt`);
        const isMapping = (v: unknown) => v !== null && typeof v === "object" && !Array.isArray(v);
        // Paths some reader looked at, or looked inside: an untouched subtree is reported once, whole.
        const touched = new Set<string>();
        for (const path of [...this.read, ...this.taken]) {
            const parts = path.split(".");
            for (let i = 1; i <= parts.length; i++) touched.add(parts.slice(0, i).join("."));
        }
        const walk = (o: Record<string, any>, prefix: string) => {
            for (const [k, v] of Object.entries(o)) {
                const path = prefix ? `${prefix}.${k}` : k;
                if (this.taken.has(path) || v === null || path === "apiVersion" || path === "kind") continue;
                if (!touched.has(path)) unknown(path, v);
                else if (isMapping(v)) walk(v, path);
                else if (Array.isArray(v) && v.some(isMapping)) {
                    v.forEach((item, i) => (isMapping(item) ? walk(item, `${path}.${i}`) : this.read.has(path) || unknown(`${path}.${i}`, item)));
                } else if (!this.read.has(path)) unknown(path, v);
            }
        };
        walk(this.data, "");
    }
}

/**
 * Imports a kubeadm config file (multi-document YAML): kubeadm.k8s.io/v1beta4 and v1beta3
 * Init/Cluster/JoinConfiguration, the legacy v1alpha1 MasterConfiguration, and the
 * KubeletConfiguration and KubeProxyConfiguration documents. Throws a SpecError listing every
 * field that is malformed, unknown, or cannot be honoured.
 */
export function importKubeadmConfig(text: string): KubeadmConfigImport {
    const p = new Problems();
    let docs: unknown[] = [];
    try {
        docs = yaml.loadAll(text).filter(d => d !== null && d !== undefined);
    } catch (e) {
        p.add("kubeadmConfig", (e as Error).message.split("\n")[0], "valid YAML: one or more documents separated by \"---\"");
        p.throwIfAny("kubeadm config");
    }
    const out: KubeadmConfigImport = { apiVersion: "", spec: {}, nodes: {}, warnings: p.warnings };
    const seen = new Set<string>();
    docs.forEach((d, i) => {
        if (!d || typeof d !== "object" || Array.isArray(d)) {
            p.add(`kubeadmConfig document ${i + 1}`, d, "a mapping with apiVersion and kind");
            return;
        }
        const data = d as Record<string, any>;
        const { apiVersion, kind } = data;
        const label = `${kind ?? `document ${i + 1}`}`;
        if (seen.has(`${apiVersion}/${kind}`)) p.add(label, apiVersion, "each kind once per file");
        seen.add(`${apiVersion}/${kind}`);
        const doc = new Doc(data, label, p);
        const version = KUBEADM.exec(apiVersion ?? "")?.[1];
        if (version) {
            if (out.apiVersion && out.apiVersion !== apiVersion) p.add(`${label}.apiVersion`, apiVersion, `the same kubeadm apiVersion as the file's other documents (${out.apiVersion})`);
            out.apiVersion ||= apiVersion;
            const read = READERS[`${version}/${kind}`];
            if (!read) {
                p.add(`${label}.kind`, kind, `one of ${Object.keys(READERS).filter(k => k.startsWith(version)).map(k => k.split("/")[1]).join(", ")} for kubeadm.k8s.io/${version}`);
                return;
            }
            read(doc, out, version);
        } else if (apiVersion === "kubelet.config.k8s.io/v1beta1" && kind === "KubeletConfiguration") {
            out.spec.kubelet = { ...out.spec.kubelet, config: withoutTypeMeta(data) };
            return;
        } else if (apiVersion === "kubeproxy.config.k8s.io/v1alpha1" && kind === "KubeProxyConfiguration") {
            out.spec.proxy = { ...out.spec.proxy, config: withoutTypeMeta(data) };
            return;
        } else {
            p.add(`${label}.apiVersion`, apiVersion, "kubeadm.k8s.io/v1beta4, v1beta3 or v1alpha1, kubelet.config.k8s.io/v1beta1 (KubeletConfiguration) or kubeproxy.config.k8s.io/v1alpha1 (KubeProxyConfiguration)");
            return;
        }
        doc.reportUnread(`kubeadm.k8s.io/${version} ${kind}`);
    });
    if (docs.length > 0 && !out.apiVersion && p.ok) p.add("kubeadmConfig", "(no kubeadm document)", "at least one kubeadm.k8s.io document (ClusterConfiguration, InitConfiguration, JoinConfiguration or MasterConfiguration)");
    p.throwIfAny("kubeadm config");
    return out;
}

type Reader = (doc: Doc, out: KubeadmConfigImport, version: string) => void;

const READERS: Record<string, Reader> = {
    "v1beta4/ClusterConfiguration": readClusterConfiguration,
    "v1beta3/ClusterConfiguration": readClusterConfiguration,
    "v1beta4/InitConfiguration": readInitConfiguration,
    "v1beta3/InitConfiguration": readInitConfiguration,
    "v1beta4/JoinConfiguration": readJoinConfiguration,
    "v1beta3/JoinConfiguration": readJoinConfiguration,
    "v1beta4/ResetConfiguration": doc => doc.problem("kind", "ResetConfiguration", "no ResetConfiguration: pulumi-kubeadm does not reset nodes; remove this document"),
    "v1beta4/UpgradeConfiguration": doc => doc.problem("kind", "UpgradeConfiguration", "no UpgradeConfiguration: upgrades happen by changing kubernetesVersion; remove this document"),
    "v1alpha1/MasterConfiguration": readMasterConfiguration,
    "v1alpha1/NodeConfiguration": readNodeConfiguration,
};

function readClusterConfiguration(doc: Doc, out: KubeadmConfigImport, version: string): void {
    const s = out.spec;
    const v4 = version === "v1beta4";
    assign(s, "kubernetesVersion", stringAt(doc, "kubernetesVersion"));
    assign(s, "controlPlaneEndpoint", stringAt(doc, "controlPlaneEndpoint"));
    assign(s, "clusterName", stringAt(doc, "clusterName"));
    assign(s, "imageRepository", stringAt(doc, "imageRepository"));
    readNetworking(doc, out);
    const certificatesDir = stringAt(doc, "certificatesDir");
    if (certificatesDir !== undefined) s.certificates = { ...s.certificates, certificatesDir };
    const gates = doc.whole("featureGates");
    if (gates !== undefined && gates !== null) s.featureGates = readFeatureGates(doc, gates, out);

    for (const c of ["apiServer", "controllerManager", "scheduler"] as const) {
        const extraArgs = readArgs(doc, `${c}.extraArgs`, v4);
        const extraVolumes = readVolumes(doc, `${c}.extraVolumes`, "readOnly");
        const extraEnvs = v4 ? readEnvs(doc, `${c}.extraEnvs`) : undefined;
        if (extraArgs || extraVolumes || extraEnvs) s[c] = { ...s[c], ...defined({ extraArgs, extraVolumes, extraEnvs }) };
    }
    const certSANs = stringsAt(doc, "apiServer.certSANs");
    if (certSANs) s.apiServer = { ...s.apiServer, certSANs };
    if (!v4) readTimeout(doc, "apiServer.timeoutForControlPlane", out);

    readEtcd(doc, out, v4);
    for (const addon of ["dns", "proxy"] as const) {
        if (addon === "proxy" && !v4) continue;
        const a = defined({
            disabled: v4 ? boolAt(doc, `${addon}.disabled`) : undefined,
            imageRepository: addon === "dns" ? stringAt(doc, "dns.imageRepository") : undefined,
            imageTag: addon === "dns" ? stringAt(doc, "dns.imageTag") : undefined,
        });
        if (Object.keys(a).length) s[addon] = { ...s[addon], ...a };
    }
    if (v4) {
        const algorithm = stringAt(doc, "encryptionAlgorithm");
        const validityHours = hoursAt(doc, "certificateValidityPeriod");
        const caValidityHours = hoursAt(doc, "caCertificateValidityPeriod");
        const certs = defined({ encryptionAlgorithm: algorithm, validityHours, caValidityHours });
        if (Object.keys(certs).length) s.certificates = { ...s.certificates, ...certs };
    }
}

function readNetworking(doc: Doc, out: KubeadmConfigImport): void {
    const n = defined({
        podSubnet: stringAt(doc, "networking.podSubnet"),
        serviceSubnet: stringAt(doc, "networking.serviceSubnet"),
        dnsDomain: stringAt(doc, "networking.dnsDomain"),
    });
    if (Object.keys(n).length) out.spec.networking = { ...out.spec.networking, ...n };
}

function readFeatureGates(doc: Doc, gates: unknown, out: KubeadmConfigImport): { [gate: string]: boolean } {
    const result: { [gate: string]: boolean } = {};
    for (const [gate, on] of Object.entries(gates && typeof gates === "object" ? gates : {})) {
        if (typeof on !== "boolean") doc.problem(`featureGates.${gate}`, on, "true or false");
        else if (gate === "PublicKeysECDSA") {
            if (on) out.spec.certificates = { ...out.spec.certificates, encryptionAlgorithm: "ECDSA-P256" };
        } else if (gate === "SelfHosting" || gate === "StoreCertsInSecrets" || gate === "HighAvailability") {
            if (on) doc.problem(`featureGates.${gate}`, on, "false: self-hosted control planes were removed from kubeadm (1.12+); pulumi-kubeadm runs the control plane as static pods");
        } else result[gate] = on;
    }
    return result;
}

function readEtcd(doc: Doc, out: KubeadmConfigImport, v4: boolean): void {
    const etcd: EtcdSpec = {};
    if (doc.has("etcd.local") && doc.has("etcd.external")) doc.problem("etcd", "local and external", "one of etcd.local or etcd.external");
    if (doc.has("etcd.external")) {
        etcd.topology = "external";
        readExternalEtcd(doc, out, "etcd.external.endpoints", "etcd.external.caFile", "etcd.external.certFile", "etcd.external.keyFile");
    } else if (doc.has("etcd.local")) {
        etcd.topology = "stacked";
        Object.assign(etcd, defined({
            dataDir: stringAt(doc, "etcd.local.dataDir"),
            imageRepository: stringAt(doc, "etcd.local.imageRepository"),
            imageTag: stringAt(doc, "etcd.local.imageTag"),
            extraArgs: readArgs(doc, "etcd.local.extraArgs", v4),
            extraEnvs: v4 ? readEnvs(doc, "etcd.local.extraEnvs") : undefined,
            serverCertSANs: stringsAt(doc, "etcd.local.serverCertSANs"),
            peerCertSANs: stringsAt(doc, "etcd.local.peerCertSANs"),
        }));
    }
    if (Object.keys(etcd).length) out.spec.etcd = { ...out.spec.etcd, ...etcd };
}

function readExternalEtcd(doc: Doc, out: KubeadmConfigImport, endpointsPath: string, caPath: string, certPath: string, keyPath: string): void {
    const endpoints = stringsAt(doc, endpointsPath);
    out.externalEtcdFiles = defined({ caFile: stringAt(doc, caPath), certFile: stringAt(doc, certPath), keyFile: stringAt(doc, keyPath) });
    out.spec.etcd = { ...out.spec.etcd, topology: "external", external: { endpoints: endpoints ?? [], caCert: "", clientCert: "", clientKey: "" } };
    if (Object.keys(out.externalEtcdFiles).length) {
        out.warnings.push(`The kubeadm config names files on the control planes for external etcd (${Object.values(out.externalEtcdFiles).join(", ")}); ` +
            "give their contents as etcd.external.caCert, clientCert and clientKey, or put the etcd hosts in the program with the \"etcd\" role to let pulumi-kubeadm run them.");
    }
}

function readInitConfiguration(doc: Doc, out: KubeadmConfigImport, version: string): void {
    const v4 = version === "v1beta4";
    const tokens = doc.get("bootstrapTokens");
    if (tokens !== undefined && tokens !== null) {
        if (!Array.isArray(tokens)) doc.problem("bootstrapTokens", tokens, "a list of bootstrap tokens");
        else out.spec.bootstrapTokens = tokens.map((t, i) => readToken(doc, `bootstrapTokens.${i}`, t));
    }
    const name = readNodeRegistration(doc, out, v4, true);
    const address = stringAt(doc, "localAPIEndpoint.advertiseAddress");
    if (address !== undefined) out.nodes[name ?? "*"] = { ...out.nodes[name ?? "*"], address };
    readBindPort(doc, "localAPIEndpoint.bindPort", out);
    if (doc.has("certificateKey")) out.warnings.push("InitConfiguration.certificateKey is not needed: pulumi-kubeadm places certificates on every control plane itself (no upload-certs).");
    readCommon(doc, out, v4);
    if (v4) {
        readTimeout(doc, "timeouts.controlPlaneComponentHealthCheck", out);
        readOtherTimeouts(doc);
    }
}

function readJoinConfiguration(doc: Doc, out: KubeadmConfigImport, version: string): void {
    const v4 = version === "v1beta4";
    const controlPlane = doc.has("controlPlane");
    readNodeRegistration(doc, out, v4, controlPlane);
    doc.onlyDefault("caCertPath", [`${DEFAULTS.certificatesDir}/ca.crt`], "set certificates.certificatesDir to move the certificates");
    const join: NonNullable<KubeadmConfigImport["join"]> = { controlPlane };
    join.token = tokenAt(doc, "discovery.bootstrapToken.token");
    join.apiServerEndpoint = stringAt(doc, "discovery.bootstrapToken.apiServerEndpoint");
    join.caCertHashes = stringsAt(doc, "discovery.bootstrapToken.caCertHashes");
    (join.caCertHashes ?? []).forEach((h, i) => {
        if (!/^sha256:[0-9a-fA-F]{64}$/.test(h)) doc.problem(`discovery.bootstrapToken.caCertHashes.${i}`, h, "\"sha256:\" and 64 hex digits");
    });
    doc.onlyDefault("discovery.bootstrapToken.unsafeSkipCAVerification", [false], "pulumi-kubeadm always pins the cluster CA; give caCertHashes instead");
    if (doc.has("discovery.file")) doc.problem("discovery.file", doc.get("discovery.file"), "bootstrap-token discovery (discovery.bootstrapToken); file discovery is not supported");
    const tlsToken = tokenAt(doc, "discovery.tlsBootstrapToken");
    if (tlsToken !== undefined && join.token !== undefined && tlsToken !== join.token) {
        doc.problem("discovery.tlsBootstrapToken", "(a different token)", "the same token as discovery.bootstrapToken.token (pulumi-kubeadm uses one token for discovery and TLS bootstrap)");
    }
    join.token ??= tlsToken;
    if (!v4) doc.onlyDefault("discovery.timeout", ["5m0s", "5m"], "pulumi-kubeadm bounds its own waits");
    if (controlPlane) {
        const address = stringAt(doc, "controlPlane.localAPIEndpoint.advertiseAddress");
        const name = stringAt(doc, "nodeRegistration.name");
        if (address !== undefined) out.nodes[name ?? "*"] = { ...out.nodes[name ?? "*"], address };
        readBindPort(doc, "controlPlane.localAPIEndpoint.bindPort", out);
        if (doc.has("controlPlane.certificateKey")) out.warnings.push("JoinConfiguration.controlPlane.certificateKey is not needed: pulumi-kubeadm places certificates on every control plane itself.");
    }
    out.join = join;
    readCommon(doc, out, v4);
    if (v4) readOtherTimeouts(doc);
}

/** nodeRegistration: per-node settings; returns the node's name. */
function readNodeRegistration(doc: Doc, out: KubeadmConfigImport, v4: boolean, controlPlane: boolean): string | undefined {
    const name = stringAt(doc, "nodeRegistration.name");
    const key = name ?? "*";
    const criSocket = stringAt(doc, "nodeRegistration.criSocket");
    const kubeletExtraArgs = readArgs(doc, "nodeRegistration.kubeletExtraArgs", v4);
    out.nodes[key] = { ...out.nodes[key], ...defined({ criSocket, kubeletExtraArgs }) };
    const taints = doc.get("nodeRegistration.taints");
    if (Array.isArray(taints)) {
        if (controlPlane) out.spec.controlPlaneTaints = taints.map((t, i) => readTaint(doc, `nodeRegistration.taints.${i}`, t));
        else if (taints.length > 0) doc.problem("nodeRegistration.taints", taints, "no taints on joining workers (taint them with a Kubernetes resource after they join); control-plane taints come from InitConfiguration");
    } else if (taints !== undefined && taints !== null) doc.problem("nodeRegistration.taints", taints, "a list of {key, value, effect}");
    const ignored = stringsAt(doc, "nodeRegistration.ignorePreflightErrors");
    if (ignored) out.spec.ignorePreflightErrors = [...new Set([...(out.spec.ignorePreflightErrors ?? []), ...ignored.map(x => x.toLowerCase())])];
    doc.onlyDefault("nodeRegistration.imagePullPolicy", ["IfNotPresent"], "images are pulled by the kubelet as static pods need them");
    if (v4) doc.onlyDefault("nodeRegistration.imagePullSerial", [true], "pulumi-kubeadm does not pre-pull images");
    return name;
}

function readCommon(doc: Doc, out: KubeadmConfigImport, v4: boolean): void {
    const phases = stringsAt(doc, "skipPhases") ?? [];
    for (const phase of phases) {
        if (phase === "addon/kube-proxy") out.spec.proxy = { ...out.spec.proxy, disabled: true };
        else if (phase === "addon/coredns") out.spec.dns = { ...out.spec.dns, disabled: true };
        else doc.problem("skipPhases", phase, "only \"addon/kube-proxy\" and \"addon/coredns\" (they become proxy.disabled and dns.disabled); other phases are not optional here");
    }
    if (doc.has("patches")) doc.problem("patches", doc.get("patches"), `no patches directory (${REMOVE_IT} — express changes as extraArgs, extraVolumes and extraEnvs)`);
    if (v4) doc.onlyDefault("dryRun", [false], "use `pulumi preview` for a dry run");
}

function readOtherTimeouts(doc: Doc): void {
    const defaults: Record<string, string> = {
        kubeletHealthCheck: "4m0s", kubernetesAPICall: "1m0s", etcdAPICall: "2m0s", tlsBootstrap: "5m0s", discovery: "5m0s", upgradeManifests: "5m0s",
    };
    for (const [t, d] of Object.entries(defaults)) {
        const v = doc.get(`timeouts.${t}`);
        if (v !== undefined && v !== null && parseGoDuration(String(v)) !== parseGoDuration(d)) {
            doc.problem(`timeouts.${t}`, v, `kubeadm's default (${d}); pulumi-kubeadm bounds its own waits, and only timeouts.controlPlaneComponentHealthCheck is configurable (as apiServer.readinessTimeoutSeconds)`);
        }
    }
}

function readTimeout(doc: Doc, path: string, out: KubeadmConfigImport): void {
    const v = doc.get(path);
    if (v === undefined || v === null) return;
    const seconds = parseGoDuration(String(v));
    if (seconds === undefined || seconds <= 0) doc.problem(path, v, "a duration such as \"4m0s\"");
    else out.spec.apiServer = { ...out.spec.apiServer, readinessTimeoutSeconds: Math.ceil(seconds) };
}

function readBindPort(doc: Doc, path: string, out: KubeadmConfigImport): void {
    const port = doc.get(path);
    if (port === undefined || port === null) return;
    if (typeof port !== "number") doc.problem(path, port, "a port number");
    else out.spec.apiServer = { ...out.spec.apiServer, bindPort: port };
}

function readToken(doc: Doc, path: string, t: any): BootstrapTokenSpec {
    const token = tokenAt(doc, `${path}.token`);
    const expires = doc.get(`${path}.expires`);
    if (expires !== undefined && expires !== null) doc.problem(`${path}.expires`, expires, "a ttl instead of an expiry time (pulumi-kubeadm renews tokens by TTL)");
    if (t === null || typeof t !== "object") doc.problem(path, t, "a bootstrap token {token, ttl, usages, groups}");
    return defined({
        token, description: stringAt(doc, `${path}.description`), ttl: stringAt(doc, `${path}.ttl`),
        usages: stringsAt(doc, `${path}.usages`), groups: stringsAt(doc, `${path}.groups`),
    });
}

function tokenAt(doc: Doc, path: string): string | undefined {
    const token = stringAt(doc, path);
    if (token !== undefined && !/^[a-z0-9]{6}\.[a-z0-9]{16}$/.test(token)) doc.problem(path, "(a malformed token)", "6 then 16 characters of [a-z0-9] joined by a dot");
    return token;
}

function readTaint(doc: Doc, path: string, t: any): Taint {
    const taint = defined({ key: stringAt(doc, `${path}.key`), value: stringAt(doc, `${path}.value`), effect: stringAt(doc, `${path}.effect`) }) as Taint;
    if (doc.has(`${path}.timeAdded`)) doc.problem(`${path}.timeAdded`, t.timeAdded, "no timeAdded (it is set by Kubernetes)");
    return taint;
}

/** v1beta4 lists of {name, value}; v1beta3 and v1alpha1 maps. */
function readArgs(doc: Doc, path: string, list: boolean): Arg[] | undefined {
    const v = doc.whole(path);
    if (v === undefined || v === null) return undefined;
    if (list) {
        if (!Array.isArray(v) || v.some(a => !a || typeof a.name !== "string" || typeof a.value !== "string")) {
            doc.problem(path, v, "a list of {name, value} with string values (v1beta4 form)");
            return undefined;
        }
        return v.map(a => ({ name: a.name, value: a.value }));
    }
    if (typeof v !== "object" || Array.isArray(v) || Object.values(v).some(x => typeof x !== "string")) {
        doc.problem(path, v, "a map of flag name to string value (v1beta3 form)");
        return undefined;
    }
    return Object.entries(v as Record<string, string>).map(([name, value]) => ({ name, value }));
}

function readVolumes(doc: Doc, path: string, writeFlag: "readOnly" | "writable"): HostPathMount[] | undefined {
    const v = doc.get(path);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) {
        doc.problem(path, v, "a list of {name, hostPath, mountPath, readOnly, pathType}");
        return undefined;
    }
    return v.map((m, i) => {
        const p = `${path}.${i}`;
        const flag = boolAt(doc, `${p}.${writeFlag}`);
        return defined({
            name: stringAt(doc, `${p}.name`), hostPath: stringAt(doc, `${p}.hostPath`), mountPath: stringAt(doc, `${p}.mountPath`),
            // v1alpha1 mounted extra volumes read-only unless `writable: true`.
            readOnly: writeFlag === "readOnly" ? flag : !(flag ?? false),
            pathType: stringAt(doc, `${p}.pathType`),
        }) as HostPathMount;
    });
}

function readEnvs(doc: Doc, path: string): { name: string; value: string }[] | undefined {
    const v = doc.whole(path);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some(e => !e || typeof e.name !== "string" || (e.valueFrom !== undefined))) {
        doc.problem(path, v, "a list of {name, value} (valueFrom is not supported in static pods written by pulumi-kubeadm)");
        return undefined;
    }
    return v.map(e => ({ name: e.name, value: String(e.value ?? "") }));
}

function hoursAt(doc: Doc, path: string): number | undefined {
    const v = doc.get(path);
    if (v === undefined || v === null) return undefined;
    const seconds = parseGoDuration(String(v));
    if (seconds === undefined || seconds <= 0 || seconds % 3600 !== 0) {
        doc.problem(path, v, "a whole number of hours such as \"8760h0m0s\"");
        return undefined;
    }
    return seconds / 3600;
}

function stringAt(doc: Doc, path: string): string | undefined {
    const v = doc.get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") {
        if (typeof v === "number" || typeof v === "boolean") return String(v);
        doc.problem(path, v, "a string");
        return undefined;
    }
    return v;
}

function stringsAt(doc: Doc, path: string): string[] | undefined {
    const v = doc.get(path);
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v) || v.some(x => typeof x !== "string")) {
        doc.problem(path, v, "a list of strings");
        return undefined;
    }
    return v;
}

function boolAt(doc: Doc, path: string): boolean | undefined {
    const v = doc.get(path);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") doc.problem(path, v, "true or false");
    return v === true;
}

// ---- v1alpha1 (kubeadm 1.8–1.10) ----

function readMasterConfiguration(doc: Doc, out: KubeadmConfigImport): void {
    const s = out.spec;
    assign(s, "kubernetesVersion", stringAt(doc, "kubernetesVersion"));
    assign(s, "controlPlaneEndpoint", stringAt(doc, "api.controlPlaneEndpoint"));
    assign(s, "imageRepository", stringAt(doc, "imageRepository"));
    assign(s, "clusterName", stringAt(doc, "clusterName"));
    const name = stringAt(doc, "nodeName");
    const address = stringAt(doc, "api.advertiseAddress");
    const criSocket = stringAt(doc, "criSocket");
    out.nodes[name ?? "*"] = defined({ address, criSocket });
    readBindPort(doc, "api.bindPort", out);
    readNetworking(doc, out);
    const certificatesDir = stringAt(doc, "certificatesDir");
    if (certificatesDir !== undefined) s.certificates = { certificatesDir };
    const gates = doc.whole("featureGates");
    if (gates !== undefined && gates !== null) s.featureGates = readFeatureGates(doc, gates, out);

    if (doc.has("etcd.endpoints")) readExternalEtcd(doc, out, "etcd.endpoints", "etcd.caFile", "etcd.certFile", "etcd.keyFile");
    else {
        const etcd = defined({
            dataDir: stringAt(doc, "etcd.dataDir"),
            extraArgs: readArgs(doc, "etcd.extraArgs", false),
            serverCertSANs: stringsAt(doc, "etcd.serverCertSANs"),
            peerCertSANs: stringsAt(doc, "etcd.peerCertSANs"),
        });
        if (Object.keys(etcd).length) s.etcd = { topology: "stacked", ...etcd };
    }
    if (doc.has("etcd.image")) doc.problem("etcd.image", doc.get("etcd.image"), "no etcd.image: set etcd.imageRepository and etcd.imageTag (the image is named \"etcd\")");
    doc.onlyDefault("etcd.selfHosted", [false, {}], "self-hosted etcd was removed from kubeadm; use etcd.topology stacked or dedicated");
    doc.onlyDefault("selfHosted", [false], "self-hosted control planes were removed from kubeadm (1.12+); pulumi-kubeadm runs the control plane as static pods");

    const components = { apiServer: "apiServer", controllerManager: "controllerManager", scheduler: "scheduler" } as const;
    for (const [prefix, c] of Object.entries(components)) {
        const extraArgs = readArgs(doc, `${prefix}ExtraArgs`, false);
        const extraVolumes = readVolumes(doc, `${prefix}ExtraVolumes`, "writable");
        if (extraArgs || extraVolumes) s[c] = { ...s[c], ...defined({ extraArgs, extraVolumes }) };
    }
    const modes = stringsAt(doc, "authorizationModes");
    if (modes) s.apiServer = { ...s.apiServer, extraArgs: [...(s.apiServer?.extraArgs ?? []), { name: "authorization-mode", value: modes.join(",") }] };
    const sans = stringsAt(doc, "apiServerCertSANs");
    if (sans) s.apiServer = { ...s.apiServer, certSANs: sans };

    const token = tokenAt(doc, "token");
    const ttl = stringAt(doc, "tokenTTL");
    const usages = stringsAt(doc, "tokenUsages");
    const groups = stringsAt(doc, "tokenGroups");
    if (token || ttl || usages || groups) s.bootstrapTokens = [defined({ token, ttl: ttl === "0" ? "0s" : ttl, usages, groups })];
    if (boolAt(doc, "noTaintMaster")) s.controlPlaneTaints = [];

    const cloud = stringAt(doc, "cloudProvider");
    if (cloud === "external") s.kubelet = { ...s.kubelet, extraArgs: [{ name: "cloud-provider", value: "external" }] };
    else if (cloud) doc.problem("cloudProvider", cloud, "\"external\": in-tree cloud providers were removed from Kubernetes; run your provider's cloud-controller-manager");
    doc.onlyDefault("privilegedPods", [false], "static pods get kubeadm's security settings");
    doc.onlyDefault("unifiedControlPlaneImage", [""], "each component uses its own image; set imageRepository");
    if (doc.has("auditPolicy")) doc.problem("auditPolicy", doc.get("auditPolicy"), "audit settings as apiServer extraArgs (audit-policy-file, audit-log-path) and extraVolumes");
    doc.onlyDefault("imagePullPolicy", ["", "IfNotPresent"], "images are pulled by the kubelet as static pods need them");
    const proxy = doc.whole("kubeProxy.config");
    if (proxy && typeof proxy === "object") s.proxy = { ...s.proxy, config: proxy };
    const kubelet = doc.whole("kubeletConfiguration.baseConfig");
    if (kubelet && typeof kubelet === "object") s.kubelet = { ...s.kubelet, config: kubelet };
}

function readNodeConfiguration(doc: Doc, out: KubeadmConfigImport): void {
    const name = stringAt(doc, "nodeName");
    out.nodes[name ?? "*"] = defined({ criSocket: stringAt(doc, "criSocket") });
    const token = tokenAt(doc, "token") ?? tokenAt(doc, "discoveryToken");
    const tls = tokenAt(doc, "tlsBootstrapToken");
    if (tls !== undefined && token !== undefined && tls !== token) doc.problem("tlsBootstrapToken", "(a different token)", "the same token as discoveryToken");
    const servers = stringsAt(doc, "discoveryTokenAPIServers");
    out.join = defined({
        controlPlane: false, token: token ?? tls, apiServerEndpoint: servers?.[0],
        caCertHashes: stringsAt(doc, "discoveryTokenCACertHashes"),
    }) as KubeadmConfigImport["join"];
    if ((servers?.length ?? 0) > 1) out.warnings.push(`NodeConfiguration.discoveryTokenAPIServers lists ${servers!.length} servers; using the first (${servers![0]}) as the endpoint.`);
    doc.onlyDefault("discoveryTokenUnsafeSkipCAVerification", [false], "pulumi-kubeadm always pins the cluster CA; give discoveryTokenCACertHashes instead");
    if (doc.has("discoveryFile")) doc.problem("discoveryFile", doc.get("discoveryFile"), "bootstrap-token discovery; file discovery is not supported");
    doc.onlyDefault("caCertPath", [`${DEFAULTS.certificatesDir}/ca.crt`], "set certificates.certificatesDir to move the certificates");
    doc.onlyDefault("discoveryTimeout", ["5m0s", "5m"], "pulumi-kubeadm bounds its own waits");
    const gates = doc.whole("featureGates");
    if (gates !== undefined && gates !== null) out.spec.featureGates = readFeatureGates(doc, gates, out);
}

function withoutTypeMeta(data: Record<string, any>): Record<string, any> {
    const { apiVersion: _a, kind: _k, ...rest } = data;
    return rest;
}

function assign<K extends keyof ClusterSpec>(s: Partial<ClusterSpec>, key: K, value: ClusterSpec[K] | undefined): void {
    if (value !== undefined) s[key] = value;
}


/**
 * The cluster spec a kubeadm config file describes, completed by the program: the program gives
 * the hosts (a kubeadm file names at most the node it runs on) and wins over the file wherever
 * both set a field. Node settings from nodeRegistration go to the host of that name.
 */
export function clusterSpecFromKubeadmConfig(text: string, program: Partial<ClusterSpec> & { hosts: HostSpec[] }): { spec: ClusterSpec; imported: KubeadmConfigImport; warnings: string[] } {
    const imported = importKubeadmConfig(text);
    const p = new Problems();
    const warnings = [...imported.warnings];
    const spec = deepMerge(imported.spec, program) as ClusterSpec;
    const fileVersion = imported.spec.kubernetesVersion;
    if (fileVersion && program.kubernetesVersion && fileVersion !== program.kubernetesVersion) {
        warnings.push(`The kubeadm config says kubernetesVersion ${fileVersion}; the program's ${program.kubernetesVersion} is used.`);
    }

    const named = new Set(Object.keys(imported.nodes).filter(n => n !== "*"));
    spec.hosts = program.hosts.map(h => {
        const node = imported.nodes[h?.name] ?? (named.has(h?.name) ? undefined : imported.nodes["*"]);
        if (!node || !h) return h;
        const host: HostSpec = { ...h };
        if (node.criSocket && !h.criSocket) host.criSocket = node.criSocket;
        const args = (node.kubeletExtraArgs ?? []).filter(a => !restatesHost(a, host));
        if (args.length) host.kubeletExtraArgs = [...args, ...(h.kubeletExtraArgs ?? [])];
        return host;
    });
    for (const [name, node] of Object.entries(imported.nodes)) {
        if (name === "*") continue;
        const host = program.hosts.find(h => h?.name === name);
        if (!host) p.add("kubeadmConfig nodeRegistration.name", name, `the name of one of the program's hosts (${program.hosts.map(h => h?.name).join(", ")})`);
        else if (node.address && node.address !== host.address) {
            p.add("kubeadmConfig localAPIEndpoint.advertiseAddress", node.address, `the address of host ${name} in the program (${host.address})`);
        }
    }

    const anonymous = imported.nodes["*"]?.address;
    if (anonymous && !program.hosts.some(h => h?.address === anonymous)) {
        p.add("kubeadmConfig localAPIEndpoint.advertiseAddress", anonymous, `the address of one of the program's hosts, or a nodeRegistration.name saying which host it is (${program.hosts.map(h => h?.address).join(", ")})`);
    }
    if (imported.join) honourJoin(p, imported.join, spec);

    const etcdHosts = program.hosts.filter(h => h?.roles?.includes("etcd"));
    if (imported.spec.etcd?.topology === "external" && !program.etcd?.external && etcdHosts.length > 0) {
        const expected = etcdHosts.map(h => `https://${joinHostPort(h.address, 2379)}`).sort();
        const endpoints = [...(imported.spec.etcd.external?.endpoints ?? [])].sort();
        if (JSON.stringify(expected) !== JSON.stringify(endpoints)) {
            p.add("kubeadmConfig etcd.external.endpoints", endpoints, `the client URLs of the program's "etcd" hosts (${expected.join(", ")}), which pulumi-kubeadm runs as dedicated etcd`);
        }
        spec.etcd = { ...spec.etcd, topology: "dedicated", external: undefined };
        delete spec.etcd.external;
    }
    p.throwIfAny("kubeadm config");
    return { spec, imported, warnings };
}

/**
 * JoinConfiguration's discovery, honoured: its endpoint must be the cluster's, its token becomes one
 * of the cluster's bootstrap tokens, and its CA pins must match the CA the cluster is given.
 */
function honourJoin(p: Problems, join: NonNullable<KubeadmConfigImport["join"]>, spec: ClusterSpec): void {
    if (join.apiServerEndpoint) {
        if (!spec.controlPlaneEndpoint) spec.controlPlaneEndpoint = join.apiServerEndpoint;
        else if (join.apiServerEndpoint !== spec.controlPlaneEndpoint) {
            p.add("kubeadmConfig discovery.bootstrapToken.apiServerEndpoint", join.apiServerEndpoint, `the cluster's controlPlaneEndpoint (${spec.controlPlaneEndpoint})`);
        }
    }
    if (join.token && !(spec.bootstrapTokens ?? []).some(t => t.token === join.token)) {
        spec.bootstrapTokens = [...(spec.bootstrapTokens ?? []), { token: join.token }];
    }
    const pins = (join.caCertHashes ?? []).map(h => h.toLowerCase());
    if (pins.length === 0) return;
    const ca = spec.certificates?.ca?.certPem;
    if (typeof ca !== "string") {
        p.add("kubeadmConfig discovery.bootstrapToken.caCertHashes", join.caCertHashes, "certificates.ca given as PEM text: the hashes pin an existing CA, and a CA pulumi-kubeadm generates could never match them");
        return;
    }
    let hash = "";
    try {
        hash = discoveryTokenCaCertHash(ca);
    } catch {
        return; // an unreadable CA is reported by the PKI checks
    }
    if (!pins.includes(hash)) p.add("kubeadmConfig discovery.bootstrapToken.caCertHashes", join.caCertHashes, `a pin of certificates.ca, whose hash is ${hash}`);
}

/** kubeletExtraArgs that only restate what pulumi-kubeadm sets from the host anyway. */
function restatesHost(a: Arg, h: HostSpec): boolean {
    return (a.name === "node-ip" && a.value === h.address)
        || (a.name === "hostname-override" && a.value === h.name)
        || (a.name === "container-runtime-endpoint" && a.value === (h.criSocket ?? DEFAULTS.criSocket));
}

