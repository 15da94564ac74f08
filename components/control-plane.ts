import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { etcdHealthScript } from "../render/etcd-scripts";
import {
    ControlPlaneInstallInput, controlPlaneInstallScript, encryptionRotationScript, parseHostFacts,
    controlPlaneManifests, readinessGateScript, rewriteResourcesScript, upgradeVerdictScript,
} from "../render/control-plane-scripts";
import { ControlPlaneMaterial, controlPlaneFiles, stackedEtcdMember } from "../render/control-plane-files";
import { ENCRYPTION_CONFIG_PATH, EncryptionKey, rotationSteps } from "../render/encryption";
import { haproxyConfig, HAPROXY_CONFIG } from "../render/haproxy";
import { kubeadmDropIn } from "../render/kubelet";
import { controlPlaneKubeletScript } from "../render/kubelet-upgrade";
import { CLUSTER_ADMINS_BOUND, KUBE_VIP_MANIFEST, kubeVipPod } from "../render/kube-vip";
import {
    externalLoadBalancerScript, haproxyDeregisterScript, haproxyInstallScript, haproxyRegisterAllScript, haproxyRegisterScript, kubeVipAdminConfScript, kubeVipScript, leftAsItWas, SameVersionRule,
} from "../render/load-balancer-scripts";
import { controlPlanePreflight, hostPreparation } from "../render/host-preflight";
import { digest, remoteBash, secretStdin } from "../render/scripts";
import { toYaml } from "../render/yaml";
import { ClusterArgs, resolveClusterArgs } from "../spec/cluster-args";
import { joinHostPort } from "../spec/network";
import { HostSpec } from "../spec/types";
import { DEFAULTS, ResolvedCluster } from "../spec/validate";
import { encryptionKeys } from "./encryption";
import { recordHostKeys } from "./host-keys";
import { connectionOf, SECRET_OUTPUTS, SECRET_STEP, STEP, later } from "./connection";

type FileMap = { [path: string]: string };

/** Certificates from ClusterPki issued with `kubeconfigs: true` (its outputs of the same names). */
export interface ControlPlanePki {
    publicFiles: pulumi.Input<FileMap>;
    /** Secret. @secret */
    privateFiles: pulumi.Input<FileMap>;
    nodePublicFiles: pulumi.Input<{ [node: string]: FileMap }>;
    /** Secret. @secret */
    nodePrivateFiles: pulumi.Input<{ [node: string]: FileMap }>;
    nodeKubeconfigCerts: pulumi.Input<{ [node: string]: FileMap }>;
    /** Secret. @secret */
    nodeKubeconfigKeys: pulumi.Input<{ [node: string]: FileMap }>;
}

export interface ControlPlaneArgs extends ClusterArgs {
    /** ClusterPki's outputs, issued with `kubeconfigs: true`. */
    pki: ControlPlanePki;
    /**
     * EtcdCluster's clientEndpoints (resolved once its health gate passed): the control planes wait
     * for them. Required unless etcd is external.
     */
    etcdClientEndpoints?: pulumi.Input<string[]>;
}


/**
 * The control plane behind its load balancer, in kubeadm's order: HAProxy configured on the
 * load-balancer hosts; every control plane's preflight (with nodePreparation, then each one's
 * preparation, once every preflight passed); then the first control plane, then each
 * other one at a time (deregistered, placed, ready, registered again). Encryption at rest with a
 * generated key; raising keyVersion rotates it in the documented order before any node changes.
 */
export interface ControlPlaneOptions extends pulumi.ComponentResourceOptions {
    /** What every change (load balancer, key rotation, nodes) waits for besides the preflights: the etcd cluster's health gate. */
    after?: pulumi.Resource[] | Promise<pulumi.Resource[]>;
    /** What the control planes after the first wait for: the cluster objects created once the first one is up. */
    afterFirst?: pulumi.Resource[] | Promise<pulumi.Resource[]>;
    /**
     * With nodePreparation: what the control planes' preparations wait for besides their own
     * preflights (in a Cluster, a step after every other host's preflight). Every change here waits
     * for every preparation.
     */
    beforePreparation?: pulumi.Resource[] | Promise<pulumi.Resource[]>;
    /** The cluster as the caller already validated it. */
    resolved?: ResolvedCluster;
}

/** A ControlPlane's nodes and preflights, for the Cluster to order other steps by (not outputs of the component). */
export interface ControlPlaneSteps {
    nodes: ControlPlaneNode[];
    preflights: pulumi.Resource[];
    /** With nodePreparation, each control plane's preparation (else none). */
    preparations: pulumi.Resource[];
    /**
     * After the last node: with etcd stacked on the control planes, the health gate over every
     * member; with upgrade.registration "afterAll", the load balancers' register-all steps.
     */
    etcdGate: pulumi.Resource[];
    /** In preview, the encryption-at-rest change checked against the state's record (encryptionKeys' check). */
    encryptionCheck: pulumi.Output<true>;
}
const CONTROL_PLANE_STEPS = new WeakMap<ControlPlane, ControlPlaneSteps>();
export function controlPlaneSteps(cp: ControlPlane): ControlPlaneSteps {
    return CONTROL_PLANE_STEPS.get(cp)!;
}

