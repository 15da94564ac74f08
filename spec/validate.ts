import * as fs from "node:fs";
import * as path from "node:path";
import * as yaml from "js-yaml";
import * as ipaddr from "ipaddr.js";
import { OWNED_FLAGS, ControlPlaneComponent } from "../render/owned-flags";
import { resolveVersion, ResolvedVersion, SUPPORTED_MINORS } from "../render/versions";
import { Problems, SpecError } from "./problems";
import {
    Cidr, cidrContains, cidrToString, cidrsOverlap, hostBits, isDnsSubdomain, isIp, isWildcardDns,
    nthAddress, parseCidr, splitHostPort, splitList,
} from "./network";
import {
    Arg, BootstrapTokenSpec, CertificatesSpec, ClusterSpec, ControlPlaneComponentSpec, EnvVar, HOST_ROLES, HostPathMount, HostSpec,
    NetworkingSpec, SshSpec, BastionSpec, Taint, EncryptionAtRestSpec, SystemdDropIn, CniSpec, NodePreparationSpec,
} from "./types";
import { ENCRYPTION_PROVIDERS, isEncryptionKey } from "../render/encryption";
import { parseGoDuration } from "./duration";
import { HOST_KEY_TYPES, isRecorded, parseHostKey, patternMatches } from "./host-keys";
import { checkUnknownFields, Component, itemField } from "./unknown-fields";
import { checkFeatureGateArgs, checkKubeadmFeatureGates, checkKubeletConfig, checkProxyConfig, isPreflightCheckName, preflightCheckAdvice } from "./config-keys";

export const DEFAULTS = {
    clusterName: "kubernetes",
    serviceSubnet: "10.96.0.0/12",
    dnsDomain: "cluster.local",
    bindPort: 6443,
    imageRepository: "registry.k8s.io",
    certificatesDir: "/etc/kubernetes/pki",
    etcdDataDir: "/var/lib/etcd",
    caValidityHours: 87600,
    validityHours: 8760,
    encryptionAlgorithm: "RSA-2048",
    criSocket: "unix:///var/run/containerd/containerd.sock",
    readinessTimeoutSeconds: 240,
    encryptionProvider: "aescbc",
    kubeVipImageRepository: "ghcr.io/kube-vip",
    maxUnavailable: 1,
    etcdSnapshotsKept: 3,
    drainTimeoutSeconds: 300,
    kubeletReadyTimeoutSeconds: 300,
} as const;

export const LOAD_BALANCER_TYPES = ["haproxy", "kube-vip", "external", "none"] as const;
/** upgrade.registration: each control plane back in the load balancer once ready, or once no two versions would serve. */
export const REGISTRATIONS = ["each", "afterAll"] as const;
export const LB_PLACEHOLDERS = ["name", "address", "port"] as const;

export const ENCRYPTION_ALGORITHMS = ["RSA-2048", "RSA-3072", "RSA-4096", "ECDSA-P256", "ECDSA-P384"] as const;
export const ETCD_TOPOLOGIES = ["stacked", "dedicated", "external"] as const;
const PATH_TYPES = ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"];
/** kube-controller-manager's default --node-cidr-mask-size per family. */
const NODE_CIDR_MASK = { ipv4: 24, ipv6: 64 } as const;

export interface ResolvedNetworking {
    podSubnets: Cidr[];
    serviceSubnets: Cidr[];
    podSubnet: string;
    serviceSubnet: string;
    dnsDomain: string;
    /** First address of the first service CIDR: the `kubernetes` Service's ClusterIP. */
    apiServerServiceIp: string;
    /** Tenth address of the first service CIDR: the cluster DNS Service's ClusterIP. */
    dnsServiceIp: string;
}

export interface ResolvedCluster {
    spec: ClusterSpec;
    version: ResolvedVersion;
    clusterName: string;
    endpoint: { host: string; port: number };
    networking: ResolvedNetworking;
    controlPlanes: HostSpec[];
    workers: HostSpec[];
    loadBalancers: HostSpec[];
    etcdTopology: string;
    /** Hosts running etcd members (empty for an external cluster). */
    etcdMembers: HostSpec[];
    /** "haproxy", "kube-vip", "external" or "none". */
    loadBalancerType: string;
    /** Encryption at rest; when disabled, kube-apiserver writes plaintext but still reads what the keys encrypted. */
    encryption: { provider: string; resources: string[]; keyVersion: number; disabled: boolean; previousProvider: string };
    /** The CNI manifest with the pod subnet substituted, when one was given. */
    cniManifest?: string;
    warnings: string[];
}

/**
 * Validates a whole cluster spec, collecting every problem, and returns it resolved with defaults.
 * A field the spec does not have is an error, checked against the fields of `strict.component`'s
 * args less `strict.omit` (by default, the Cluster's less kubeadmConfig: a ClusterSpec's fields).
 */
