import { Cluster } from "../components/cluster";
import { ControlPlane } from "../components/control-plane";
import { EtcdCluster } from "../components/etcd";
import { ClusterPki } from "../components/pki";
import { Preflight } from "../components/preflight";
import { WorkerJoin } from "../components/worker-join";

export const PACKAGE_NAME = "kubeadm";
/** The components served to other languages. */
export const COMPONENTS = [Cluster, ClusterPki, EtcdCluster, ControlPlane, Preflight, WorkerJoin];
