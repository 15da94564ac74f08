// One host that is the whole cluster: a control plane without kubeadm's control-plane taint, so
// workloads schedule on it (what `kubectl taint nodes --all node-role.kubernetes.io/control-plane-`
// does after kubeadm init). etcd is stacked on it; there is no load balancer.
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "pulumi-kubeadm";

const config = new pulumi.Config();
const address = config.require("address");

const cluster = new Cluster("single", {
    kubernetesVersion: config.get("kubernetesVersion") ?? "v1.37.2",
    controlPlaneEndpoint: `${address}:6443`,
    networking: { podSubnet: "10.244.0.0/16" },
    hosts: [{
        name: config.get("nodeName") ?? "node-1", address, roles: ["control-plane"],
        // hostKey: what `ssh-keyscan <address>` prints (checked against the host's console).
        ssh: { user: config.get("sshUser"), port: config.getNumber("sshPort"), privateKey: config.requireSecret("sshPrivateKey"), hostKey: config.require("hostKey") },
    }],
    controlPlaneTaints: [],
    loadBalancer: { type: "none" },
});

export const endpoint = cluster.endpoint;
export const kubeconfig = cluster.adminKubeconfig;
