// What a rehearsal deploys: the hosts the program's stack config names (or the HA example's shape),
// and that config with the lab's addresses, SSH and the settings a lab needs in place of the real ones.
import * as fs from "node:fs";
import * as path from "node:path";
import yaml from "js-yaml";

/** A program's stack config, as `pulumi config` reads it: the project's keys without their prefix, others (`aws:region`) whole. */
export interface StackConfig {
    project: string;
    stack: string;
    /** The file the values came from; undefined when the program's directory has no stack config. */
    file?: string;
    values: Record<string, unknown>;
}

/** A host of the rehearsal: its name, the roles it has, and its entry in the stack config's `hosts` (the user's fields). */
export interface RehearsalHost { name: string; roles: string[]; entry: Record<string, unknown> }

export interface Shape {
    hosts: RehearsalHost[];
    /** Where the shape came from, for the user. */
    source: string;
}

export class RehearsalConfigError extends Error {}

/** The lab has at most 20 hosts (test/lab labHosts). */
export const MAX_HOSTS = 20;

/**
 * The program directory's project name (Pulumi.yaml) and stack config: Pulumi.<stack>.yaml with
 * `stack`, else Pulumi.example.yaml, else the one Pulumi.<stack>.yaml there is. Values default to
 * Pulumi.yaml's `config: {key: {default: …}}`.
 */
export function readStackConfig(programDir: string, stack?: string): StackConfig {
    const projectFile = path.join(programDir, "Pulumi.yaml");
    const projectDoc = fs.existsSync(projectFile) ? (yaml.load(fs.readFileSync(projectFile, "utf8")) as any) ?? {} : {};
    const project = typeof projectDoc.name === "string" ? projectDoc.name : "project";
    let file: string | undefined;
    if (stack !== undefined) {
        file = path.join(programDir, `Pulumi.${stack}.yaml`);
        if (!fs.existsSync(file)) throw new RehearsalConfigError(`--stack ${stack}: no ${file}`);
    } else if (fs.existsSync(path.join(programDir, "Pulumi.example.yaml"))) {
        file = path.join(programDir, "Pulumi.example.yaml");
    } else {
        const stacks = fs.readdirSync(programDir).filter(f => /^Pulumi\.[^.]+\.yaml$/.test(f));
        if (stacks.length > 1) throw new RehearsalConfigError(`${programDir} has several stack configs (${stacks.join(", ")}): name one with --stack NAME`);
        if (stacks.length === 1) file = path.join(programDir, stacks[0]);
    }
    const name = file ? path.basename(file).replace(/^Pulumi\.(.*)\.yaml$/, "$1") : stack ?? "rehearsal";
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries<any>(projectDoc.config ?? {})) {
        if (v && typeof v === "object" && "default" in v) values[unprefixed(k, project)] = v.default;
    }
    if (file) {
        const doc = (yaml.load(fs.readFileSync(file, "utf8")) as any) ?? {};
        for (const [k, v] of Object.entries<unknown>(doc.config ?? {})) values[unprefixed(k, project)] = v;
    }
    return { project, stack: name, file, values };
}

const unprefixed = (key: string, project: string) => (key.startsWith(`${project}:`) ? key.slice(project.length + 1) : key);

/** The HA example's shape: 3 etcd hosts, 3 control planes, `workers` workers and one HAProxy host. */
export function defaultShape(workers: number): Shape {
    const role = (n: string) => (n.startsWith("etcd") ? "etcd" : n.startsWith("cp") ? "control-plane" : n.startsWith("worker") ? "worker" : "load-balancer");
    const names = ["etcd-1", "etcd-2", "etcd-3", "cp-1", "cp-2", "cp-3", ...Array.from({ length: workers }, (_, i) => `worker-${i + 1}`), "lb-1"];
    return { source: `the HA example's shape (${names.length} hosts)`, hosts: names.map(name => ({ name, roles: [role(name)], entry: { name, roles: [role(name)] } })) };
}

