import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { ETCD_MANIFEST, etcdHealthScript, etcdInstallScript, etcdPreflightScript } from "../render/etcd-scripts";
import { etcdHostKubeletConfig, etcdServiceManagerDropIn, KUBELET_DROPIN_DIR } from "../render/kubelet";
import { etcdPod } from "../render/manifests/etcd";
import { preparationScript } from "../render/node-preparation";
import { digest, PlacedFile, remoteBash, secretStdin } from "../render/scripts";
import { toYaml } from "../render/yaml";
import { joinHostPort } from "../spec/network";
import { EtcdClusterArgs, planEtcd } from "../spec/etcd";
import { certificateMismatches } from "../spec/pki";
import { HostSpec } from "../spec/types";
import { DEFAULTS } from "../spec/validate";
import { recordHostKeys } from "./host-keys";
import { connectionOf, SECRET_OUTPUTS, SECRET_STEP, later } from "./connection";

export type { EtcdClusterArgs, EtcdPki } from "../spec/etcd";

export interface EtcdClusterOptions extends pulumi.ComponentResourceOptions {
    /** What the members' installs wait for besides their own preflights and preparations (every other host's preflight and preparation). */
    after?: pulumi.Resource[] | Promise<pulumi.Resource[]>;
    /** With nodePreparation: what the members' preparations wait for besides the members' preflights (every other host's preflight). */
    beforePreparation?: pulumi.Resource[] | Promise<pulumi.Resource[]>;
    /** The members' host keys were recorded by the component that made this one (Cluster). */
    hostKeysRecorded?: boolean;
}

const ETCD_GATES = new WeakMap<EtcdCluster, pulumi.Resource>();
/** The health gate over the whole etcd cluster: what the control planes wait for (not an output of the component). */
export function etcdHealthGate(etcd: EtcdCluster): pulumi.Resource {
    return ETCD_GATES.get(etcd)!;
}
const ETCD_PREFLIGHTS = new WeakMap<EtcdCluster, pulumi.Resource[]>();
/** The members' preflights: what a cluster's first change waits for, with every other host's. */
export function etcdPreflights(etcd: EtcdCluster): pulumi.Resource[] {
    return ETCD_PREFLIGHTS.get(etcd)!;
}
const ETCD_PREPARATIONS = new WeakMap<EtcdCluster, pulumi.Resource[]>();
/** With nodePreparation, the members' preparations (else none): what every other host's changes wait for too. */
export function etcdPreparations(etcd: EtcdCluster): pulumi.Resource[] {
    return ETCD_PREPARATIONS.get(etcd)!;
}

/**
 * kubeadm's external etcd (its HA guide), or etcd stacked on the control planes: per member a
 * preflight (with nodePreparation, then its preparation, once every member's preflight passed) and
 * one install step (certificates, the kubelet as static-pod manager, the etcd static pod), then one
 * health gate over the whole cluster.
 */
export class EtcdCluster extends pulumi.ComponentResource {
    /** Client URLs of the members, e.g. "https://10.0.20.11:2379". */
    public readonly clientEndpoints: pulumi.Output<string[]>;
    public readonly etcdCaCertPem: pulumi.Output<string>;
    /** The API server's etcd client certificate (apiserver-etcd-client.crt). */
    public readonly apiserverEtcdClientCertPem: pulumi.Output<string>;
    /** Its key. Secret. @secret */
    public readonly apiserverEtcdClientKeyPem: pulumi.Output<string>;
    /** What the health gate saw: "etcd healthy: members a,b,c". */
    public readonly health: pulumi.Output<string>;

