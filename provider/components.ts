import { Cluster } from "../components/cluster";
import { ControlPlane } from "../components/control-plane";
import { EtcdCluster } from "../components/etcd";
import { ClusterPki } from "../components/pki";

export const PACKAGE_NAME = "kubeadm";
/** The components served to other languages. */
export const COMPONENTS = [Cluster, ClusterPki, EtcdCluster, ControlPlane];