export function validateCluster(spec: ClusterSpec, strict: { component: Component; omit: readonly string[] } = { component: "Cluster", omit: ["kubeadmConfig"] }): ResolvedCluster {
    const p = new Problems();
    if (!spec || typeof spec !== "object") throw new SpecError([{ field: "spec", value: spec, accepted: "a cluster spec object" }]);
    checkUnknownFields(p, spec, strict.component, strict.omit);

    const version = checkVersion(p, spec.kubernetesVersion, "kubernetesVersion");
    const clusterName = spec.clusterName ?? DEFAULTS.clusterName;
    if (!isDnsSubdomain(clusterName)) p.add("clusterName", clusterName, "a lower-case RFC 1123 subdomain, e.g. \"kubernetes\"");

    const bindPort = spec.apiServer?.bindPort ?? DEFAULTS.bindPort;
    if (!isPort(bindPort)) p.add("apiServer.bindPort", bindPort, "a TCP port from 1 to 65535");
    const endpoint = checkEndpoint(p, spec.controlPlaneEndpoint, "controlPlaneEndpoint", bindPort);
    const networking = checkNetworking(p, spec.networking, "networking", spec.controllerManager?.extraArgs);

    const hosts = Array.isArray(spec.hosts) ? spec.hosts : [];
    if (!Array.isArray(spec.hosts) || hosts.length === 0) p.add("hosts", spec.hosts, "a list of at least one host with the \"control-plane\" role");
    checkHosts(p, hosts, networking, endpoint.host);
    const withRole = (role: string) => hosts.filter(h => Array.isArray(h?.roles) && h.roles.includes(role));
    const controlPlanes = withRole("control-plane");
    if (hosts.length > 0 && controlPlanes.length === 0) p.add("hosts[].roles", hosts.map(h => h?.roles), "at least one host with the \"control-plane\" role");

    const { topology, members } = checkEtcd(p, spec, controlPlanes, withRole("etcd"));

    checkComponent(p, spec.apiServer, "apiServer", "apiServer");
    checkComponent(p, spec.controllerManager, "controllerManager", "controllerManager");
    checkComponent(p, spec.scheduler, "scheduler", "scheduler");
    checkArgs(p, spec.kubelet?.extraArgs, "kubelet.extraArgs", "kubelet");
    checkSans(p, spec.apiServer?.certSANs, "apiServer.certSANs");
    if (spec.apiServer?.readinessTimeoutSeconds !== undefined && !(isWhole(spec.apiServer.readinessTimeoutSeconds) && spec.apiServer.readinessTimeoutSeconds > 0)) {
        p.add("apiServer.readinessTimeoutSeconds", spec.apiServer.readinessTimeoutSeconds, "a whole number of seconds greater than 0");
    }
    checkCertificates(p, spec.certificates, "certificates");
    checkImageRepository(p, spec.imageRepository, "imageRepository");
    checkImageRepository(p, spec.etcd?.imageRepository, "etcd.imageRepository");
    checkImageRepository(p, spec.dns?.imageRepository, "dns.imageRepository");
    checkImageRepository(p, spec.proxy?.imageRepository, "proxy.imageRepository");
    checkImageTag(p, spec.etcd?.imageTag, "etcd.imageTag");
    checkImageTag(p, spec.dns?.imageTag, "dns.imageTag");
    if (spec.dns?.config !== undefined) {
        p.add("dns.config", spec.dns.config, "nothing: CoreDNS has no component configuration and kubeadm's Corefile is used as it is; to run your own, set dns.disabled and deploy CoreDNS yourself");
    }
    checkImageTag(p, spec.proxy?.imageTag, "proxy.imageTag");
    checkTaints(p, spec.controlPlaneTaints, "controlPlaneTaints");
    checkIgnoredChecks(p, spec.ignorePreflightErrors, "ignorePreflightErrors", version?.minor);
    if (version) checkKnownNames(p, spec, version.minor);
    checkBootstrapTokens(p, spec.bootstrapTokens, "bootstrapTokens");
    for (const [gate, on] of Object.entries(spec.featureGates ?? {})) {
        if (typeof on !== "boolean") p.add(`featureGates.${gate}`, on, "true or false");
    }
    const loadBalancerType = checkLoadBalancer(p, spec, hosts, withRole("load-balancer"), endpoint, bindPort);
    const encryption = checkEncryptionAtRest(p, spec.encryptionAtRest, "encryptionAtRest");
    checkDropIns(p, spec.kubelet?.dropIns, "kubelet.dropIns");
    const join = spec.join?.tlsBootstrapTimeoutSeconds;
    if (join !== undefined && !(isWhole(join) && join >= 0)) p.add("join.tlsBootstrapTimeoutSeconds", join, "a whole number of seconds, 0 or more (0: do not wait)");
    const cniManifest = checkCni(p, spec.cni, "cni", networking?.podSubnet);
    checkNodePreparation(p, spec.nodePreparation, "nodePreparation");
    for (const k of ["etcdSnapshot", "renewCertificates", "disableEviction"] as const) {
        if (spec.upgrade?.[k] !== undefined && typeof spec.upgrade[k] !== "boolean") p.add(`upgrade.${k}`, spec.upgrade[k], "true or false");
    }
    const kept = spec.upgrade?.etcdSnapshotsKept;
    if (kept !== undefined && !(isWhole(kept) && kept >= 1)) p.add("upgrade.etcdSnapshotsKept", kept, "a whole number of snapshots, 1 or more");
    const maxUnavailable = spec.upgrade?.maxUnavailable;
    if (maxUnavailable !== undefined && !(isWhole(maxUnavailable) && maxUnavailable >= 1)) p.add("upgrade.maxUnavailable", maxUnavailable, "a whole number of workers, 1 or more");
    const registration = spec.upgrade?.registration;
    if (registration !== undefined && !(REGISTRATIONS as readonly unknown[]).includes(registration)) {
        p.add("upgrade.registration", registration, `one of ${REGISTRATIONS.map(r => `"${r}"`).join(", ")}`);
    } else if (registration === "afterAll" && loadBalancerType !== "haproxy") {
        p.add("upgrade.registration", registration, `"each" with loadBalancer.type "${loadBalancerType}" ("afterAll" needs HAProxy, whose servers' state the registration reads)`);
    }
    for (const k of ["drainTimeoutSeconds", "kubeletReadyTimeoutSeconds"] as const) {
        const v = spec.upgrade?.[k];
        if (v !== undefined && !(isWhole(v) && v >= 1)) p.add(`upgrade.${k}`, v, "a whole number of seconds, 1 or more");
    }

    checkThrough(p, spec.upgrade?.through, version);

    p.throwIfAny();
    return {
        spec, version: version!, clusterName, endpoint: { host: endpoint.host, port: endpoint.port }, networking: networking!,
        controlPlanes, workers: withRole("worker"), loadBalancers: withRole("load-balancer"),
        etcdTopology: topology, etcdMembers: members, loadBalancerType, encryption, cniManifest, warnings: p.warnings,
    };
}

/** Configuration keys and feature gates against the names this minor's own sources declare. */
function checkKnownNames(p: Problems, spec: ClusterSpec, minor: string): void {
    checkKubeletConfig(p, spec.kubelet?.config, minor, "kubelet.config");
    checkProxyConfig(p, spec.proxy?.config, minor, "proxy.config");
    checkKubeadmFeatureGates(p, spec.featureGates, minor, "featureGates");
    for (const c of ["apiServer", "controllerManager", "scheduler", "kubelet"] as const) checkFeatureGateArgs(p, spec[c]?.extraArgs, minor, `${c}.extraArgs`);
    (Array.isArray(spec.hosts) ? spec.hosts : []).forEach((h, i) => checkFeatureGateArgs(p, h?.kubeletExtraArgs, minor, `${itemField("hosts", i, h)}.kubeletExtraArgs`));
}

export const NODE_INSTALLERS = ["apt", "dnf", "command"] as const;

export function checkNodePreparation(p: Problems, n: NodePreparationSpec | undefined, field: string): void {
    if (n === undefined) return;
    if (!(NODE_INSTALLERS as readonly string[]).includes(n?.installer)) p.add(`${field}.installer`, n?.installer, `one of ${NODE_INSTALLERS.map(x => `"${x}"`).join(", ")}`);
    if (n?.installer === "command" && (typeof n.command !== "string" || n.command.trim() === "")) p.add(`${field}.command`, n.command, "the install command to run on each host (installer \"command\")");
    if (n?.installer !== "command" && n?.command !== undefined) p.add(`${field}.command`, "(a command)", "no command unless installer is \"command\"");
}

/**
 * The CNI manifest (from the text or the file), with the pod subnet substituted; every document
 * must be a Kubernetes object (apiVersion, kind, metadata.name).
 */
