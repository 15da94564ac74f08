import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { bootstrapKubeletConf } from "../render/bootstrap-token";
import { parseHostFacts } from "../render/control-plane-scripts";
import { hostPreparation, workerPreflight } from "../render/host-preflight";
import { kubeadmDropIn } from "../render/kubelet";
import { workerBatches, workerRolloutScript } from "../render/kubelet-upgrade";
import { digest, remoteBash, secretStdin } from "../render/scripts";
import { BOOTSTRAP_KUBELET_CONF, DEFAULT_TLS_BOOTSTRAP_TIMEOUT_SECONDS, workerFiles, workerJoinScript } from "../render/worker";
import { joinHostPort } from "../spec/network";
import { DEFAULTS, ResolvedCluster } from "../spec/validate";
import { connectionOf, SECRET_OUTPUTS, SECRET_STEP, STEP, when } from "./connection";

export interface WorkersArgs {
    caCertPem: pulumi.Input<string>;
}

export interface WorkersOptions extends pulumi.ComponentResourceOptions {
    cluster: ResolvedCluster;
    /**
     * With nodePreparation: what each worker's preparation waits for besides its own preflight. In a
     * Cluster, a step that waits for every host's preflight (the upgrade preflight), so that no host
     * is prepared before all passed, without each worker naming every other host.
     */
    beforePreparation?: pulumi.Resource[];
}

/**
 * The worker nodes, two remote steps each (a 1,000-node cluster stays practical): kubeadm join's
 * preflight, created at once so it runs with every other host's; and the join itself (kubelet-start
 * with a bootstrap token), created by `join` once the control plane and the token exist. With
 * nodePreparation a third, between them: the preparation, once every host's preflight passed.
 * Workers join in parallel.
 */
export class Workers extends pulumi.ComponentResource {
    public readonly preflights: command.remote.Command[];
    /** With nodePreparation, each worker's preparation (else none): what every change of the cluster waits for. */
    public readonly preparations: command.remote.Command[];
    private readonly cluster: ResolvedCluster;
    private readonly caCertPem: pulumi.Output<string>;

    constructor(name: string, args: WorkersArgs, opts: WorkersOptions) {
        const { cluster, beforePreparation, ...componentOpts } = opts;
        super("kubeadm:index:Workers", name, {}, componentOpts);
        this.cluster = cluster;
        this.caCertPem = pulumi.output(args.caCertPem);
        const caSha256 = this.caCertPem.apply(digest);
        this.preflights = cluster.workers.map(w => new command.remote.Command(`${name}-${w.name}-preflight`, {
            connection: connectionOf(w),
            create: caSha256.apply(sha => workerPreflight(cluster, w, { caSha256: sha, prepare: true })),
            ...STEP,
        }, { parent: this }));
        this.preparations = cluster.spec.nodePreparation === undefined ? [] : cluster.workers.map((w, i) => new command.remote.Command(`${name}-${w.name}-prepare`, {
            connection: connectionOf(w),
            create: hostPreparation(cluster, w)!,
            ...STEP,
        }, { parent: this, dependsOn: [this.preflights[i], ...(beforePreparation ?? [])] }));
    }

    /**
     * Each worker's join, after `after` (the control planes and the cluster objects). The token
     * matters only to a node that has not joined yet: a new token does not run the step again on
     * joined ones (their stdin changes are ignored).
     *
     * With an installer (nodePreparation), a version change also upgrades the kubelets of joined
     * workers, in batches of upgrade.maxUnavailable: rollout steps on the first control plane drain
     * a batch, its joins upgrade the kubelet and kubectl, and the next rollout step uncordons it
     * once each Node reports the new version before draining the next batch. Those dependencies
     * hold once some worker has joined (its preflight says so): a new cluster's workers join all at
     * once, and later changes to the workers' kubelets restart them batch by batch (drained only
     * for a new version).
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
        const installer = s.nodePreparation;
        const version = cluster.version.version;
        // Once a worker has joined, changes to the workers roll out batch by batch (a version change behind a drain). A
        // preflight that did not run again reports what it found when it last ran, so this asks only what stays true.
        const rolling = pulumi.all(this.preflights.map(p => p.stdout)).apply(outs => installer !== undefined
            && outs.some((out, i) => parseHostFacts(out, cluster.workers[i].name).joined === true));
        const whenRolling = (r: pulumi.Resource | undefined) => when(rolling, r ? [r] : [], []);
        const joinStep = (w: typeof cluster.workers[number], i: number, previous: pulumi.Resource | undefined) => new command.remote.Command(`${name}-${w.name}-join`, {
            connection: connectionOf(w),
            create: pulumi.all([this.preflights[i].stdout, this.caCertPem]).apply(([out, ca]) => remoteBash(workerJoinScript({
                host: w.name, step: "worker join", node: w, version, minor: cluster.version.minor,
                minimumKubeletVersion: cluster.version.row.minimumKubeletVersion ?? version,
                certificatesDir, endpoint, files: workerFiles(cluster, w, parseHostFacts(out, w.name), ca), kubeadmDropIn: dropIn,
                ignore: s.ignorePreflightErrors ?? [], tlsBootstrapTimeoutSeconds: timeout, kubeletInstaller: installer,
            }), { host: w.name, step: "worker-join" })),
            stdin,
            ...SECRET_STEP,
        }, {
            parent: this,
            dependsOn: [this.preflights[i], ...this.preparations.slice(i, i + 1), ...after, ...(installer ? [whenRolling(previous)] : [])],
            ignoreChanges: ["stdin"],
            additionalSecretOutputs: SECRET_OUTPUTS,
        });
        if (!installer || cluster.workers.length === 0) {
            const joins = cluster.workers.map((w, i) => joinStep(w, i, undefined));
            this.registerOutputs({});
            return joins;
        }

        const first = cluster.controlPlanes[0];
        const u = s.upgrade ?? {};
        const drain = {
            version, drainTimeoutSeconds: u.drainTimeoutSeconds ?? DEFAULTS.drainTimeoutSeconds, disableEviction: u.disableEviction ?? false,
            kubeletReadyTimeoutSeconds: u.kubeletReadyTimeoutSeconds ?? DEFAULTS.kubeletReadyTimeoutSeconds,
        };
        const batches = workerBatches(cluster.workers.map((w, i) => ({ w, i })), u.maxUnavailable ?? DEFAULTS.maxUnavailable);
        const steps: command.remote.Command[] = [];
        let previous: command.remote.Command | undefined;
        for (let b = 0; b <= batches.length; b++) {
            const release = b > 0 ? batches[b - 1].map(x => x.w.name) : [];
            const next = b < batches.length ? batches[b].map(x => x.w.name) : [];
            const stepName = [release.length ? `uncordon-${b}` : "", next.length ? `drain-${b + 1}` : ""].filter(Boolean).join("-");
            const releasedJoins = b > 0 ? steps.slice(-batches[b - 1].length) : [];
            const rollout: command.remote.Command = new command.remote.Command(`${name}-${stepName}`, {
                connection: connectionOf(first),
                create: remoteBash(workerRolloutScript({ host: first.name, step: `workers' kubelets: ${stepName}`, ...drain, release, drain: next }), { host: first.name, step: "worker-rollout" }),
                ...STEP,
            }, { parent: this, dependsOn: [...after, ...releasedJoins, whenRolling(previous)] });
            steps.push(rollout);
            if (b < batches.length) steps.push(...batches[b].map(({ w, i }) => joinStep(w, i, rollout)));
            previous = rollout;
        }
        this.registerOutputs({});
        return steps;
    }
}
