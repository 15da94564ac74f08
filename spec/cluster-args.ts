import { clusterSpecFromKubeadmConfig } from "./kubeadm-config";
import { ClusterSpec } from "./types";
import { ResolvedCluster, validateCluster } from "./validate";

export interface ClusterArgs extends ClusterSpec {
    /**
     * The text of an existing kubeadm config file (v1beta4, v1beta3 or v1alpha1). Its settings
     * are the starting point; every field set in these args wins over the file.
     */
    kubeadmConfig?: string;
}

/** The validated cluster behind ClusterArgs (kubeadm config merged in), with its warnings. */
export function resolveClusterArgs(args: ClusterArgs): { cluster: ResolvedCluster; warnings: string[] } {
    const { kubeadmConfig, ...spec } = args ?? ({} as ClusterArgs);
    if (kubeadmConfig === undefined) {
        const cluster = validateCluster(spec, { component: "Cluster", omit: [] });
        return { cluster, warnings: cluster.warnings };
    }
    const merged = clusterSpecFromKubeadmConfig(kubeadmConfig, spec);
    const cluster = validateCluster(merged.spec, { component: "Cluster", omit: [] });
    return { cluster, warnings: [...merged.warnings, ...cluster.warnings] };
}