export class ControlPlane extends pulumi.ComponentResource {
    /** "https://<controlPlaneEndpoint>". */
    public readonly endpoint: pulumi.Output<string>;
    /** What each node's readiness gate saw, by node; known once every node is ready and registered. */
    public readonly ready: pulumi.Output<{ [node: string]: string }>;

    constructor(name: string, args: ControlPlaneArgs, opts: ControlPlaneOptions = {}) {
        const { pki, etcdClientEndpoints, ...clusterArgs } = args ?? ({} as ControlPlaneArgs);
        const { after: afterOthers, afterFirst, resolved, beforePreparation, ...componentOpts } = opts;
        const { cluster, warnings } = resolved ? { cluster: resolved, warnings: [] } : resolveClusterArgs(clusterArgs);
        if (cluster.etcdTopology === "dedicated" && etcdClientEndpoints === undefined) {
            throw new Error(`ControlPlane ${name}: etcdClientEndpoints is required with etcd.topology "${cluster.etcdTopology}": pass EtcdCluster's clientEndpoints, so the control planes wait for a healthy etcd`);
        }
        super("kubeadm:index:ControlPlane", name, {}, componentOpts);
        for (const w of warnings) pulumi.log.warn(w, this);
        if (!resolved) recordHostKeys(name, cluster.spec.hosts, "hosts", this);

        let resolvePreflights!: (r: pulumi.Resource[]) => void;
        const preflights = new Promise<pulumi.Resource[]>(r => { resolvePreflights = r; });
        let resolvePreparations!: (r: pulumi.Resource[]) => void;
        const preparations = new Promise<pulumi.Resource[]>(r => { resolvePreparations = r; });
        // No host is prepared before every preflight passed, and nothing changes before every host is prepared.
        const prepareAfter = Promise.all([preflights, beforePreparation ?? []]).then(([p, b]) => [...p, ...b]);
        const others = Promise.all([afterOthers ?? [], preparations]).then(([o, p]) => [...o, ...p]);
        const lbInstalls = cluster.loadBalancerType === "haproxy" ? haproxySteps(name, cluster, this, others) : [];
        const encryption = encryptionKeys(name, cluster, this);
        const caCertPem = pulumi.output(pki.publicFiles).apply(f => f["ca.crt"] ?? "");

        const nodes: ControlPlaneNode[] = [];
        let rotation: pulumi.Resource[] = [];
        // upgrade.through: a pass over every control plane at each release in between (one at a time, none at the
        // next release before all are at this one), before the pass at kubernetesVersion.
        let walked: pulumi.Resource[] = [];
        const passPreflights: pulumi.Resource[] = [];
        for (const hop of (cluster.spec.upgrade?.through ?? []).map(v => throughRelease(clusterArgs, v))) {
            const pass: ControlPlaneNode[] = [];
            for (const [index, host] of hop.controlPlanes.entries()) {
                const previous = pass[index - 1];
                const before = previous ? previous.lastSteps : walked;
                pass.push(new ControlPlaneNode(`${name}-${host.name}-via-${hop.version.version}`, {
                    ...clusterArgs, kubernetesVersion: hop.version.version, node: host.name, first: index === 0, pki, etcdClientEndpoints,
                    encryptionConfig: encryption.config,
                }, {
                    parent: this,
                    after: Promise.all([preflights, others]).then(([p, o]) => [...p, ...o, ...rotation, ...before]),
                    loadBalancer: lbInstalls,
                    resolved: hop,
                    transient: true,
                    walkFrom: cluster.spec.upgrade?.through?.[0],
                }));
            }
            walked = pass[pass.length - 1].lastSteps;
            passPreflights.push(...pass.map(n => n.preflight));
        }
        for (const [index, host] of cluster.controlPlanes.entries()) {
            const previous = nodes[index - 1];
            const walkedBefore = index === 0 ? walked : [];
            nodes.push(new ControlPlaneNode(`${name}-${host.name}`, {
                ...clusterArgs, node: host.name, first: index === 0, pki, etcdClientEndpoints,
                encryptionConfig: encryption.config,
            }, {
                parent: this,
                // Every preflight before any change; the key rotation next; then one node at a time.
                after: Promise.all([preflights, others, index > 0 ? Promise.resolve(afterFirst ?? []) : []])
                    .then(([p, o, f]) => [...p, ...o, ...rotation, ...walkedBefore, ...f, ...(previous ? previous.lastSteps : [])]),
                loadBalancer: lbInstalls,
                resolved: cluster,
                prepareAfter,
            }));
        }
        const allPreflights = nodes.map(n => n.preflight);
        if (encryption.previous) rotation = rotationStepsFor(name, cluster, encryption.current, encryption.previous, allPreflights, lbInstalls, others, caCertPem, this);
        resolvePreflights([...allPreflights, ...passPreflights]);
        const allPreparations = nodes.flatMap(n => (n.preparation ? [n.preparation] : []));
        resolvePreparations(allPreparations);
        // Stacked etcd: once every control plane has joined, the whole cluster must be healthy with every member.
        const etcdGate = cluster.etcdTopology === "stacked" ? [stackedEtcdHealthGate(name, cluster, nodes, this)] : [];
        const registerAll = registerAllSteps(name, cluster, nodes, caCertPem, this);
        const adminConf = afterFirst ? kubeVipAdminConfStep(name, cluster, nodes[0], afterFirst, this) : [];
        encryption.record([...rotation, ...nodes.flatMap(n => n.lastSteps), ...etcdGate, ...registerAll]);
        CONTROL_PLANE_STEPS.set(this, { nodes, preflights: allPreflights, preparations: allPreparations, etcdGate: [...etcdGate, ...registerAll, ...adminConf], encryptionCheck: encryption.check });

        this.endpoint = pulumi.output(`https://${joinHostPort(cluster.endpoint.host, cluster.endpoint.port)}`);
        this.ready = pulumi.all(Object.fromEntries(nodes.map(n => [n.nodeName, n.ready]))) as pulumi.Output<{ [node: string]: string }>;
        this.registerOutputs({ endpoint: this.endpoint, ready: this.ready });
    }
}

