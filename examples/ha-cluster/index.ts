// The HA shape: 3 etcd hosts, 3 control planes behind HAProxy, and workers, all from stack config
// (see Pulumi.example.yaml). `pulumi preview` is the plan; `pulumi up` builds the cluster.
import * as pulumi from "@pulumi/pulumi";
import { Cluster, ClusterSpec, HostSpec, knownHostsFor } from "pulumi-kubeadm";

const config = new pulumi.Config();
/** A host as stack config gives it: name, address, roles, and how to reach it (the key comes from sshPrivateKey). */
type HostConfig = Omit<HostSpec, "ssh"> & { ssh?: { host?: string; port?: number; user?: string; hostKey?: string; trustOnFirstUse?: boolean } };
const hosts = config.requireObject<HostConfig[]>("hosts");
/**
 * How the hosts are reached: through an ssh-agent's socket (sshAgentSocket: the key never enters the
 * state, and a preview, which connects to no host, needs no key), or with a key in secret config.
 */
const sshAgentSocket = config.get("sshAgentSocket");
const credentials = sshAgentSocket ? { agentSocketPath: sshAgentSocket } : { privateKey: config.requireSecret("sshPrivateKey") };
/**
 * Each host's key, checked before anything is sent to it: its own ssh.hostKey (or trustOnFirstUse),
 * else its lines of knownHosts (what ssh-keyscan prints for every host).
 */
const knownHosts = config.get("knownHosts") ?? "";
const hostKeyOf = (h: HostConfig) => (h.ssh?.hostKey !== undefined || h.ssh?.trustOnFirstUse ? {} : { hostKey: knownHostsFor(knownHosts, h.ssh?.host ?? h.address, h.ssh?.port) });
/** Any other ClusterSpec field (networking, cni, apiServer, kubelet, ignorePreflightErrors, …). */
const settings = config.getObject<Partial<ClusterSpec>>("cluster") ?? {};

const cluster = new Cluster("ha", {
    kubernetesVersion: config.get("kubernetesVersion") ?? "v1.37.2",
    networking: { podSubnet: "10.244.0.0/16" },
    etcd: { topology: "dedicated" },
    ...settings,
    controlPlaneEndpoint: config.require("controlPlaneEndpoint"),
    hosts: hosts.map(h => ({ ...h, ssh: { ...h.ssh, ...hostKeyOf(h), ...credentials } })),
});

export const endpoint = cluster.endpoint;
export const kubernetesVersion = cluster.kubernetesVersion;
export const discoveryTokenCaCertHash = cluster.discoveryTokenCaCertHash;
export const nodes = cluster.nodes;
export const kubeconfig = cluster.adminKubeconfig;
export const joinCommand = cluster.joinCommand;