/** The hosts the stack config's `hosts` list names; undefined when it names none (the rehearsal then takes the HA example's shape). */
export function shapeOf(config: StackConfig): Shape | undefined {
    const list = config.values.hosts;
    if (list === undefined) return undefined;
    const where = `${config.file ?? "the stack config"}: ${config.project}:hosts`;
    if (!Array.isArray(list) || list.length === 0) throw new RehearsalConfigError(`${where}: a list of hosts ({name, address, roles}), not ${JSON.stringify(list)}`);
    if (list.length > MAX_HOSTS) throw new RehearsalConfigError(`${where}: ${list.length} hosts; the lab runs at most ${MAX_HOSTS}`);
    const hosts = list.map((h: any, i: number): RehearsalHost => {
        if (!h || typeof h !== "object" || typeof h.name !== "string" || !Array.isArray(h.roles)) {
            throw new RehearsalConfigError(`${where}[${i}]: {name, address, roles: [...]}, not ${JSON.stringify(h)}`);
        }
        return { name: h.name, roles: h.roles.map(String), entry: h };
    });
    const balancers = hosts.filter(h => h.roles.includes("load-balancer"));
    if (balancers.length > 1) {
        throw new RehearsalConfigError(`${where}: ${balancers.length} load-balancer hosts (${balancers.map(h => h.name).join(", ")}); the lab rehearses one: its hosts share this machine's network, so two HAProxies cannot bind the endpoint's port each on their own address`);
    }
    if (!hosts.some(h => h.roles.includes("control-plane"))) throw new RehearsalConfigError(`${where}: no host with the "control-plane" role`);
    return { source: `${config.file} (${hosts.length} hosts)`, hosts };
}

/** A lab host as the rehearsal starts it. */
export interface LabSide { name: string; address: string }

/** Checks the lab cannot pass: no crictl, the machine's sysctls are the machine's, and so are its cgroups (v1 here, which a kubelet of 1.35+ refuses). */
export const LAB_SKIPS = ["FileExisting-crictl", "FileContent--proc-sys-net-ipv4-ip_forward", "FileContent--proc-sys-net-bridge-bridge-nf-call-iptables", "SystemVerification"];
/** The installer: the lab kubelet runs the version its lab.env names (apt-get install kubelet=… on a real host). */
export const LAB_INSTALLER = 'sed -i "s/^LAB_KUBELET_VERSION=.*/LAB_KUBELET_VERSION=$KUBERNETES_VERSION/" /var/lib/lab/lab.env';

type Json = Record<string, any>;
const object = (v: unknown): Json => (v && typeof v === "object" && !Array.isArray(v) ? { ...(v as Json) } : {});

/**
 * The stack config the program reads in the lab (project keys, unprefixed): each host's address and
 * ssh are the lab's; every other mention of a host's real address (a bindAddress, a certSAN) is its
 * lab address; each host's key is recorded on first use (the lab's hosts are made for the run, their
 * keys with them); controlPlaneEndpoint is the load balancer's lab address (at the endpoint's port), or
 * with none the first control plane's at apiServer.bindPort; sshPrivateKey is the lab's key; and
 * `cluster` gets what a lab needs (see labSettings).
 */