export interface ControlPlaneNodeArgs extends ClusterArgs {
    /** The control-plane host (its name in hosts). */
    node: string;
    /** kubeadm init's node: also gets super-admin.conf. */
    first?: boolean;
    pki: ControlPlanePki;
    etcdClientEndpoints?: pulumi.Input<string[]>;
    /** The EncryptionConfiguration when encryption at rest is on. Secret. @secret */
    encryptionConfig?: pulumi.Input<string>;
}

export interface ControlPlaneNodeOptions extends pulumi.ComponentResourceOptions {
    /** Resources the node's changes wait for (not its preflight): the other preflights, the previous node. */
    after?: pulumi.Resource[] | Promise<pulumi.Resource[]>;
    /** The load balancer's own steps, which registration waits for. */
    loadBalancer?: pulumi.Resource[];
    /** The cluster as ControlPlane already validated it (else the node validates its args itself). */
    resolved?: ResolvedCluster;
    /**
     * A pass of upgrade.through: no kubelet step (kubelets go straight to kubernetesVersion), and
     * deleting it (once the walk is done and through removed) leaves the node registered.
     */
    transient?: boolean;
    /** The first release of upgrade.through (a pass's own spec no longer lists it). */
    walkFrom?: string;
    /**
     * With nodePreparation: what the node's preparation waits for besides its own preflight (every
     * host's preflight); the node's changes wait for its preparation.
     */
    prepareAfter?: pulumi.Resource[] | Promise<pulumi.Resource[]>;
}

/** upgrade.registration "afterAll" (HAProxy): what each registration compares, the control planes' versions. */
function sameVersionRule(cluster: ResolvedCluster, publicFiles: pulumi.Output<FileMap>): pulumi.Output<SameVersionRule> | undefined {
    if (cluster.spec.upgrade?.registration !== "afterAll" || cluster.loadBalancerType !== "haproxy") return undefined;
    const port = cluster.spec.apiServer?.bindPort ?? DEFAULTS.bindPort;
    return publicFiles.apply(pub => ({ controlPlanes: cluster.controlPlanes.map(h => ({ name: h.name, address: h.address })), port, caCertPem: pub["ca.crt"] ?? "" }));
}

/**
 * upgrade.registration "afterAll": on each load-balancer host after the last control plane, every
 * control plane still out of the load balancer comes back once they all run one version. It names
 * every node's install, so it runs whenever one changed.
 */
function registerAllSteps(name: string, cluster: ResolvedCluster, nodes: ControlPlaneNode[], caCertPem: pulumi.Output<string>, parent: pulumi.Resource): pulumi.Resource[] {
    if (cluster.spec.upgrade?.registration !== "afterAll" || cluster.loadBalancerType !== "haproxy") return [];
    const timeoutSeconds = cluster.spec.apiServer?.readinessTimeoutSeconds ?? DEFAULTS.readinessTimeoutSeconds;
    const port = cluster.spec.apiServer?.bindPort ?? DEFAULTS.bindPort;
    const after = pulumi.all(nodes.map(n => n.install.create)).apply(texts => digest(texts.join("\n")).slice(0, 16));
    return cluster.loadBalancers.map(lb => new command.remote.Command(`${name}-${lb.name}-register-all`, {
        connection: connectionOf(lb),
        create: pulumi.all([after, caCertPem]).apply(([a, ca]) => remoteBash(haproxyRegisterAllScript({
            host: lb.name, step: "haproxy register all", after: a, timeoutSeconds,
            sameVersion: { controlPlanes: cluster.controlPlanes.map(h => ({ name: h.name, address: h.address })), port, caCertPem: ca },
        }), { host: lb.name, step: "haproxy-register-all" })),
        ...STEP,
    }, { parent, dependsOn: nodes[nodes.length - 1].lastSteps }));
}

/**
 * kube-vip: once the cluster objects (the kubeadm:cluster-admins binding first) exist, the first
 * control plane's kube-vip moves from super-admin.conf (system:masters) to admin.conf, and the VIP
 * must answer again. Without the cluster objects (a ControlPlane on its own) it keeps super-admin.conf.
 */
