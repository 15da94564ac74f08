import { generateKeyPairSync } from "node:crypto";
import { ClusterSpec, HostSpec } from "../../spec/types";

let sshKey: string | undefined;

/** An SSH private key made at run time (no key material is committed). */
export function sshPrivateKey(): string {
    sshKey ??= generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    return sshKey;
}

let hostKeyLine: string | undefined;

/** A host's public key in authorized_keys form ("ssh-ed25519 <base64>"), made at run time: a pinned ssh.hostKey. */
export function sshHostKey(): string {
    if (!hostKeyLine) {
        // An Ed25519 SPKI ends with the 32-byte key; SSH's wire form is string "ssh-ed25519", string key.
        const raw = generateKeyPairSync("ed25519").publicKey.export({ type: "spki", format: "der" }).subarray(-32);
        const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
        hostKeyLine = `ssh-ed25519 ${Buffer.concat([str(Buffer.from("ssh-ed25519")), str(raw)]).toString("base64")}`;
    }
    return hostKeyLine;
}

export function host(name: string, address: string, roles: string[], extra: Partial<HostSpec> = {}): HostSpec {
    return { name, address, roles, ssh: { privateKey: sshPrivateKey(), hostKey: sshHostKey() }, ...extra };
}

/** The HA shape: 3 dedicated etcd hosts, 3 control planes, 2 workers and a load balancer. */
export function haSpec(overrides: Partial<ClusterSpec> = {}): ClusterSpec {
    return {
        kubernetesVersion: "v1.33.2",
        controlPlaneEndpoint: "k8s-api.example.internal:6443",
        networking: { podSubnet: "10.244.0.0/16", serviceSubnet: "10.96.0.0/12", dnsDomain: "cluster.local" },
        hosts: [
            host("etcd-1", "10.0.20.11", ["etcd"]),
            host("etcd-2", "10.0.20.12", ["etcd"]),
            host("etcd-3", "10.0.20.13", ["etcd"]),
            host("cp-1", "10.0.10.11", ["control-plane"]),
            host("cp-2", "10.0.10.12", ["control-plane"]),
            host("cp-3", "10.0.10.13", ["control-plane"]),
            host("worker-1", "10.0.30.21", ["worker"]),
            host("worker-2", "10.0.30.22", ["worker"]),
            host("lb-1", "10.0.10.10", ["load-balancer"]),
        ],
        ...overrides,
    };
}
