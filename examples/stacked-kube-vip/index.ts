// kubeadm's stacked HA topology: etcd on the 3 control planes, and kube-vip holding the endpoint's
// virtual IP (a static pod on each control plane), so no load-balancer host is needed. Workers optional.
import * as pulumi from "@pulumi/pulumi";
import { Cluster, knownHostsFor } from "pulumi-kubeadm";

const config = new pulumi.Config();
const vip = config.require("vip");
type HostConfig = { name: string; address: string; roles: string[] };
const privateKey = config.requireSecret("sshPrivateKey");
/** What `ssh-keyscan <address> …` prints for every host (checked against the hosts' consoles). */
const knownHosts = config.require("knownHosts");

const cluster = new Cluster("stacked", {
    kubernetesVersion: config.get("kubernetesVersion") ?? "v1.37.2",
    controlPlaneEndpoint: `${vip}:6443`,
    networking: { podSubnet: "10.244.0.0/16" },
    hosts: config.requireObject<HostConfig[]>("hosts").map(h => ({ ...h, ssh: { privateKey, hostKey: knownHostsFor(knownHosts, h.address) } })),
    etcd: { topology: "stacked" },
    loadBalancer: { type: "kube-vip", kubeVip: { interface: config.get("vipInterface") ?? "eth0" } },
});

export const endpoint = cluster.endpoint;
export const kubeconfig = cluster.adminKubeconfig;
export const joinCommand = cluster.joinCommand;