function kubeVipAdminConfStep(name: string, cluster: ResolvedCluster, first: ControlPlaneNode, objects: pulumi.Resource[] | Promise<pulumi.Resource[]>, parent: pulumi.Resource): pulumi.Resource[] {
    if (cluster.loadBalancerType !== "kube-vip") return [];
    const s = cluster.spec;
    const node = cluster.controlPlanes[0];
    const vip = s.loadBalancer!.kubeVip!.address ?? cluster.endpoint.host;
    return [new command.remote.Command(`${name}-${node.name}-kube-vip-admin-conf`, {
        connection: connectionOf(node),
        create: remoteBash(kubeVipAdminConfScript({
            host: node.name, step: "kube-vip admin.conf", manifestPath: KUBE_VIP_MANIFEST, boundMarker: CLUSTER_ADMINS_BOUND,
            adminManifest: toYaml(kubeVipPod({ cluster, node, bound: true })), superAdminManifest: toYaml(kubeVipPod({ cluster, node })),
            readyz: `https://${joinHostPort(vip, cluster.endpoint.port)}/readyz`, caFile: `${s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir}/ca.crt`,
            timeoutSeconds: s.apiServer?.readinessTimeoutSeconds ?? DEFAULTS.readinessTimeoutSeconds,
        }), { host: node.name, step: "kube-vip-admin-conf" }),
        ...STEP,
    }, { parent, dependsOn: later(Promise.resolve(objects).then(o => [...o, ...first.lastSteps])) })];
}

/** The cluster at a release of upgrade.through: the same spec at that version. */
function throughRelease(args: ClusterArgs, version: string): ResolvedCluster {
    return resolveClusterArgs({ ...args, kubernetesVersion: version, upgrade: { ...args.upgrade, through: undefined } }).cluster;
}

/**
 * One control-plane host, as remote steps: preflight (kubeadm's checks, and the facts of the host
 * the files depend on); with nodePreparation, its preparation (after every host's preflight); deregistration from the load balancer; one install step (certificates,
 * kubeconfigs, encryption config, kubelet files, static pods); the readiness gate on its /readyz;
 * registration with the load balancer; the verdict of a version change; with an installer, the
 * kubelet's upgrade (drained, upgraded, uncordoned). A change to what is placed deregisters the
 * node first and registers it again only once it is ready.
 */
export class ControlPlaneNode extends pulumi.ComponentResource {
    public readonly nodeName: string;
    public readonly preflight: command.remote.Command;
    /** With nodePreparation (and not in a pass of upgrade.through): the node's preparation, after its preflight. */
    public readonly preparation?: command.remote.Command;
    public readonly install: command.remote.Command;
    /** What the readiness gate saw. */
    public readonly ready: pulumi.Output<string>;
    /** The node's last steps (registration, or the gate): what the next node waits for. */
    public readonly lastSteps: pulumi.Resource[];

