import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { controlPlanePreflight, etcdPreflight, workerPreflight } from "../render/host-preflight";
import { digest } from "../render/scripts";
import { ClusterArgs, resolveClusterArgs } from "../spec/cluster-args";
import { connectionOf, STEP } from "./connection";
import { recordHostKeys } from "./host-keys";

export interface PreflightArgs extends ClusterArgs {
    /** The cluster's CA certificate, when the hosts already run this cluster: its own components then pass the port and file checks. */
    caCertPem?: pulumi.Input<string>;
    /** Likewise the etcd CA, for dedicated etcd hosts. */
    etcdCaCertPem?: pulumi.Input<string>;
}

/**
 * kubeadm's preflight phase alone: every host of a cluster spec checked for its roles (the
 * control-plane checks, a worker's join checks, a dedicated etcd host's), all at once, changing
 * nothing. With nodePreparation, these are the checks a Cluster's preflights make: what the
 * preparation would install or set (the runtime, the kubelet, crictl, kubectl, the kernel's
 * forwarding settings) is checked after it, so not here, and each step names those checks. A failed
 * check fails the host's step with every problem, its check name and its fix;
 * `ignorePreflightErrors` skips checks as kubeadm does.
 */
export class Preflight extends pulumi.ComponentResource {
    /** What each check step printed, by "<host>/<role>". */
    public readonly reports: pulumi.Output<{ [hostRole: string]: string }>;

    constructor(name: string, args: PreflightArgs, opts?: pulumi.ComponentResourceOptions) {
        const { caCertPem, etcdCaCertPem, ...clusterArgs } = args;
        const { cluster, warnings } = resolveClusterArgs(clusterArgs);
        super("kubeadm:index:Preflight", name, {}, opts);
        for (const w of warnings) pulumi.log.warn(w, this);
        recordHostKeys(name, cluster.spec.hosts, "hosts", this);
        const sha = (pem: pulumi.Input<string> | undefined) => pulumi.output(pem ?? "").apply(p => (p ? digest(p) : ""));
        const caSha256 = sha(caCertPem);
        const etcdCaSha256 = sha(etcdCaCertPem);
        const steps: [string, command.remote.Command][] = [];
        for (const h of cluster.spec.hosts) {
            const check = (role: string, create: pulumi.Output<string>) => steps.push([`${h.name}/${role}`, new command.remote.Command(`${name}-${h.name}-${role}`, {
                connection: connectionOf(h), create, ...STEP,
            }, { parent: this })]);
            if (h.roles.includes("etcd") && cluster.etcdTopology === "dedicated") {
                check("etcd", pulumi.all([caSha256, etcdCaSha256]).apply(([ca, etcdCa]) => etcdPreflight(cluster, h, { caSha256: ca, etcdCaSha256: etcdCa, prepare: true })));
            }
            if (h.roles.includes("control-plane")) check("control-plane", caSha256.apply(ca => controlPlanePreflight(cluster, h, { caSha256: ca, prepare: true })));
            if (h.roles.includes("worker")) check("worker", caSha256.apply(ca => workerPreflight(cluster, h, { caSha256: ca, prepare: true })));
        }
        this.reports = pulumi.all(steps.map(([, c]) => c.stdout)).apply(outs => Object.fromEntries(steps.map(([k], i) => [k, outs[i]])));
        this.registerOutputs({ reports: this.reports });
    }
}