function checkCni(p: Problems, cni: CniSpec | undefined, field: string, podSubnet: string | undefined): string | undefined {
    if (cni === undefined) return undefined;
    if ((cni.manifest === undefined) === (cni.manifestFile === undefined)) {
        p.add(field, "(manifest and manifestFile)", "exactly one of manifest (the YAML) or manifestFile (a path to it)");
        return undefined;
    }
    let text = cni.manifest;
    const where = cni.manifest !== undefined ? `${field}.manifest` : `${field}.manifestFile`;
    if (cni.manifestFile !== undefined) {
        try {
            text = fs.readFileSync(cni.manifestFile, "utf8");
        } catch (e) {
            p.add(where, cni.manifestFile, `a readable file (${(e as Error).message})`);
            return undefined;
        }
    }
    if (typeof text !== "string" || text.trim() === "") {
        p.add(where, text, "a YAML manifest with one or more Kubernetes objects");
        return undefined;
    }
    if (cni.podSubnetPlaceholder !== undefined) {
        if (!podSubnet) p.add(`${field}.podSubnetPlaceholder`, cni.podSubnetPlaceholder, "a placeholder only with networking.podSubnet set (the value it is replaced with)");
        else if (!text.includes(cni.podSubnetPlaceholder)) p.add(`${field}.podSubnetPlaceholder`, cni.podSubnetPlaceholder, "text that occurs in the manifest");
        else text = text.split(cni.podSubnetPlaceholder).join(podSubnet);
    }
    let docs: unknown[];
    try {
        docs = yaml.loadAll(text).filter(d => d !== null && d !== undefined);
    } catch (e) {
        p.add(where, `(YAML that does not parse: ${(e as Error).message.split("\n")[0]})`, "valid YAML: one or more Kubernetes objects separated by ---");
        return undefined;
    }
    if (docs.length === 0) p.add(where, "(no documents)", "one or more Kubernetes objects");
    docs.forEach((d, i) => {
        const o = d as { apiVersion?: unknown; kind?: unknown; metadata?: { name?: unknown } };
        if (typeof o !== "object" || Array.isArray(o) || typeof o.apiVersion !== "string" || typeof o.kind !== "string" || typeof o.metadata?.name !== "string") {
            p.add(`${where} document ${i + 1}`, typeof d === "object" ? JSON.stringify(d).slice(0, 80) : d, "a Kubernetes object with apiVersion, kind and metadata.name");
        }
    });
    return text;
}

function checkLoadBalancer(p: Problems, spec: ClusterSpec, hosts: HostSpec[], lbHosts: HostSpec[], endpoint: { host: string; port: number }, bindPort: number): string {
    const lb = spec.loadBalancer ?? {};
    const type = lb.type ?? (lbHosts.length > 0 ? "haproxy" : lb.kubeVip ? "kube-vip" : lb.external ? "external" : "none");
    if (!(LOAD_BALANCER_TYPES as readonly string[]).includes(type)) {
        p.add("loadBalancer.type", type, `one of ${LOAD_BALANCER_TYPES.map(t => `"${t}"`).join(", ")}`);
        return type;
    }
    if (type === "haproxy" && lbHosts.length === 0) p.add("loadBalancer.type", type, "\"haproxy\" only with at least one host with the \"load-balancer\" role (HAProxy runs there)");
    if (type !== "haproxy" && lbHosts.length > 0) p.add("hosts[].roles", lbHosts.map(h => h.name), `no "load-balancer" role with loadBalancer.type "${type}" (the role is where HAProxy runs)`);
    if (lb.bindAddress !== undefined && lb.bindAddress !== "*" && !isIp(lb.bindAddress)) p.add("loadBalancer.bindAddress", lb.bindAddress, "\"*\" (every address) or an IP address of the load-balancer hosts");
    if (type !== "kube-vip" && lb.kubeVip) p.add("loadBalancer.kubeVip", "(set)", `only with loadBalancer.type "kube-vip" (it is "${type}")`);
    if (type !== "external" && lb.external) p.add("loadBalancer.external", "(set)", `only with loadBalancer.type "external" (it is "${type}")`);
    if (type === "kube-vip") {
        const k = lb.kubeVip;
        if (!k || typeof k.interface !== "string" || !/^[A-Za-z0-9._@-]{1,15}$/.test(k.interface)) p.add("loadBalancer.kubeVip.interface", k?.interface, "the network interface that carries the VIP on every control plane, e.g. \"eth0\"");
        const vip = k?.address ?? endpoint.host;
        if (!isIp(vip)) p.add(k?.address !== undefined ? "loadBalancer.kubeVip.address" : "controlPlaneEndpoint", vip, "the VIP kube-vip holds: an IP address (set loadBalancer.kubeVip.address when controlPlaneEndpoint is a DNS name)");
        if (endpoint.port !== bindPort) p.add("controlPlaneEndpoint", `${endpoint.host}:${endpoint.port}`, `port ${bindPort} (apiServer.bindPort): kube-vip moves the VIP to a control plane, whose kube-apiserver listens on its own port`);
        checkImageRepository(p, k?.imageRepository, "loadBalancer.kubeVip.imageRepository");
        checkImageTag(p, k?.imageTag, "loadBalancer.kubeVip.imageTag");
    }
    if (type === "none" && endpoint.host !== "" && endpoint.port !== bindPort) {
        p.add("controlPlaneEndpoint", `${endpoint.host}:${endpoint.port}`, `port ${bindPort} (apiServer.bindPort), or no port: with loadBalancer.type "none" nothing forwards the endpoint's port, so it is a control plane's own kube-apiserver, which listens on apiServer.bindPort (set apiServer.bindPort to ${endpoint.port} to serve there, or use a load balancer that maps the port)`);
    }
    if (type === "external") {
        const x = lb.external;
        if (!x) p.add("loadBalancer.external", x, "{registerCommand, deregisterCommand} for your load balancer");
        else {
            checkCommandTemplate(p, x.registerCommand, "loadBalancer.external.registerCommand");
            checkCommandTemplate(p, x.deregisterCommand, "loadBalancer.external.deregisterCommand");
            if (x.runOn !== undefined && !hosts.some(h => h?.name === x.runOn)) p.add("loadBalancer.external.runOn", x.runOn, `the name of a host in hosts (${hosts.map(h => h?.name).join(", ")}), or nothing to run where Pulumi runs`);
        }
    }
    return type;
}

function checkCommandTemplate(p: Problems, template: string | undefined, field: string): void {
    if (typeof template !== "string" || template.trim() === "") {
        p.add(field, template, "a shell command with {{name}} or {{address}} (and optionally {{port}}) for the control plane it acts on");
        return;
    }
    const used = [...template.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].map(m => m[1]);
    const unknown = used.filter(u => !(LB_PLACEHOLDERS as readonly string[]).includes(u));
    if (unknown.length) p.add(field, template, `only the placeholders ${LB_PLACEHOLDERS.map(x => `{{${x}}}`).join(", ")} (unknown: ${unknown.map(u => `{{${u}}}`).join(", ")})`);
    if (!used.includes("name") && !used.includes("address")) p.add(field, template, "a command that names the control plane it acts on with {{name}} or {{address}} (otherwise every node would run the same command)");
}

