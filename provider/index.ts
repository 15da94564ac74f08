// Entry of the multi-language component provider: serves the components to Python, Go, C#,
// Java and YAML programs (`pulumi package add <repo>`); the schema is inferred from their args.
import { componentProviderHost } from "@pulumi/pulumi/provider/experimental";
import * as path from "node:path";
import { Cluster } from "../components/cluster";
import { ControlPlane } from "../components/control-plane";
import { EtcdCluster } from "../components/etcd";
import { ClusterPki } from "../components/pki";

export const COMPONENTS = [Cluster, ClusterPki, EtcdCluster, ControlPlane];

if (require.main === module) {
    componentProviderHost({ components: COMPONENTS, name: "kubeadm", dirname: path.resolve(__dirname, "..") }).catch(e => {
        console.error(e);
        process.exit(1);
    });
}
