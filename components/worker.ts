import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { bootstrapKubeletConf } from "../render/bootstrap-token";
import { parseHostFacts } from "../render/control-plane-scripts";
import { workerPreflight } from "../render/host-preflight";
import { kubeadmDropIn } from "../render/kubelet";
import { digest, remoteBash, secretStdin } from "../render/scripts";
import { BOOTSTRAP_KUBELET_CONF, DEFAULT_TLS_BOOTSTRAP_TIMEOUT_SECONDS, workerFiles, workerJoinScript } from "../render/worker";
import { joinHostPort } from "../spec/network";
import { DEFAULTS, ResolvedCluster } from "../spec/validate";
import { connectionOf, SECRET_OUTPUTS, SECRET_STEP, STEP } from "./connection";

export interface WorkersArgs {
    caCertPem: pulumi.Input<string>;
}

export interface WorkersOptions extends pulumi.ComponentResourceOptions {
    cluster: ResolvedCluster;
}

/**
 * The worker nodes, two remote steps each (a 1,000-node cluster stays practical): kubeadm join's
 * preflight, created at once so it runs with every other host's; and the join itself (kubelet-start
 * with a bootstrap token), created by `join` once the control plane and the token exist. Workers
 * join in parallel.
 */
export class Workers extends pulumi.ComponentResource {
    public readonly preflights: command.remote.Command[];
    private readonly cluster: ResolvedCluster;
    private readonly caCertPem: pulumi.Output<string>;

    constructor(name: string, args: WorkersArgs, opts: WorkersOptions) {
        const { cluster, ...componentOpts } = opts;
        super("kubeadm:index:Workers", name, {}, componentOpts);
        this.cluster = cluster;
        this.caCertPem = pulumi.output(args.caCertPem);
        const caSha256 = this.caCertPem.apply(digest);
        this.preflights = cluster.workers.map(w => new command.remote.Command(`${name}-${w.name}-preflight`, {
            connection: connectionOf(w),
            create: caSha256.apply(sha => workerPreflight(cluster, w, { caSha256: sha, prepare: true })),
            ...STEP,
        }, { parent: this }));
    }

    /**
     * Each worker's join, after `after` (the control planes and the cluster objects). The token
     * matters only to a node that has not joined yet: a new token does not run the step again on
     * joined ones (their stdin changes are ignored).
     */
    join(name: string, joinToken: pulumi.Input<string>, after: pulumi.Resource[]): command.remote.Command[] {
        const cluster = this.cluster;
        const s = cluster.spec;
        const certificatesDir = s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir;
        const endpoint = joinHostPort(cluster.endpoint.host, cluster.endpoint.port);
        const stdin = pulumi.secret(pulumi.all([this.caCertPem, joinToken]).apply(([ca, token]) => secretStdin([
            { path: BOOTSTRAP_KUBELET_CONF, content: bootstrapKubeletConf({ server: `https://${endpoint}`, caCertPem: ca, token }) },
        ])));
        const timeout = s.join?.tlsBootstrapTimeoutSeconds ?? DEFAULT_TLS_BOOTSTRAP_TIMEOUT_SECONDS;
        const dropIn = kubeadmDropIn();
        const joins = cluster.workers.map((w, i) => new command.remote.Command(`${name}-${w.name}-join`, {
            connection: connectionOf(w),
            create: pulumi.all([this.preflights[i].stdout, this.caCertPem]).apply(([out, ca]) => remoteBash(workerJoinScript({
                host: w.name, step: "worker join", node: w, version: cluster.version.version, minor: cluster.version.minor,
                minimumKubeletVersion: cluster.version.row.minimumKubeletVersion ?? cluster.version.version,
                certificatesDir, endpoint, files: workerFiles(cluster, w, parseHostFacts(out, w.name), ca), kubeadmDropIn: dropIn,
                ignore: s.ignorePreflightErrors ?? [], tlsBootstrapTimeoutSeconds: timeout,
            }), { host: w.name, step: "worker-join" })),
            stdin,
            ...SECRET_STEP,
        }, {
            parent: this,
            dependsOn: [this.preflights[i], ...after],
            ignoreChanges: ["stdin"],
            additionalSecretOutputs: SECRET_OUTPUTS,
        }));
        this.registerOutputs({});
        return joins;
    }
}