function checkEncryptionAtRest(p: Problems, e: EncryptionAtRestSpec | undefined, field: string): ResolvedCluster["encryption"] {
    const provider = e?.provider ?? DEFAULTS.encryptionProvider;
    if (!(ENCRYPTION_PROVIDERS as readonly string[]).includes(provider)) p.add(`${field}.provider`, provider, `one of ${ENCRYPTION_PROVIDERS.join(", ")}`);
    const resources = e?.resources ?? ["secrets"];
    if (!Array.isArray(resources) || resources.length === 0) p.add(`${field}.resources`, resources, "a list of resources such as [\"secrets\"] or [\"secrets\", \"configmaps\"]");
    else resources.forEach((r, i) => {
        if (typeof r !== "string" || !/^(\*\.\*|\*\.[a-z0-9.-]*|[a-z0-9]+(\.[a-z0-9.-]+)?)$/.test(r)) p.add(`${field}.resources[${i}]`, r, "a resource such as \"secrets\", \"<resource>.<group>\", \"*.<group>\" or \"*.*\"");
    });
    const keyVersion = e?.keyVersion ?? 1;
    if (!isWhole(keyVersion) || keyVersion < 1) p.add(`${field}.keyVersion`, keyVersion, "a whole number from 1; raise it by one to rotate the key");
    else if (keyVersion > 1 && Array.isArray(resources) && resources.some(r => typeof r === "string" && r.includes("*"))) {
        p.add(`${field}.resources`, resources, "resources named one by one while rotating (keyVersion above 1): every object must be rewritten with the new key, and wildcards cannot be listed");
    }
    for (const k of ["key", "previousKey"] as const) {
        const v = e?.[k];
        if (typeof v === "string" && !isEncryptionKey(v)) {
            p.add(`${field}.${k}`, `(a value of ${base64Length(v)})`, "base64 of exactly 32 random bytes, e.g. from `head -c 32 /dev/urandom | base64`");
        }
    }
    const previousProvider = e?.previousProvider ?? provider;
    if (!(ENCRYPTION_PROVIDERS as readonly string[]).includes(previousProvider)) p.add(`${field}.previousProvider`, previousProvider, `one of ${ENCRYPTION_PROVIDERS.join(", ")}`);
    else if (e?.previousProvider !== undefined && !(isWhole(keyVersion) && keyVersion > 1)) p.add(`${field}.previousProvider`, e.previousProvider, "only while rotating (keyVersion above 1): the provider the previous key encrypted with");
    if (e?.previousKey !== undefined && e.key === undefined) p.add(`${field}.previousKey`, "(set)", `only with ${field}.key (generated keys keep their previous version themselves)`);
    if (e?.key !== undefined && keyVersion > 1 && e.previousKey === undefined) p.add(`${field}.previousKey`, "(missing)", `the key of version ${keyVersion - 1}: with your own key, rotating to version ${keyVersion} needs the previous key to read what it encrypted`);
    return { provider, resources, keyVersion, disabled: e?.disabled ?? false, previousProvider };
}

function base64Length(v: string): string {
    return /^[A-Za-z0-9+/]+={0,2}$/.test(v) ? `${Buffer.from(v, "base64").length} bytes` : `${v.length} characters that are not base64`;
}

export function checkDropIns(p: Problems, dropIns: SystemdDropIn[] | undefined, field: string): void {
    (dropIns ?? []).forEach((d, i) => {
        if (!d || typeof d.name !== "string" || !/^[A-Za-z0-9._-]+\.conf$/.test(d.name) || d.name.startsWith(".")) p.add(`${field}[${i}].name`, d?.name, "a file name ending in \".conf\", e.g. \"20-cloud-provider.conf\"");
        else if (["10-kubeadm.conf", "20-etcd-service-manager.conf"].includes(d.name)) p.add(`${field}[${i}].name`, d.name, "a name other than the drop-ins pulumi-kubeadm and the kubeadm package manage");
        if (typeof d?.content !== "string" || !/^\s*\[(Service|Unit|Install)\]/m.test(d.content)) p.add(`${field}[${i}].content`, d?.content, "systemd unit text with a section such as \"[Service]\"");
    });
}

/** upgrade.through: releases one minor apart, the last one minor below kubernetesVersion. */
function checkThrough(p: Problems, through: string[] | undefined, target: ResolvedVersion | undefined): void {
    if (through === undefined) return;
    if (!Array.isArray(through)) {
        p.add("upgrade.through", through, "a list of releases, one per minor between the deployed version and kubernetesVersion, e.g. [\"v1.33.6\"]");
        return;
    }
    const hops = through.map((v, i) => checkVersion(p, v, `upgrade.through[${i}]`));
    if (!target || hops.some(h => !h)) return;
    const minors = [...hops.map(h => h!.minor), target.minor];
    for (let i = 1; i < minors.length; i++) {
        if (SUPPORTED_MINORS.indexOf(minors[i]) !== SUPPORTED_MINORS.indexOf(minors[i - 1]) + 1) {
            p.add(`upgrade.through[${i - 1}]`, through[i - 1], `a release of the minor just below ${i === through.length ? `kubernetesVersion (${target.version})` : `upgrade.through[${i}] (${through[i]})`}: one release per minor, in order`);
            return;
        }
    }
}

export function checkVersion(p: Problems, text: string | undefined, field: string): ResolvedVersion | undefined {
    const r = resolveVersion(text ?? "");
    if (!r.ok) {
        p.add(field, text, r.accepted);
        return undefined;
    }
    return r.value;
}

export function checkEndpoint(p: Problems, text: string | undefined, field: string, defaultPort: number): { host: string; port: number } {
    if (typeof text !== "string" || text.length === 0) {
        p.add(field, text, "the API server's stable address: \"host\" or \"host:port\" with a DNS name or IP (e.g. \"k8s-api.example.internal:6443\")");
        return { host: "", port: defaultPort };
    }
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
        p.add(field, text, "\"host\" or \"host:port\" without a scheme: an IP address or a lower-case DNS name, e.g. \"k8s-api.example.internal:6443\"");
        return { host: "", port: defaultPort };
    }
    const { host, port } = splitHostPort(text);
    if (!isIp(host) && !isDnsSubdomain(host)) p.add(field, text, "a host that is an IP address or a lower-case DNS name, with an optional \":port\"");
    const portNumber = port === undefined ? defaultPort : Number(port);
    if (port !== undefined && (!/^\d+$/.test(port) || !isPort(portNumber))) p.add(field, text, "a port from 1 to 65535 after the colon");
    return { host, port: portNumber };
}