    constructor(name: string, args: ControlPlaneNodeArgs, opts: ControlPlaneNodeOptions = {}) {
        const { node: nodeName, first, pki, etcdClientEndpoints, encryptionConfig, ...clusterArgs } = args;
        const cluster = opts.resolved ?? resolveClusterArgs(clusterArgs).cluster;
        const host = cluster.controlPlanes.find(h => h.name === nodeName);
        if (!host) throw new Error(`ControlPlaneNode ${name}: node ${JSON.stringify(nodeName)} is not a host with the "control-plane" role (those are: ${cluster.controlPlanes.map(h => h.name).join(", ")})`);
        const { after: waitForOthers, loadBalancer, resolved: _resolved, transient, walkFrom, prepareAfter, ...componentOpts } = opts;
        super("kubeadm:index:ControlPlaneNode", name, {}, componentOpts);
        this.nodeName = nodeName;
        if (!opts.resolved) recordHostKeys(name, cluster.spec.hosts, "hosts", this);

        const s = cluster.spec;
        const certificatesDir = s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir;
        const bindPort = s.apiServer?.bindPort ?? DEFAULTS.bindPort;
        const timeoutSeconds = s.apiServer?.readinessTimeoutSeconds ?? DEFAULTS.readinessTimeoutSeconds;
        const ignore = s.ignorePreflightErrors ?? [];
        const stacked = stackedEtcd(cluster, host, certificatesDir, timeoutSeconds);
        const publicFiles = pulumi.output(pki.publicFiles);
        const ctx = (step: string) => ({ host: host.name, step });

        this.preflight = new command.remote.Command(`${name}-preflight`, {
            connection: connectionOf(host),
            // A pass of upgrade.through prepares nothing (the kubelet goes straight to kubernetesVersion) and needs a running control plane.
            create: publicFiles.apply(pub => controlPlanePreflight(cluster, host, { caSha256: digest(pub["ca.crt"] ?? ""), prepare: !transient, requireRunning: transient, walkFrom })),
            ...STEP,
        }, { parent: this });
        const preparing = transient ? undefined : hostPreparation(cluster, host);
        this.preparation = preparing === undefined ? undefined : new command.remote.Command(`${name}-prepare`, {
            connection: connectionOf(host),
            create: preparing,
            ...STEP,
        }, { parent: this, dependsOn: later(Promise.resolve(prepareAfter ?? []).then(p => [this.preflight, ...p])) });
        const facts = this.preflight.stdout.apply(out => parseHostFacts(out, host.name));

        const material = pulumi.all([
            publicFiles, pulumi.secret(pulumi.output(pki.privateFiles)), pulumi.output(pki.nodePublicFiles), pulumi.secret(pulumi.output(pki.nodePrivateFiles)),
            pulumi.output(pki.nodeKubeconfigCerts), pulumi.secret(pulumi.output(pki.nodeKubeconfigKeys)),
            pulumi.output(s.etcd?.external ? { caCert: s.etcd.external.caCert, clientCert: s.etcd.external.clientCert, clientKey: s.etcd.external.clientKey } : undefined),
            pulumi.output(encryptionConfig),
        ]).apply(([pub, priv, nodePub, nodePriv, kcCerts, kcKeys, externalEtcd, encryption]): ControlPlaneMaterial => ({
            publicFiles: pub, privateFiles: priv, nodePublicFiles: nodePub[host.name] ?? {}, nodePrivateFiles: nodePriv[host.name] ?? {},
            kubeconfigCerts: kcCerts[host.name] ?? {}, kubeconfigKeys: kcKeys[host.name] ?? {},
            externalEtcd: externalEtcd as ControlPlaneMaterial["externalEtcd"], encryptionConfig: encryption,
        }));
        const etcdServers = pulumi.output(cluster.etcdTopology === "external" ? s.etcd!.external!.endpoints : etcdClientEndpoints ?? []);
        const rendered = pulumi.all([facts, etcdServers, material]).apply(([f, servers, m]) =>
            controlPlaneFiles({ cluster, node: host, first: first ?? false, facts: f, etcdServers: servers, material: m }));
        const installText = pulumi.unsecret(rendered.apply(r => remoteBash(controlPlaneInstallScript({
            ...ctx("control-plane install"), node: host, bindPort, version: cluster.version.version,
            minimumKubeletVersion: cluster.version.row.minimumKubeletVersion ?? cluster.version.version,
            files: r.files, kubeadmDropIn: kubeadmDropIn(), certificatesDir, ignore, timeoutSeconds, stackedEtcd: stacked, backupManifests: true, pass: transient,
        }), { host: host.name, step: "control-plane-install" })));
        // What the node gets, secrets included (as a digest), so that a new key or certificate alone
        // also takes the node out of the load balancer while it changes.
        const installDigest = pulumi.unsecret(pulumi.all([installText, rendered]).apply(([t, r]) => digest(`${t}\n${secretStdin(r.secrets)}`).slice(0, 16)));

        const registration = registrationSteps(cluster, host, installDigest, timeoutSeconds, publicFiles.apply(f => f["ca.crt"] ?? ""), sameVersionRule(cluster, publicFiles));
        // Resources stay Resources inside a Promise (an Output would lift their fields).
        const waitFor: Promise<pulumi.Resource[]> = Promise.resolve(waitForOthers ?? []).then(a => [this.preflight, ...(this.preparation ? [this.preparation] : []), ...a]);
        const lb = loadBalancer ?? [];
        const drains = registration.map(r => r.drain(`${name}-deregister-${r.target}`, { parent: this, dependsOn: later(waitFor.then(w => [...w, ...lb])) }));
        // The gate and registration name what the install placed and when the node was last taken
        // out: after any deregistration (a failed change, then one reverted) they run again.
        const after = pulumi.all([installDigest, ...drains.map(d => d.stdout)]).apply(([d, ...outs]) => outs.length ? `${d}-${digest(outs.join("\n")).slice(0, 8)}` : d);

        this.install = new command.remote.Command(`${name}-install`, {
            connection: connectionOf(host),
            create: installText,
            stdin: pulumi.secret(rendered.apply(r => secretStdin(r.secrets))),
            ...SECRET_STEP,
        }, { parent: this, dependsOn: later(waitFor.then(w => [...w, ...drains])), additionalSecretOutputs: SECRET_OUTPUTS });

        const gate = new command.remote.Command(`${name}-ready`, {
            connection: connectionOf(host),
            // Also after what the install did this time: an install run again (pulumi up --replace) is checked again.
            create: pulumi.all([after, pulumi.unsecret(this.install.stdout)]).apply(([d, out]) => remoteBash(readinessGateScript({
                ...ctx("readiness gate"), node: host, bindPort, certificatesDir, timeoutSeconds, after: `${d}-${digest(out).slice(0, 8)}`,
                rollback: controlPlaneManifests(false),
            }), { host: host.name, step: "readiness-gate" })),
            ...STEP,
        }, { parent: this, dependsOn: [this.install] });

        const registers = registration.map(r => r.register(`${name}-register-${r.target}`, after, { parent: this, dependsOn: [gate, ...lb] }, transient));
        // A node whose new manifests were rolled back is registered again (it is ready with the old
        // ones), then this step stops the run: nothing that waits for the node goes on.
        const verdict = new command.remote.Command(`${name}-upgraded`, {
            connection: connectionOf(host),
            create: pulumi.all([gate.stdout, this.install.urn]).apply(([out, urn]) => remoteBash(upgradeVerdictScript({
                ...ctx("control-plane upgrade"), gateOutput: out, timeoutSeconds, installUrn: urn, afterAll: s.upgrade?.registration === "afterAll",
            }), { host: host.name, step: "upgraded" })),
            ...STEP,
        }, { parent: this, dependsOn: registers.length ? registers : [gate] });
        // Known once the node is ready and registered with its load balancer.
        this.ready = pulumi.all([gate.stdout, verdict.stdout, ...registers.map(r => r.stdout)]).apply(([g]) => g);
        // With an installer: the node's kubelet follows its static pods (drained, upgraded, uncordoned), before the next node changes.
        const installer = transient ? undefined : s.nodePreparation;
        const u = s.upgrade ?? {};
        this.lastSteps = !installer ? [verdict] : [new command.remote.Command(`${name}-kubelet`, {
            connection: connectionOf(host),
            create: remoteBash(controlPlaneKubeletScript({
                ...ctx("control-plane kubelet upgrade"), node: nodeName, installer, version: cluster.version.version,
                drainTimeoutSeconds: u.drainTimeoutSeconds ?? DEFAULTS.drainTimeoutSeconds, disableEviction: u.disableEviction ?? false,
                kubeletReadyTimeoutSeconds: u.kubeletReadyTimeoutSeconds ?? DEFAULTS.kubeletReadyTimeoutSeconds,
            }), { host: host.name, step: "control-plane-kubelet" }),
            ...STEP,
        }, { parent: this, dependsOn: [verdict] })];
        this.registerOutputs({ ready: this.ready });
    }
}