    constructor(name: string, args: EtcdClusterArgs, opts: EtcdClusterOptions = {}) {
        const plan = planEtcd(args);
        const { after: othersFirst, beforePreparation, hostKeysRecorded, ...componentOpts } = opts;
        super("kubeadm:index:EtcdCluster", name, {}, componentOpts);
        for (const w of plan.warnings) pulumi.log.warn(w, this);
        if (!hostKeysRecorded) recordHostKeys(name, args.members, "members", this);

        const members = args.members;
        const initialCluster = members.map(m => ({ name: m.name, address: m.address }));
        const pki = `${plan.certificatesDir}/etcd`;
        const publicFiles = pulumi.output(args.pki.publicFiles);
        const privateFiles = pulumi.secret(pulumi.output(args.pki.privateFiles));
        const nodePublic = pulumi.output(args.pki.nodePublicFiles);
        const nodePrivate = pulumi.secret(pulumi.output(args.pki.nodePrivateFiles));
        const need = (files: { [p: string]: string }, file: string, where: string) => {
            if (files[file] === undefined) throw new Error(`EtcdCluster ${name}: pki.${where} has no "${file}"; pass ClusterPki's outputs for a cluster with these etcd members`);
            return files[file];
        };

        // Before anything runs on a host: each member's certificates must be this member's.
        const checkedPublic = pulumi.all([publicFiles, nodePublic]).apply(([pub, node]) => {
            for (const m of members) {
                for (const file of ["etcd/server.crt", "etcd/peer.crt"]) {
                    const wrong = certificateMismatches(need(node[m.name] ?? {}, file, `nodePublicFiles["${m.name}"]`), {
                        commonName: m.name, usages: ["server_auth", "client_auth"], dnsNames: [m.name, "localhost"], ipAddresses: [m.address, "127.0.0.1"],
                    });
                    if (wrong.length) throw new Error(`EtcdCluster ${name}: pki.nodePublicFiles["${m.name}"]["${file}"] is not ${m.name}'s certificate: ${wrong.map(w => `${w.expected} (found ${w.found})`).join("; ")}. Issue the PKI with this member's name and address.`);
                }
            }
            return pub;
        });
        const caSha256 = checkedPublic.apply(pub => digest(need(pub, "etcd/ca.crt", "publicFiles")));

        const preflights = members.map(m => new command.remote.Command(`${name}-${m.name}-preflight`, {
            connection: connectionOf(m),
            create: caSha256.apply(sha => remoteBash(etcdPreflightScript({
                host: m.name, step: "etcd preflight", member: m, topology: plan.topology, dataDir: plan.dataDir, certificatesDir: plan.certificatesDir,
                criSocket: m.criSocket ?? DEFAULTS.criSocket, ignore: args.ignorePreflightErrors ?? [], caSha256: sha, kubeletMinor: plan.version.minor,
                preparedLater: args.nodePreparation !== undefined,
            }), { host: m.name, step: "etcd-preflight" })),
            addPreviousOutputInEnv: false,
        }, { parent: this }));
        // nodePreparation only once every member's preflight (and every other host's) passed; then the checks of what it provides.
        const installer = args.nodePreparation;
        const preparations = !installer ? [] : members.map(m => new command.remote.Command(`${name}-${m.name}-prepare`, {
            connection: connectionOf(m),
            create: remoteBash(preparationScript({
                host: m.name, step: "etcd preparation", nodePreparation: installer, version: plan.version.version, ignore: args.ignorePreflightErrors ?? [],
                checks: { node: false, criSocket: m.criSocket ?? DEFAULTS.criSocket },
            }), { host: m.name, step: "etcd-preparation" }),
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn: later(Promise.resolve(beforePreparation ?? []).then(b => [...preflights, ...b])) }));

        ETCD_PREFLIGHTS.set(this, preflights);
        ETCD_PREPARATIONS.set(this, preparations);
        // Resources stay Resources inside a Promise (an Output would lift their fields).
        const waitFor: Promise<pulumi.Resource[]> = Promise.resolve(othersFirst ?? []).then(a => [...preflights, ...preparations, ...a]);
        // Members change one at a time: each install waits for the one before it, and a member that
        // restarts waits until it is healthy again (a new cluster's members start without waiting).
        const installs: command.remote.Command[] = [];
        for (const m of members) {
            const manifest = toYaml(etcdPod({
                minor: plan.version.minor, imageTag: plan.imageTag, imageRepository: plan.imageRepository,
                member: m, initialCluster, initialClusterState: "new", topology: plan.topology,
                dataDir: plan.dataDir, certificatesDir: plan.certificatesDir, extraArgs: args.extraArgs, extraEnvs: args.extraEnvs,
            }));
            const files = pulumi.all([publicFiles, nodePublic]).apply(([pub, node]) => {
                const own = node[m.name] ?? {};
                const list: PlacedFile[] = [
                    { path: `${pki}/ca.crt`, mode: "0644", content: need(pub, "etcd/ca.crt", "publicFiles") },
                    { path: `${pki}/server.crt`, mode: "0644", content: need(own, "etcd/server.crt", `nodePublicFiles["${m.name}"]`) },
                    { path: `${pki}/server.key`, mode: "0600", secret: true },
                    { path: `${pki}/peer.crt`, mode: "0644", content: need(own, "etcd/peer.crt", `nodePublicFiles["${m.name}"]`) },
                    { path: `${pki}/peer.key`, mode: "0600", secret: true },
                    { path: `${pki}/healthcheck-client.crt`, mode: "0644", content: need(pub, "etcd/healthcheck-client.crt", "publicFiles") },
                    { path: `${pki}/healthcheck-client.key`, mode: "0600", secret: true },
                ];
                if (plan.topology === "dedicated") {
                    list.push(
                        { path: `${KUBELET_DROPIN_DIR}/kubelet.conf`, mode: "0644", content: etcdHostKubeletConfig(m.criSocket ?? DEFAULTS.criSocket) },
                        { path: `${KUBELET_DROPIN_DIR}/20-etcd-service-manager.conf`, mode: "0644", content: etcdServiceManagerDropIn() },
                    );
                }
                list.push({ path: ETCD_MANIFEST, mode: "0600", content: manifest });
                return list;
            });
            const stdin = pulumi.all([privateFiles, nodePrivate]).apply(([priv, node]) => {
                const own = node[m.name] ?? {};
                return secretStdin([
                    { path: `${pki}/server.key`, content: need(own, "etcd/server.key", `nodePrivateFiles["${m.name}"]`) },
                    { path: `${pki}/peer.key`, content: need(own, "etcd/peer.key", `nodePrivateFiles["${m.name}"]`) },
                    { path: `${pki}/healthcheck-client.key`, content: need(priv, "etcd/healthcheck-client.key", "privateFiles") },
                ]);
            });
            const previous = installs.slice(-1);
            installs.push(new command.remote.Command(`${name}-${m.name}-install`, {
                connection: connectionOf(m),
                create: files.apply(list => remoteBash(etcdInstallScript({
                    host: m.name, step: "etcd install", member: m, members: initialCluster, files: list, dataDir: plan.dataDir,
                    certificatesDir: plan.certificatesDir, timeoutSeconds: plan.healthTimeoutSeconds,
                    // A member's kubelet package changes here, one member at a time behind the quorum gate (its preparation keeps it).
                    ...(installer ? { kubeletUpgrade: { installer, version: plan.version.version } } : {}),
                }), { host: m.name, step: "etcd-install" })),
                stdin: pulumi.secret(stdin),
                ...SECRET_STEP,
            }, { parent: this, dependsOn: later(waitFor.then(w => [...w, ...previous])), additionalSecretOutputs: SECRET_OUTPUTS }));
        }

        const gateHost: HostSpec = members[0];
        // The gate's script names a digest of every install step, so any change there runs it again.
        const after = pulumi.all(installs.map(i => i.create)).apply(texts => digest(texts.join("\n")).slice(0, 16));
        const gate = new command.remote.Command(`${name}-health`, {
            connection: connectionOf(gateHost),
            create: after.apply(a => remoteBash(etcdHealthScript({
                host: gateHost.name, step: "etcd health", members: initialCluster,
                certificatesDir: plan.certificatesDir, timeoutSeconds: plan.healthTimeoutSeconds, after: a,
            }), { host: gateHost.name, step: "etcd-health" })),
            addPreviousOutputInEnv: false,
        }, { parent: this, dependsOn: installs });

        ETCD_GATES.set(this, gate);
        const endpoints = members.map(m => `https://${joinHostPort(m.address, 2379)}`);
        // Resolves only once the gate has passed, so whatever uses the endpoints waits for a healthy cluster.
        this.clientEndpoints = gate.stdout.apply(() => endpoints);
        this.etcdCaCertPem = publicFiles.apply(f => need(f, "etcd/ca.crt", "publicFiles"));
        this.apiserverEtcdClientCertPem = publicFiles.apply(f => need(f, "apiserver-etcd-client.crt", "publicFiles"));
        this.apiserverEtcdClientKeyPem = pulumi.secret(privateFiles.apply(f => need(f, "apiserver-etcd-client.key", "privateFiles")));
        this.health = gate.stdout;
        this.registerOutputs({
            clientEndpoints: this.clientEndpoints, etcdCaCertPem: this.etcdCaCertPem,
            apiserverEtcdClientCertPem: this.apiserverEtcdClientCertPem, apiserverEtcdClientKeyPem: this.apiserverEtcdClientKeyPem,
            health: this.health,
        });
    }
}
