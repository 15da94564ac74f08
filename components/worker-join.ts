import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { parseHostFacts, workerPreflightScript } from "../render/control-plane-scripts";
import { kubeadmDropIn } from "../render/kubelet";
import { preparationScript } from "../render/node-preparation";
import { remoteBash } from "../render/scripts";
import { discoveryJoinScript, joinNodeFiles } from "../render/worker";
import { joinHostPort } from "../spec/network";
import { Problems } from "../spec/problems";
import { DEFAULTS } from "../spec/validate";
import { checkToken, planWorkerJoin, WorkerJoinArgs } from "../spec/worker-join";
import { recordHostKeys } from "./host-keys";
import { connectionOf, SECRET_OUTPUTS, SECRET_STEP, STEP } from "./connection";

export type { WorkerJoinArgs } from "../spec/worker-join";

/**
 * `kubeadm join` for workers of an existing cluster, from its endpoint, CA hash and a bootstrap
 * token alone (the cluster need not be in this program): per host, kubeadm join's preflight, then
 * one join step that runs token discovery on the host (cluster-info's JWS checked with the token,
 * the CA checked against the pins), reads the KubeletConfiguration from kube-system/kubelet-config
 * and completes kubelet-start. With nodePreparation, a step between them: the host's preparation,
 * once every host's preflight passed (a preflight changes nothing). The token travels on stdin only.
 */
export class WorkerJoin extends pulumi.ComponentResource {
    /** The joined nodes' names, once every join step has finished. */
    public readonly nodes: pulumi.Output<string[]>;

    constructor(name: string, args: WorkerJoinArgs, opts?: pulumi.ComponentResourceOptions) {
        const plan = planWorkerJoin(args);
        super("kubeadm:index:WorkerJoin", name, {}, opts);
        for (const w of plan.warnings) pulumi.log.warn(w, this);
        recordHostKeys(name, args.hosts, "hosts", this);
        const endpoint = joinHostPort(plan.endpoint.host, plan.endpoint.port);
        const token = pulumi.secret(pulumi.output(args.token).apply(t => {
            const p = new Problems();
            checkToken(p, t);
            p.throwIfAny("WorkerJoin args");
            return `${t}\n`;
        }));
        const ignore = args.ignorePreflightErrors ?? [];
        const preflights = args.hosts.map(h => new command.remote.Command(`${name}-${h.name}-preflight`, {
            connection: connectionOf(h),
            create: remoteBash(workerPreflightScript({
                host: h.name, step: "worker preflight", node: h, criSocket: h.criSocket ?? DEFAULTS.criSocket, certificatesDir: plan.certificatesDir,
                caSha256: "", caCertHashes: args.caCertHashes, swapTolerated: false, ignore, kubeletMinor: plan.version.minor,
                preparedLater: args.nodePreparation !== undefined,
            }), { host: h.name, step: "worker-preflight" }),
            ...STEP,
        }, { parent: this }));
        // Every host's preflight passes before any host changes: first its preparation, then every host's join once all are prepared.
        const installer = args.nodePreparation;
        const preparations = !installer ? [] : args.hosts.map(h => new command.remote.Command(`${name}-${h.name}-prepare`, {
            connection: connectionOf(h),
            create: remoteBash(preparationScript({
                host: h.name, step: "worker preparation", nodePreparation: installer, version: plan.version.version, ignore,
                checks: { node: true, criSocket: h.criSocket ?? DEFAULTS.criSocket, ipv6: h.address.includes(":") },
            }), { host: h.name, step: "worker-preparation" }),
            ...STEP,
        }, { parent: this, dependsOn: preflights }));
        const joins = args.hosts.map((h, i) => {
            const files = preflights[i].stdout.apply(out => {
                const facts = parseHostFacts(out, h.name);
                return joinNodeFiles({
                    minor: plan.version.minor, criSocket: h.criSocket ?? DEFAULTS.criSocket, imageRepository: plan.imageRepository,
                    pauseTag: plan.version.pause, certificatesDir: plan.certificatesDir, dnsServiceIp: "", dnsDomain: "",
                    extraArgs: [...(args.kubeletExtraArgs ?? []), ...(h.kubeletExtraArgs ?? [])],
                    // --node-ip as in a Cluster: the node registers with hosts[].address, not an address the kubelet picks.
                    nodeArgs: facts.hostname !== h.name ? [{ name: "hostname-override", value: h.name }] : [], nodeIp: h.address,
                }, args.kubeletDropIns ?? []);
            });
            return new command.remote.Command(`${name}-${h.name}-join`, {
                connection: connectionOf(h),
                create: files.apply(f => remoteBash(discoveryJoinScript({
                    host: h.name, step: "worker join", node: h, version: plan.version.version, minor: plan.version.minor,
                    minimumKubeletVersion: plan.version.row.minimumKubeletVersion ?? plan.version.version, certificatesDir: plan.certificatesDir,
                    endpoint, caCertHashes: args.caCertHashes, files: f, kubeadmDropIn: kubeadmDropIn(), ignore,
                    tlsBootstrapTimeoutSeconds: plan.tlsBootstrapTimeoutSeconds, discoveryTimeoutSeconds: plan.discoveryTimeoutSeconds,
                }), { host: h.name, step: "worker-join" })),
                stdin: token,
                ...SECRET_STEP,
            }, {
                parent: this, dependsOn: installer ? preparations : preflights,
                // A new token matters only to a node that has not joined yet.
                ignoreChanges: ["stdin"], additionalSecretOutputs: SECRET_OUTPUTS,
            });
        });
        this.nodes = pulumi.all(joins.map(j => j.id)).apply(() => args.hosts.map(h => h.name));
        this.registerOutputs({ nodes: this.nodes });
    }
}