export function checkNetworking(p: Problems, n: NetworkingSpec | undefined, field: string, kcmArgs?: Arg[]): ResolvedNetworking | undefined {
    const serviceSubnet = n?.serviceSubnet ?? DEFAULTS.serviceSubnet;
    const podSubnet = n?.podSubnet ?? "";
    const dnsDomain = n?.dnsDomain ?? DEFAULTS.dnsDomain;
    if (!isDnsSubdomain(dnsDomain)) p.add(`${field}.dnsDomain`, dnsDomain, "a lower-case DNS domain such as \"cluster.local\"");

    const services = checkCidrList(p, serviceSubnet, `${field}.serviceSubnet`);
    for (const c of services) {
        // kubeadm: at most 20 host bits (an IPv4 /12 or IPv6 /108); the DNS Service takes the 10th address.
        if (hostBits(c) > 20) p.add(`${field}.serviceSubnet`, c.text, `a ${c.kind === "ipv4" ? "/12" : "/108"} or smaller range (kubeadm allows at most 20 host bits)`);
        if (hostBits(c) < 4) p.add(`${field}.serviceSubnet`, c.text, `a range of at least 16 addresses (${c.kind === "ipv4" ? "/28" : "/124"} or larger), so the API server (1st) and DNS (10th) Service IPs fit`);
    }
    const pods = podSubnet === "" ? [] : checkCidrList(p, podSubnet, `${field}.podSubnet`);
    for (const c of pods) {
        const maskArg = [...(kcmArgs ?? [])].reverse().find(a => a?.name === `node-cidr-mask-size-${c.kind}` || a?.name === "node-cidr-mask-size");
        const nodeMask = maskArg && /^\d+$/.test(maskArg.value) ? Number(maskArg.value) : NODE_CIDR_MASK[c.kind];
        if (maskArg && !/^\d+$/.test(maskArg.value)) p.add(`controllerManager.extraArgs (${maskArg.name})`, maskArg.value, "a prefix length such as \"24\"");
        if (c.prefix > nodeMask) p.add(`${field}.podSubnet`, c.text, `a range larger than one node's pod range (/${nodeMask}), e.g. "${c.kind === "ipv4" ? "10.244.0.0/16" : "fd00:10:244::/56"}"`);
        else if (nodeMask - c.prefix > 16) p.add(`${field}.podSubnet`, c.text, `a range of at most 2^16 node ranges (/${nodeMask - 16} or smaller with node ranges of /${nodeMask})`);
        for (const s of services) {
            if (cidrsOverlap(c, s)) p.add(`${field}.podSubnet`, c.text, `a range that does not overlap networking.serviceSubnet ${s.text}`);
        }
    }
    if (pods.length > 0 && services.length > 0 && families(pods) !== families(services)) {
        p.add(`${field}.podSubnet`, podSubnet, `the same IP families as networking.serviceSubnet (${families(services)})`);
    }
    if (services.length === 0) return undefined;
    return {
        podSubnets: pods, serviceSubnets: services, podSubnet, serviceSubnet, dnsDomain,
        apiServerServiceIp: nthAddress(services[0], 1), dnsServiceIp: nthAddress(services[0], 10),
    };
}

const families = (cidrs: Cidr[]) => cidrs.map(c => c.kind).sort().join("+");

function checkCidrList(p: Problems, text: string, field: string): Cidr[] {
    const items = typeof text === "string" ? splitList(text) : [];
    const cidrs: Cidr[] = [];
    if (items.length === 0) p.add(field, text, "a CIDR such as \"10.96.0.0/12\", or an IPv4 and an IPv6 CIDR separated by a comma");
    for (const item of items) {
        const c = parseCidr(item);
        if (!c) p.add(field, item, "a CIDR such as \"10.96.0.0/12\" or \"fd00:10:96::/108\"");
        else if (c.hostBitsSet) p.add(field, item, `a network address with no host bits set: "${cidrToString(c)}"`);
        else cidrs.push(c);
    }
    if (items.length > 2 || (cidrs.length === 2 && cidrs[0].kind === cidrs[1].kind)) {
        p.add(field, text, "one CIDR, or two for dual-stack: one IPv4 and one IPv6");
    }
    return cidrs;
}

export function checkHosts(p: Problems, hosts: HostSpec[], networking: ResolvedNetworking | undefined, endpointHost: string): void {
    const names = new Map<string, number>();
    const addresses = new Map<string, number>();
    const ranges = networking ? [...networking.podSubnets.map(c => ["podSubnet", c] as const), ...networking.serviceSubnets.map(c => ["serviceSubnet", c] as const)] : [];
    if (isIp(endpointHost)) {
        for (const [which, c] of ranges) {
            if (cidrContains(c, endpointHost)) p.add("controlPlaneEndpoint", endpointHost, `an address outside networking.${which} ${c.text}`);
        }
    }
    hosts.forEach((h, i) => {
        const f = itemField("hosts", i, h);
        if (!h || typeof h !== "object") {
            p.add(f, h, "a host: {name, address, roles, ssh}");
            return;
        }
        if (typeof h.name !== "string" || !isDnsSubdomain(h.name)) p.add(`${f}.name`, h.name, "a lower-case RFC 1123 subdomain (letters, digits, '-' and '.'), as Kubernetes requires of node names");
        else if (names.has(h.name)) p.add(`${f}.name`, h.name, `a name no other host has (${itemField("hosts", names.get(h.name)!, hosts[names.get(h.name)!])} has it too)`);
        else names.set(h.name, i);

        if (typeof h.address !== "string" || !isIp(h.address)) p.add(`${f}.address`, h.address, "an IPv4 or IPv6 address the other hosts reach this one on");
        else {
            const key = normalizeIp(h.address);
            if (h.address === "0.0.0.0" || h.address === "::") p.add(`${f}.address`, h.address, "the host's own address (not the unspecified address)");
            if (addresses.has(key)) p.add(`${f}.address`, h.address, `an address no other host has (${itemField("hosts", addresses.get(key)!, hosts[addresses.get(key)!])} has it too)`);
            else addresses.set(key, i);
            for (const [which, c] of ranges) {
                if (cidrContains(c, h.address)) p.add(`${f}.address`, h.address, `an address outside networking.${which} ${c.text} (node, pod and service networks must not overlap)`);
            }
        }

        if (!Array.isArray(h.roles) || h.roles.length === 0) p.add(`${f}.roles`, h.roles, `one or more of ${HOST_ROLES.map(r => `"${r}"`).join(", ")}`);
        else {
            h.roles.forEach((r, j) => {
                if (!(HOST_ROLES as readonly string[]).includes(r)) p.add(`${f}.roles[${j}]`, r, `one of ${HOST_ROLES.map(x => `"${x}"`).join(", ")}`);
            });
            if (new Set(h.roles).size !== h.roles.length) p.add(`${f}.roles`, h.roles, "each role once");
            if (h.roles.includes("etcd") && (h.roles.includes("control-plane") || h.roles.includes("worker"))) {
                p.add(`${f}.roles`, h.roles, "\"etcd\" apart from \"control-plane\" and \"worker\": a dedicated etcd host's kubelet runs standalone for etcd only; put etcd on the control planes with etcd.topology \"stacked\" instead");
            }
            if (h.roles.includes("worker") && h.roles.includes("control-plane")) {
                p.add(`${f}.roles`, h.roles, "\"control-plane\" or \"worker\", not both: a control plane runs workloads when controlPlaneTaints is [] (kubeadm's single-node setup)");
            }
            if (h.roles.includes("load-balancer") && h.roles.includes("control-plane")) {
                p.add(`${f}.roles`, h.roles, "a load-balancer host apart from the control planes (both listen on the API port); use kube-vip for a load balancer on the control planes");
            }
        }
        checkSsh(p, h.ssh, `${f}.ssh`, typeof h.address === "string" ? h.address : undefined);
        if (h.criSocket !== undefined && !/^(unix|npipe):\/\/\/?[A-Za-z0-9._/-]+$/.test(h.criSocket)) p.add(`${f}.criSocket`, h.criSocket, "a CRI endpoint URL such as \"unix:///var/run/containerd/containerd.sock\"");
        checkArgs(p, h.kubeletExtraArgs, `${f}.kubeletExtraArgs`, "kubelet");
    });
}

