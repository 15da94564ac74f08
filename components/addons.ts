import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { coreDnsObjects, kubeProxyObjects } from "../render/addons";
import { ResolvedCluster } from "../spec/validate";
import { kubeObject } from "./kube-objects";

export interface AddOnsOptions extends pulumi.ComponentResourceOptions {
    cluster: ResolvedCluster;
    /** The admin provider at the control-plane endpoint. */
    kubernetes: k8s.Provider;
    after: pulumi.Resource[];
}

/**
 * kubeadm's essential add-ons, kube-proxy and CoreDNS (each left out with proxy.disabled /
 * dns.disabled), and the CNI plug-in from the manifest the user supplied (nothing is downloaded).
 */
export class AddOns extends pulumi.ComponentResource {
    public readonly resources: pulumi.Resource[];

    constructor(name: string, args: Record<string, never>, opts: AddOnsOptions) {
        const { cluster, kubernetes, after, ...componentOpts } = opts;
        super("kubeadm:index:AddOns", name, args, componentOpts);
        const s = cluster.spec;
        const opt: pulumi.CustomResourceOptions = { parent: this, provider: kubernetes, dependsOn: after };
        const objects = [
            ...(s.proxy?.disabled ? [] : kubeProxyObjects(cluster)),
            ...(s.dns?.disabled ? [] : coreDnsObjects(cluster)),
        ];
        this.resources = objects.map(o => kubeObject(name, o, opt));
        if (cluster.cniManifest !== undefined) {
            this.resources.push(new k8s.yaml.v2.ConfigGroup(`${name}-cni`, { yaml: cluster.cniManifest }, { parent: this, dependsOn: opt.dependsOn, provider: kubernetes }));
        }
        this.registerOutputs({});
    }
}
