import * as pulumi from "@pulumi/pulumi";
import { clusterConfigurationYaml } from "../render/cluster-configuration";
import { clusterSpecFromKubeadmConfig } from "../spec/kubeadm-config";
import { ClusterSpec } from "../spec/types";
import { ResolvedCluster, validateCluster } from "../spec/validate";
import { ClusterPki } from "./pki";

export interface ClusterArgs extends ClusterSpec {
    /**
     * The text of an existing kubeadm config file (v1beta4, v1beta3 or v1alpha1). Its settings
     * are the starting point; every field set in these args wins over the file.
     */
    kubeadmConfig?: string;
}

/** A kubeadm-style cluster on existing hosts. */
export class Cluster extends pulumi.ComponentResource {
    /** The cluster's ClusterConfiguration as kubeadm stores it in kube-system/kubeadm-config. */
    public readonly clusterConfiguration: pulumi.Output<string>;
    public readonly kubernetesVersion: pulumi.Output<string>;
    public readonly caCertPem: pulumi.Output<string>;
    /** `sha256:<hex>` for `kubeadm join --discovery-token-ca-cert-hash`. */
    public readonly discoveryTokenCaCertHash: pulumi.Output<string>;

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const { cluster, warnings } = resolveClusterArgs(args);
        super("kubeadm:index:Cluster", name, {}, opts);
        for (const w of warnings) pulumi.log.warn(w, this);

        const s = cluster.spec;
        const pki = new ClusterPki(`${name}-pki`, {
            controlPlaneEndpoint: s.controlPlaneEndpoint!,
            networking: s.networking,
            controlPlanes: cluster.controlPlanes.map(h => ({ name: h.name, address: h.address })),
            etcdMembers: cluster.etcdMembers.map(h => ({ name: h.name, address: h.address })),
            externalEtcd: cluster.etcdTopology === "external",
            apiServerCertSANs: s.apiServer?.certSANs,
            etcdServerCertSANs: s.etcd?.serverCertSANs,
            etcdPeerCertSANs: s.etcd?.peerCertSANs,
            certificates: s.certificates,
        }, { parent: this });

        this.clusterConfiguration = pulumi.output(clusterConfigurationYaml(cluster));
        this.kubernetesVersion = pulumi.output(cluster.version.version);
        this.caCertPem = pki.caCertPem;
        this.discoveryTokenCaCertHash = pki.discoveryTokenCaCertHash;
        this.registerOutputs({
            clusterConfiguration: this.clusterConfiguration, kubernetesVersion: this.kubernetesVersion,
            caCertPem: this.caCertPem, discoveryTokenCaCertHash: this.discoveryTokenCaCertHash,
        });
    }
}

/** The validated cluster behind ClusterArgs (kubeadm config merged in), with its warnings. */
export function resolveClusterArgs(args: ClusterArgs): { cluster: ResolvedCluster; warnings: string[] } {
    const { kubeadmConfig, ...spec } = args ?? ({} as ClusterArgs);
    if (kubeadmConfig === undefined) {
        const cluster = validateCluster(spec);
        return { cluster, warnings: cluster.warnings };
    }
    const merged = clusterSpecFromKubeadmConfig(kubeadmConfig, spec);
    const cluster = validateCluster(merged.spec);
    return { cluster, warnings: [...merged.warnings, ...cluster.warnings] };
}