export function checkSsh(p: Problems, ssh: SshSpec | BastionSpec | undefined, field: string, address?: string): void {
    if (!ssh || typeof ssh !== "object") {
        p.add(field, ssh, "SSH connection settings with privateKey, password or agentSocketPath");
        return;
    }
    if (ssh.privateKey === undefined && ssh.password === undefined && ssh.agentSocketPath === undefined) {
        p.add(field, "(no credentials)", "one of privateKey, password or agentSocketPath");
    }
    if (typeof ssh.privateKey === "string" && !/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(ssh.privateKey)) {
        p.add(`${field}.privateKey`, "(a value that is not a private key)", "a PEM or OpenSSH private key (\"-----BEGIN ... PRIVATE KEY-----\")");
    }
    if (ssh.port !== undefined && !isPort(ssh.port)) p.add(`${field}.port`, ssh.port, "a TCP port from 1 to 65535");
    checkHostKeyPin(p, ssh, field, address);
    if (ssh.host !== undefined && !isIp(ssh.host) && !isDnsSubdomain(ssh.host)) p.add(`${field}.host`, ssh.host, "an IP address or DNS name");
    const jumpHost = field.endsWith(".bastion");
    if (ssh.user !== undefined && !jumpHost && ssh.user !== "root") {
        p.add(`${field}.user`, ssh.user, "\"root\": every step writes under /etc and /var/lib and manages the kubelet (sudo is not supported yet)");
    }
    if (ssh.user !== undefined && jumpHost && !/^[a-z_][a-z0-9_.-]*\$?$/i.test(ssh.user)) p.add(`${field}.user`, ssh.user, "a login name such as \"jump\"");
    if ("bastion" in ssh && ssh.bastion !== undefined) checkSsh(p, ssh.bastion, `${field}.bastion`);
}

/** Every host and bastion has a pinned host key, or says it trusts the key it first sees. */
function checkHostKeyPin(p: Problems, ssh: SshSpec | BastionSpec, field: string, address?: string): void {
    const tofu = ssh.trustOnFirstUse;
    if (tofu !== undefined && typeof tofu !== "boolean") p.add(`${field}.trustOnFirstUse`, tofu, "true or false");
    const dialHost = ssh.host ?? address;
    if (ssh.hostKey !== undefined) {
        checkHostKey(p, ssh.hostKey, `${field}.hostKey`, typeof dialHost === "string" ? { host: dialHost, port: isPort(ssh.port) ? ssh.port! : 22 } : undefined);
        if (tofu === true) p.add(`${field}.trustOnFirstUse`, tofu, "false or unset when hostKey pins the key (trust on first use is for a host whose key is not known yet)");
    } else if (tofu !== true) {
        p.add(`${field}.hostKey`, "(not set)", `${HOST_KEY_ACCEPTED}; or trustOnFirstUse: true to record the key the host presents on the first run and pin it from then on (nothing is sent to a host whose key was not checked)`);
    }
    // Recording the key logs in before the key is checked: a password would go to whoever answers.
    if ((ssh.hostKey === undefined || typeof ssh.hostKey === "string") && isRecorded(ssh) && ssh.password !== undefined && ssh.privateKey === undefined && ssh.agentSocketPath === undefined) {
        p.add(`${field}.password`, "(set)", `privateKey or agentSocketPath when the host key is ${ssh.hostKey === undefined ? "trusted on first use" : "a fingerprint"} (the step that reads the key logs in before it is checked, and a password would go to whoever answers); or hostKey as the host's key lines (ssh-keyscan), which are checked before logging in`);
    }
}

function checkEtcd(p: Problems, spec: ClusterSpec, controlPlanes: HostSpec[], etcdHosts: HostSpec[]): { topology: string; members: HostSpec[] } {
    const e = spec.etcd ?? {};
    const topology = e.topology ?? (e.external ? "external" : etcdHosts.length > 0 ? "dedicated" : "stacked");
    if (!(ETCD_TOPOLOGIES as readonly string[]).includes(topology)) {
        p.add("etcd.topology", topology, `one of ${ETCD_TOPOLOGIES.map(t => `"${t}"`).join(", ")}`);
        return { topology, members: [] };
    }
    if (topology !== "dedicated" && etcdHosts.length > 0) {
        p.add("hosts[].roles", etcdHosts.map(h => h.name), `no "etcd" role with etcd.topology "${topology}" (the role places members on dedicated hosts)`);
    }
    if (topology !== "external" && e.external) p.add("etcd.external", "(set)", `only with etcd.topology "external" (it is "${topology}")`);
    const members = topology === "stacked" ? controlPlanes : topology === "dedicated" ? etcdHosts : [];
    let count = members.length;
    if (topology === "external") {
        const x = e.external;
        if (!x) p.add("etcd.external", x, "the existing cluster: {endpoints, caCert, clientCert, clientKey}");
        else {
            if (!Array.isArray(x.endpoints) || x.endpoints.length === 0) p.add("etcd.external.endpoints", x.endpoints, "one or more client URLs such as \"https://10.0.0.5:2379\"");
            (Array.isArray(x.endpoints) ? x.endpoints : []).forEach((u, i) => {
                if (!isHttpsUrl(u)) p.add(`etcd.external.endpoints[${i}]`, u, "an https:// client URL with host and port, e.g. \"https://10.0.0.5:2379\"");
            });
            for (const k of ["caCert", "clientCert", "clientKey"] as const) {
                if (x[k] === undefined || x[k] === "") p.add(`etcd.external.${k}`, x[k], k === "clientKey" ? "the PEM private key of the API server's etcd client certificate" : "a PEM certificate");
            }
            count = Array.isArray(x.endpoints) ? x.endpoints.length : 0;
        }
    } else {
        if (count === 0 && controlPlanes.length > 0) {
            p.add("hosts[].roles", "(no etcd members)", topology === "stacked"
                ? "at least one control-plane host (stacked etcd runs on them)"
                : "at least one host with the \"etcd\" role for dedicated etcd");
        }
        checkHostPath(p, e.dataDir, "etcd.dataDir", "/var/lib/etcd");
        checkArgs(p, e.extraArgs, "etcd.extraArgs", "etcd");
        checkSans(p, e.serverCertSANs, "etcd.serverCertSANs");
        checkSans(p, e.peerCertSANs, "etcd.peerCertSANs");
    }
    // The EtcdCluster a Cluster creates for dedicated etcd warns about its size itself (once); an
    // external cluster's endpoints need not be all of its members.
    if (topology === "dedicated") checkDedicatedMemberCount(p, count, "hosts[].roles", etcdHosts.map(h => h.name));
    if (topology === "stacked") warnMemberCount(p, count, "stacked");
    return { topology, members };
}

const quorum = (members: number) => Math.floor(members / 2) + 1;
const tolerated = (members: number) => members - quorum(members);