/** etcd stacked on this control plane: its data dir, and after the first control plane, how it joins the members before it. */
function stackedEtcd(cluster: ResolvedCluster, host: HostSpec, certificatesDir: string, timeoutSeconds: number): ControlPlaneInstallInput["stackedEtcd"] {
    if (cluster.etcdTopology !== "stacked") return undefined;
    const { dataDir, before } = stackedEtcdMember(cluster, host);
    return {
        dataDir,
        members: cluster.controlPlanes.map(h => ({ name: h.name, address: h.address })),
        join: before.length === 0 ? undefined : {
            member: { name: host.name, address: host.address }, existing: before, certificatesDir, timeoutSeconds,
            learner: cluster.spec.featureGates?.EtcdLearnerMode ?? true,
        },
    };
}

/** The stacked etcd cluster's health gate, on the first control plane once the last one is registered. */
function stackedEtcdHealthGate(name: string, cluster: ResolvedCluster, nodes: ControlPlaneNode[], parent: pulumi.Resource): pulumi.Resource {
    const first = cluster.controlPlanes[0];
    const s = cluster.spec;
    const after = pulumi.all(nodes.map(n => n.install.create)).apply(texts => digest(texts.join("\n")).slice(0, 16));
    return new command.remote.Command(`${name}-etcd-health`, {
        connection: connectionOf(first),
        create: after.apply(a => remoteBash(etcdHealthScript({
            host: first.name, step: "etcd health", members: cluster.controlPlanes.map(h => ({ name: h.name, address: h.address })),
            certificatesDir: s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir,
            timeoutSeconds: s.apiServer?.readinessTimeoutSeconds ?? DEFAULTS.readinessTimeoutSeconds, after: a,
        }), { host: first.name, step: "etcd-health" })),
        ...STEP,
    }, { parent, dependsOn: nodes[nodes.length - 1].lastSteps });
}

type Step = command.remote.Command | command.local.Command;

interface Registration {
    /** The load balancer host (or "external"/"kube-vip") this pair of steps acts on. */
    target: string;
    drain: (name: string, opts: pulumi.CustomResourceOptions) => Step;
    /**
     * `after` undefined: nothing to register again (a rotation step that found no kube-apiserver).
     * With `keepOnDelete`, deleting the step leaves the node registered (steps of a finished key rotation).
     */
    register: (name: string, after: pulumi.Output<string | undefined>, opts: pulumi.CustomResourceOptions, keepOnDelete?: boolean) => Step;
}

/**
 * The load balancer's steps for one control plane: deregister before a change, register after the
 * readiness gate. Both name the install's digest, so they run again whenever the node changes; a
 * removed node's register step deregisters it on delete.
 */
