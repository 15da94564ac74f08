// More workers for a cluster that already runs (built by another stack, or by kubeadm): what
// `kubeadm join <endpoint> --token … --discovery-token-ca-cert-hash sha256:…` does, on each host.
//   pulumi config set controlPlaneEndpoint k8s-api.example.internal:6443
//   pulumi config set caCertHash sha256:…            (the cluster stack's discoveryTokenCaCertHash)
//   kubeadm token create | pulumi config set --secret joinToken   (on stdin: never on a command line)
//   pulumi config set --secret sshPrivateKey < ~/.ssh/id_ed25519
//   pulumi config set --path 'hosts[0].name' gpu-1 && pulumi config set --path 'hosts[0].address' 10.0.30.41
//   ssh-keyscan 10.0.30.41 | pulumi config set knownHosts   (then check the keys against the hosts' consoles)
import * as pulumi from "@pulumi/pulumi";
import { HostSpec, knownHostsFor, WorkerJoin } from "pulumi-kubeadm";

const config = new pulumi.Config();
const sshPrivateKey = config.requireSecret("sshPrivateKey");
const hosts = config.requireObject<Omit<HostSpec, "ssh" | "roles">[]>("hosts");
const knownHosts = config.require("knownHosts");

const workers = new WorkerJoin("workers", {
    kubernetesVersion: config.get("kubernetesVersion") ?? "v1.37.2",
    controlPlaneEndpoint: config.require("controlPlaneEndpoint"),
    token: config.requireSecret("joinToken"),
    caCertHashes: [config.require("caCertHash")],
    hosts: hosts.map(h => ({ ...h, roles: ["worker"], ssh: { privateKey: sshPrivateKey, hostKey: knownHostsFor(knownHosts, h.address) } })),
});

export const joined = workers.nodes;