/**
 * Dedicated etcd hosts exist only to run etcd, so two of them is never a step worth taking: a
 * quorum of 2 of 2 tolerates no failure, as one member does, and either host failing stops etcd.
 * Other even sizes are warned about (warnMemberCount), being a step of growing one host at a time.
 */
export function checkDedicatedMemberCount(p: Problems, count: number, field: string, value: unknown): void {
    if (count === 2) {
        p.add(field, value, "1, 3, 5 or 7 dedicated etcd hosts: 2 members need both for a quorum (2 of 2), so they tolerate no failure, as 1 member does, and either host failing stops etcd; add the third in the same `pulumi up` (members are added one at a time)");
    }
}

/** etcd's sizing advice (and kubeadm's HA guide): an odd count of at most 7. */
export function warnMemberCount(p: Problems, count: number, topology: string): void {
    if (count > 0 && count % 2 === 0) {
        const where = topology === "stacked" ? ` (stacked on the ${count} control planes)` : "";
        p.warn(`etcd has ${count} members${where}: a quorum is ${quorum(count)} of ${count}, so it tolerates ${tolerated(count)} failed member${tolerated(count) === 1 ? "" : "s"}, ` +
            `as ${count - 1} member${count - 1 === 1 ? "" : "s"} (quorum ${quorum(count - 1)}) do${count - 1 === 1 ? "es" : ""}: the ${count}${count === 2 ? "nd" : "th"} member adds a host whose failure counts against the quorum but no fault tolerance. ` +
            `etcd recommends an odd count: ${count - 1} or ${count + 1}${topology === "stacked" ? " control planes (an even count is fine while adding or replacing one)" : " members"}.`);
    }
    if (count > 7) p.warn(`etcd has ${count} members: more than 7 slows every write; etcd recommends 3, 5 or 7.`);
}