function registrationSteps(cluster: ResolvedCluster, node: HostSpec, installDigest: pulumi.Output<string>, timeoutSeconds: number, caCertPem: pulumi.Output<string>, sameVersion?: pulumi.Output<SameVersionRule>): Registration[] {
    const s = cluster.spec;
    const bindPort = s.apiServer?.bindPort ?? DEFAULTS.bindPort;
    const rule = sameVersion ?? pulumi.output(undefined);
    switch (cluster.loadBalancerType) {
        case "haproxy":
            return cluster.loadBalancers.map(lb => {
                const ctx = (step: string) => ({ host: lb.name, step: `${step} ${node.name}` });
                const deregister = remoteBash(haproxyDeregisterScript({ ...ctx("haproxy deregister"), server: node.name, onDelete: true }), { host: lb.name, step: "haproxy-deregister" });
                return {
                    target: lb.name,
                    drain: (name, opts) => new command.remote.Command(name, {
                        connection: connectionOf(lb),
                        create: pulumi.all([installDigest, rule]).apply(([d, r]) => remoteBash(haproxyDeregisterScript({ ...ctx("haproxy deregister"), server: node.name, after: d, sameVersion: r }), { host: lb.name, step: "haproxy-deregister" })),
                        ...STEP,
                    }, opts),
                    register: (name, after, opts, keepOnDelete) => new command.remote.Command(name, {
                        connection: connectionOf(lb),
                        create: pulumi.all([after, rule]).apply(([d, r]) => remoteBash(d === undefined ? leftAsItWas(ctx("haproxy register"))
                            : haproxyRegisterScript({ ...ctx("haproxy register"), server: node.name, after: d, timeoutSeconds, sameVersion: r }), { host: lb.name, step: "haproxy-register" })),
                        delete: keepOnDelete ? undefined : deregister,
                        ...STEP,
                    }, opts),
                };
            });
        case "kube-vip": {
            const manifest = toYaml(kubeVipPod({ cluster, node }));
            // The first control plane's kube-vip moves to admin.conf once the cluster-admins binding exists (kubeVipAdminConfStep).
            const bound = cluster.controlPlanes[0].name === node.name ? { manifest: toYaml(kubeVipPod({ cluster, node, bound: true })), boundMarker: CLUSTER_ADMINS_BOUND } : undefined;
            const ctx = (step: string) => ({ host: node.name, step });
            const peers = {
                controlPlanes: cluster.controlPlanes.filter(c => c.name !== node.name), bindPort,
                caFile: `${s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir}/ca.crt`,
            };
            return [{
                target: "kube-vip",
                drain: (name, opts) => new command.remote.Command(name, {
                    connection: connectionOf(node),
                    create: installDigest.apply(d => remoteBash(kubeVipScript({ ...ctx("kube-vip deregister"), manifestPath: KUBE_VIP_MANIFEST, after: d, peers }), { host: node.name, step: "kube-vip-deregister" })),
                    ...STEP,
                }, opts),
                register: (name, after, opts, keepOnDelete) => {
                    // The step whose delete may remove kube-vip: a renamed step's new one claims it before the old one's delete runs.
                    const owner = keepOnDelete ? undefined : `${pulumi.getProject()}/${pulumi.getStack()}/${name}`;
                    return new command.remote.Command(name, {
                        connection: connectionOf(node),
                        create: after.apply(d => remoteBash(d === undefined ? leftAsItWas(ctx("kube-vip register")) : kubeVipScript({ ...ctx("kube-vip register"), manifestPath: KUBE_VIP_MANIFEST, manifest, after: d, owner, bound }), { host: node.name, step: "kube-vip-register" })),
                        delete: owner && remoteBash(kubeVipScript({ ...ctx("kube-vip deregister"), manifestPath: KUBE_VIP_MANIFEST, after: "delete", peers, owner }), { host: node.name, step: "kube-vip-deregister" }),
                        ...STEP,
                    }, opts);
                },
            }];
        }
        case "external": {
            const x = s.loadBalancer!.external!;
            const runOn = x.runOn === undefined ? undefined : s.hosts.find(h => h.name === x.runOn)!;
            const target = { name: node.name, address: node.address, port: bindPort };
            const where = runOn?.name ?? "local";
            // A drain's deregistration needs another control plane ready; a delete's, this one no longer serving.
            const script = (template: string, step: string, after?: string, peersCa?: string, ownCa?: string) => externalLoadBalancerScript(template, target, { host: where, step: `${step} ${node.name}` }, after,
                peersCa === undefined ? undefined : { controlPlanes: cluster.controlPlanes.filter(c => c.name !== node.name), bindPort, caCertPem: peersCa },
                ownCa === undefined ? undefined : { caCertPem: ownCa });
            const make = (name: string, create: pulumi.Input<string>, del: pulumi.Output<string> | undefined, opts: pulumi.CustomResourceOptions): Step => runOn
                ? new command.remote.Command(name, { connection: connectionOf(runOn), create: pulumi.output(create).apply(c => remoteBash(c, { host: where, step: "load-balancer" })), delete: del?.apply(d => remoteBash(d, { host: where, step: "load-balancer" })), ...STEP }, opts)
                : new command.local.Command(name, { create, delete: del, interpreter: ["/bin/bash", "-c"], addPreviousOutputInEnv: false }, opts);
            return [{
                target: "external",
                drain: (name, opts) => make(name, pulumi.all([installDigest, caCertPem]).apply(([d, ca]) => script(x.deregisterCommand, "deregister", d, ca)), undefined, opts),
                register: (name, after, opts, keepOnDelete) => make(name, after.apply(d => (d === undefined ? leftAsItWas({ host: where, step: `register ${node.name}` }) : script(x.registerCommand, "register", d))), keepOnDelete ? undefined : caCertPem.apply(ca => script(x.deregisterCommand, "deregister", undefined, undefined, ca)), opts),
            }];
        }
        default:
            return [];
    }
}