export function labStackConfig(config: StackConfig, shape: Shape, lab: LabSide[], ssh: { port: number; privateKey: string }, kubernetesVersion?: string): Record<string, unknown> {
    const labOf = new Map(lab.map(h => [h.name, h.address]));
    const real = new Map<string, string>();
    for (const h of shape.hosts) if (typeof h.entry.address === "string" && h.entry.address) real.set(h.entry.address, labOf.get(h.name)!);
    const values: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config.values)) {
        if (v && typeof v === "object" && "secure" in (v as Json) && k !== "sshPrivateKey") {
            throw new RehearsalConfigError(`${config.file}: ${config.project}:${k} is encrypted (secure:), which the rehearsal cannot read; give it in plain text in a copy of the stack config for the rehearsal (--stack NAME)`);
        }
        values[k] = relabel(v, real);
    }
    const cluster = object(values.cluster);
    const lb = shape.hosts.find(h => h.roles.includes("load-balancer"));
    const lbType = object(cluster.loadBalancer).type;
    if (lbType === "kube-vip" || lbType === "external") {
        throw new RehearsalConfigError(`cluster.loadBalancer.type "${lbType}": the rehearsal runs HAProxy (a "load-balancer" host) or no load balancer; ${lbType === "kube-vip" ? "the lab has no network interface to hold a VIP" : "it cannot reach your load balancer"}`);
    }
    const firstControlPlane = shape.hosts.find(h => h.roles.includes("control-plane"))!;
    const bindPort = Number(object(cluster.apiServer).bindPort ?? 6443);
    const endpointPort = /:(\d+)$/.exec(String(config.values.controlPlaneEndpoint ?? ""))?.[1] ?? "6443";
    values.hosts = shape.hosts.map(h => {
        const { ssh: _ssh, ...rest } = h.entry;
        return { ...(relabel(rest, real) as Json), name: h.name, address: labOf.get(h.name), roles: h.roles, ssh: { port: ssh.port, trustOnFirstUse: true } };
    });
    values.controlPlaneEndpoint = lb ? `${labOf.get(lb.name)}:${endpointPort}` : `${labOf.get(firstControlPlane.name)}:${bindPort}`;
    // The lab's hosts take its key (an ssh-agent's socket would name yours).
    values.sshPrivateKey = ssh.privateKey;
    delete values.sshAgentSocket;
    delete values.knownHosts;
    values.cluster = labSettings(cluster, lb ? labOf.get(lb.name) : undefined);
    if (kubernetesVersion) values.kubernetesVersion = kubernetesVersion;
    return values;
}

/**
 * What the lab needs in `cluster`, over the user's settings: the preflight checks it cannot pass
 * skipped, the lab's installer (nodePreparation), HAProxy bound to the load balancer's own address
 * (the lab hosts share one network, so "*" would take every host's port), and, where the user set
 * none, ECDSA keys (fast to generate), shorter readiness timeouts and one node at a time.
 */
export function labSettings(user: Json, lbAddress: string | undefined): Json {
    const c: Json = { ...user };
    c.certificates = { encryptionAlgorithm: "ECDSA-P256", ...object(c.certificates) };
    c.ignorePreflightErrors = [...new Set([...(Array.isArray(c.ignorePreflightErrors) ? c.ignorePreflightErrors : []), ...LAB_SKIPS])];
    c.apiServer = { readinessTimeoutSeconds: 60, ...object(c.apiServer) };
    if (lbAddress) c.loadBalancer = { ...object(c.loadBalancer), bindAddress: lbAddress };
    // The lab kubelet writes its kubelet.conf itself (nothing here signs CSRs), as a kubelet whose CSR was approved.
    c.join = { tlsBootstrapTimeoutSeconds: 60, ...object(c.join) };
    c.nodePreparation = { ...object(c.nodePreparation), installer: "command", command: LAB_INSTALLER };
    c.upgrade = { maxUnavailable: 1, kubeletReadyTimeoutSeconds: 60, ...object(c.upgrade) };
    return c;
}

/** `value` with each real host address in its strings (whole, or as host:port) replaced by the host's lab address. */
function relabel(value: unknown, real: Map<string, string>): unknown {
    if (typeof value === "string") {
        return value.replace(/(?<![\w.:-])(\d{1,3}(?:\.\d{1,3}){3})(?![\w.-])/g, a => real.get(a) ?? a);
    }
    if (Array.isArray(value)) return value.map(v => relabel(v, real));
    if (value && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, relabel(v, real)]));
    return value;
}

/** Config values as `pulumi config` hands them to a program: strings as they are, everything else as JSON. */
export function asPulumiConfig(project: string, values: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(Object.entries(values).map(([k, v]) => [k.includes(":") ? k : `${project}:${k}`, typeof v === "string" ? v : JSON.stringify(v)]));
}