const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
const QUALIFIED_NAME = /^([a-z0-9]([-a-z0-9.]*[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function checkTaints(p: Problems, taints: Taint[] | undefined, field: string): void {
    (taints ?? []).forEach((t, i) => {
        if (!t || typeof t.key !== "string" || !QUALIFIED_NAME.test(t.key)) p.add(`${field}[${i}].key`, t?.key, "a label-style key such as \"node-role.kubernetes.io/control-plane\"");
        if (!TAINT_EFFECTS.includes(t?.effect)) p.add(`${field}[${i}].effect`, t?.effect, `one of ${TAINT_EFFECTS.join(", ")}`);
        if (t?.value !== undefined && (typeof t.value !== "string" || t.value.length > 63)) p.add(`${field}[${i}].value`, t.value, "a label value of at most 63 characters");
    });
}

export const BOOTSTRAP_TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const TOKEN_USAGES = ["signing", "authentication"];
const TOKEN_GROUP = /^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/;

function checkBootstrapTokens(p: Problems, tokens: BootstrapTokenSpec[] | undefined, field: string): void {
    (tokens ?? []).forEach((t, i) => {
        const f = `${field}[${i}]`;
        if (typeof t?.token === "string" && !BOOTSTRAP_TOKEN.test(t.token)) p.add(`${f}.token`, "(a malformed token)", "6 then 16 characters of [a-z0-9] joined by a dot, e.g. \"abcdef.0123456789abcdef\"");
        if (t?.ttl !== undefined && parseGoDuration(t.ttl) === undefined) p.add(`${f}.ttl`, t.ttl, "a duration such as \"24h\" or \"90m\" (\"0s\" never expires)");
        (t?.usages ?? []).forEach((u, j) => {
            if (!TOKEN_USAGES.includes(u)) p.add(`${f}.usages[${j}]`, u, `one of ${TOKEN_USAGES.join(", ")}`);
        });
        (t?.groups ?? []).forEach((g, j) => {
            if (!TOKEN_GROUP.test(g)) p.add(`${f}.groups[${j}]`, g, "a group matching system:bootstrappers:[a-z0-9:-]*");
        });
    });
}

function isHttpsUrl(u: string): boolean {
    try {
        const url = new URL(u);
        return url.protocol === "https:" && url.hostname !== "" && url.port !== "";
    } catch {
        return false;
    }
}

export function checkComponent(p: Problems, c: ControlPlaneComponentSpec | undefined, field: string, component: ControlPlaneComponent): void {
    if (!c) return;
    checkArgs(p, c.extraArgs, `${field}.extraArgs`, component);
    checkVolumes(p, c.extraVolumes, `${field}.extraVolumes`);
    checkEnvs(p, c.extraEnvs, `${field}.extraEnvs`);
}

export function checkEnvs(p: Problems, envs: EnvVar[] | undefined, field: string): void {
    (envs ?? []).forEach((e, i) => {
        if (!e || typeof e.name !== "string" || !/^[-._a-zA-Z][-._a-zA-Z0-9]*$/.test(e.name)) p.add(`${field}[${i}].name`, e?.name, "an environment variable name");
        if (typeof e?.value !== "string") p.add(`${field}[${i}].value`, e?.value, "a string");
    });
}

export function checkArgs(p: Problems, args: Arg[] | undefined, field: string, component: ControlPlaneComponent): void {
    if (args === undefined) return;
    if (!Array.isArray(args)) {
        p.add(field, args, "a list of {name, value} flags, e.g. [{name: \"audit-log-path\", value: \"/var/log/audit.log\"}]");
        return;
    }
    args.forEach((a, i) => {
        const f = `${field}[${i}]`;
        if (!a || typeof a.name !== "string") {
            p.add(f, a, "a flag {name, value}");
            return;
        }
        if (a.name.startsWith("-")) p.add(`${f}.name`, a.name, `the flag name without leading dashes ("${a.name.replace(/^-+/, "")}")`);
        else if (!/^[a-z0-9][a-z0-9-]*$/.test(a.name)) p.add(`${f}.name`, a.name, "a flag name of lower-case letters, digits and '-'");
        const owned = OWNED_FLAGS[component][a.name.replace(/^-+/, "")];
        if (owned) p.add(`${f}.name`, a.name, `a flag pulumi-kubeadm does not own: --${a.name.replace(/^-+/, "")} ${owned}`);
        if (typeof a.value !== "string") p.add(`${f}.value`, a.value, "a string (write numbers and booleans as text)");
    });
}

function checkVolumes(p: Problems, volumes: HostPathMount[] | undefined, field: string): void {
    (volumes ?? []).forEach((v, i) => {
        const f = `${field}[${i}]`;
        if (!v || typeof v.name !== "string" || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(v.name) || v.name.length > 63) p.add(`${f}.name`, v?.name, "a lower-case DNS label (at most 63 characters)");
        if (typeof v?.hostPath !== "string" || !path.isAbsolute(v.hostPath)) p.add(`${f}.hostPath`, v?.hostPath, "an absolute path on the host");
        if (typeof v?.mountPath !== "string" || !path.isAbsolute(v.mountPath)) p.add(`${f}.mountPath`, v?.mountPath, "an absolute path in the container");
        if (v?.pathType !== undefined && !PATH_TYPES.includes(v.pathType)) p.add(`${f}.pathType`, v.pathType, `one of ${PATH_TYPES.filter(t => t).join(", ")}`);
    });
}

/** A directory on the hosts: absolute, of plain characters (it is written into scripts and manifests). */
export function checkHostPath(p: Problems, dir: string | undefined, field: string, example: string): void {
    if (dir !== undefined && (typeof dir !== "string" || !/^\/[A-Za-z0-9._/-]*$/.test(dir) || dir.split("/").includes(".."))) {
        p.add(field, dir, `an absolute path of letters, digits, '.', '_', '-' and '/' such as "${example}"`);
    }
}

/**
 * kubeadm's --ignore-preflight-errors: check names, or "all" alone. `known` is the list of checks
 * that run, or a Kubernetes minor: then kubeadm's check names of that minor.
 */
export function checkIgnoredChecks(p: Problems, names: string[] | undefined, field: string, known?: readonly string[] | string): void {
    if (names === undefined) return;
    if (!Array.isArray(names)) {
        p.add(field, names, "a list of preflight check names, e.g. [\"Port-2379\"], or [\"all\"]");
        return;
    }
    const lower = names.map(n => String(n).toLowerCase());
    names.forEach((n, i) => {
        if (typeof n !== "string" || !/^[A-Za-z0-9_.@-]+$/.test(n)) p.add(`${field}[${i}]`, n, "a preflight check name (letters, digits, '_', '.', '@' and '-')");
        else if (typeof known === "string") {
            if (!isPreflightCheckName(n, known)) p.add(`${field}[${i}]`, n, preflightCheckAdvice(n, known));
        } else if (known && n.toLowerCase() !== "all" && !known.some(k => k.toLowerCase() === n.toLowerCase())) p.add(`${field}[${i}]`, n, `one of the checks: ${known.join(", ")}, or "all"`);
    });
    if (lower.includes("all") && names.length > 1) p.add(field, names, "\"all\" alone, or a list of check names (kubeadm does not mix them)");
}

/** kubeadm's certSANs: DNS names (RFC 1123 subdomains or wildcards) and IP addresses. */
export function checkSans(p: Problems, sans: string[] | undefined, field: string): void {
    (sans ?? []).forEach((s, i) => {
        if (typeof s !== "string" || !(isIp(s) || isDnsSubdomain(s) || isWildcardDns(s))) {
            p.add(`${field}[${i}]`, s, "an IP address, a lower-case DNS name, or a wildcard DNS name such as \"*.example.internal\"");
        }
    });
}

export function checkCertificates(p: Problems, c: CertificatesSpec | undefined, field: string): void {
    if (!c) return;
    const ca = c.caValidityHours ?? DEFAULTS.caValidityHours;
    const leaf = c.validityHours ?? DEFAULTS.validityHours;
    if (!isWhole(ca) || ca <= 0) p.add(`${field}.caValidityHours`, c.caValidityHours, "a whole number of hours greater than 0 (default 87600, 10 years)");
    if (!isWhole(leaf) || leaf <= 0) p.add(`${field}.validityHours`, c.validityHours, "a whole number of hours greater than 0 (default 8760, 1 year)");
    else if (isWhole(ca) && leaf > ca) p.warn(`${field}.validityHours (${leaf}h) is longer than caValidityHours (${ca}h): certificates would outlive their CA.`);
    if (c.encryptionAlgorithm !== undefined && !(ENCRYPTION_ALGORITHMS as readonly string[]).includes(c.encryptionAlgorithm)) {
        p.add(`${field}.encryptionAlgorithm`, c.encryptionAlgorithm, `one of ${ENCRYPTION_ALGORITHMS.join(", ")}`);
    }
    checkHostPath(p, c.certificatesDir, `${field}.certificatesDir`, "/etc/kubernetes/pki");
    for (const k of ["ca", "frontProxyCa", "etcdCa"] as const) {
        const given = c[k];
        if (given !== undefined && (given.certPem === undefined || given.certPem === "")) p.add(`${field}.${k}.certPem`, given.certPem, "the CA certificate as PEM");
    }
}

export function checkImageRepository(p: Problems, repo: string | undefined, field: string): void {
    if (repo === undefined) return;
    if (typeof repo === "string" && (repo === "k8s.gcr.io" || repo.startsWith("k8s.gcr.io/"))) {
        p.add(field, repo, "a registry that has current images: k8s.gcr.io is frozen since 2023 and has none for Kubernetes 1.30+; use \"registry.k8s.io\"");
        return;
    }
    if (typeof repo !== "string" || !/^[a-z0-9]([a-z0-9._-]*[a-z0-9])?(:\d+)?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$/.test(repo)) {
        p.add(field, repo, "a registry path without scheme or trailing slash, e.g. \"registry.k8s.io\" or \"harbor.example.internal:5000/k8s\"");
    }
}

export function checkImageTag(p: Problems, tag: string | undefined, field: string): void {
    if (tag !== undefined && (typeof tag !== "string" || !/^[\w][\w.-]{0,127}$/.test(tag))) p.add(field, tag, "an image tag such as \"3.5.15-0\"");
}

function normalizeIp(ip: string): string {
    return ipaddr.process(ip).toNormalizedString();
}

const isPort = (n: unknown) => isWhole(n) && (n as number) >= 1 && (n as number) <= 65535;
const isWhole = (n: unknown): n is number => typeof n === "number" && Number.isInteger(n);

const HOST_KEY_ACCEPTED = "the host's public key, as a line of `ssh-keyscan -p <port> <host>` (known_hosts: \"<host> <type> <base64>\", several lines allowed) "
    + `or of its /etc/ssh/ssh_host_*_key.pub (authorized_keys: "<type> <base64> [comment]"), with type ${HOST_KEY_TYPES.join(", ")}; `
    + "or its SHA256 fingerprint (`ssh-keygen -lf /etc/ssh/ssh_host_ecdsa_key.pub` on the host: \"SHA256:<43 base64 characters>\")";

/** `ssh.hostKey`: a fingerprint, or key lines whose known_hosts patterns (if any) name the host dialled. */
export function checkHostKey(p: Problems, hostKey: unknown, field: string, dialled?: { host: string; port: number }): void {
    const shown = (v: string) => (v.length > 60 ? `${v.slice(0, 57)}...` : v);
    if (typeof hostKey !== "string") {
        p.add(field, hostKey, HOST_KEY_ACCEPTED);
        return;
    }
    const { pin, problem } = parseHostKey(hostKey);
    if (!pin) {
        p.add(field, shown(hostKey), `${HOST_KEY_ACCEPTED} (${problem})`);
        return;
    }
    if (!dialled || !("keys" in pin)) return;
    for (const k of pin.keys) {
        if (k.patterns && !k.patterns.some(pattern => patternMatches(pattern, dialled.host, dialled.port))) {
            const where = dialled.port === 22 ? dialled.host : `[${dialled.host}]:${dialled.port}`;
            p.add(field, shown(hostKey), `a key line for ${where}, the address dialled: this known_hosts line is for ${k.patterns.join(",")} (another host's key?)`);
            return;
        }
    }
}