/** HAProxy on each load-balancer host, listing every control plane (each registered later, at runtime). */
function haproxySteps(name: string, cluster: ResolvedCluster, parent: pulumi.Resource, after: Promise<pulumi.Resource[]>): pulumi.Resource[] {
    const s = cluster.spec;
    const config = haproxyConfig({
        bindAddress: s.loadBalancer?.bindAddress ?? "*",
        bindPort: cluster.endpoint.port,
        controlPlanes: cluster.controlPlanes.map(h => ({ name: h.name, address: h.address })),
        apiServerPort: s.apiServer?.bindPort ?? DEFAULTS.bindPort,
    });
    return cluster.loadBalancers.map(lb => new command.remote.Command(`${name}-${lb.name}-haproxy`, {
        connection: connectionOf(lb),
        create: remoteBash(haproxyInstallScript({ host: lb.name, step: `haproxy (${HAPROXY_CONFIG})`, config }), { host: lb.name, step: "haproxy" }),
        ...STEP,
    }, { parent, dependsOn: later(after) }));
}

/**
 * Kubernetes' key rotation across the control planes, one at a time at each step: the new key
 * added second everywhere, then made first everywhere, then every encrypted resource rewritten.
 * The nodes' install steps, which wait for this, then drop the old key.
 */
function rotationStepsFor(name: string, cluster: ResolvedCluster, current: pulumi.Output<EncryptionKey>, previous: pulumi.Output<EncryptionKey>,
    preflights: pulumi.Resource[], lbInstalls: pulumi.Resource[], others: Promise<pulumi.Resource[]>, caCertPem: pulumi.Output<string>, parent: pulumi.Resource): pulumi.Resource[] {
    const e = cluster.encryption;
    const s = cluster.spec;
    const bindPort = s.apiServer?.bindPort ?? DEFAULTS.bindPort;
    const certificatesDir = s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir;
    const timeoutSeconds = s.apiServer?.readinessTimeoutSeconds ?? DEFAULTS.readinessTimeoutSeconds;
    const steps = pulumi.all([previous, current]).apply(([old, now]) => rotationSteps({ resources: e.resources, provider: e.provider }, old, now));
    const out: pulumi.Resource[] = [];
    const adds: command.remote.Command[] = [];
    const phases = [{ id: "add", index: 0, phase: "add the new key second" }, { id: "promote", index: 1, phase: "make the new key first" }];
    for (const p of phases) {
        for (const cp of cluster.controlPlanes) {
            const step = `${name}-key${e.keyVersion}-${p.id}-${cp.name}`;
            // Each restart happens out of the load balancer, as any other change to a node.
            const registration = registrationSteps(cluster, cp, pulumi.output(`key${e.keyVersion} ${p.id}`), timeoutSeconds, caCertPem);
            const before: Promise<pulumi.Resource[]> = out.length ? Promise.resolve(out.slice(-1)) : others.then(a => [...preflights, ...lbInstalls, ...a]);
            const drains = registration.map(r => r.drain(`${step}-deregister-${r.target}`, { parent, dependsOn: later(before) }));
            const rotate = new command.remote.Command(step, {
                connection: connectionOf(cp),
                create: remoteBash(encryptionRotationScript({ host: cp.name, step: `encryption key${e.keyVersion}: ${p.phase}`, node: cp, bindPort, certificatesDir, timeoutSeconds, phase: p.phase }), { host: cp.name, step: "encryption-rotation" }),
                stdin: pulumi.secret(steps.apply(st => secretStdin([{ path: ENCRYPTION_CONFIG_PATH, content: st[p.index].config }]))),
                ...SECRET_STEP,
            }, { parent, dependsOn: later(before.then(b => [...b, ...drains])), additionalSecretOutputs: SECRET_OUTPUTS });
            if (p.id === "add") adds.push(rotate);
            // A node where nothing was rotated (no kube-apiserver yet) is not registered by this step.
            const after = pulumi.all([rotate.stdout, ...drains.map(d => d.stdout)]).apply(outs => (outs[0].includes("nothing to rotate")
                ? undefined : `key${e.keyVersion} ${p.id} ${digest(outs.join("\n")).slice(0, 8)}`));
            const registers = registration.map(r => r.register(`${step}-register-${r.target}`, after, { parent, dependsOn: [rotate, ...lbInstalls] }, true));
            out.push(...(registers.length ? registers : [rotate]));
        }
    }
    const first = cluster.controlPlanes[0];
    // Required as soon as one control plane already ran with encryption (its "add" step rotated something).
    const required = pulumi.all(adds.map(c => c.stdout)).apply(outs => outs.some(o => !o.includes("nothing to rotate")));
    out.push(new command.remote.Command(`${name}-key${e.keyVersion}-rewrite`, {
        connection: connectionOf(first),
        create: pulumi.unsecret(required).apply(r => remoteBash(rewriteResourcesScript({
            host: first.name, step: `encryption key${e.keyVersion}: rewrite`, resources: e.resources, endpoint: joinHostPort(cluster.endpoint.host, cluster.endpoint.port), required: r,
        }), { host: first.name, step: "encryption-rewrite" })),
        ...STEP,
    }, { parent, dependsOn: out.slice(-1) }));
    return out;
}
