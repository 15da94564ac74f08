import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../../components/cluster";
import { SpecError } from "../../spec/problems";
import { ClusterSpec } from "../../spec/types";
import { planEtcd } from "../../spec/etcd";
import { validateCluster } from "../../spec/validate";
import { haSpec, host } from "../support/fixtures";
import { MockRuntime } from "../support/mocks";

const runtime = new MockRuntime();
beforeEach(() => runtime.start());

/** Constructs the Cluster as a program would; returns the error it raised. */
function rejected(spec: ClusterSpec): SpecError {
    let error: unknown;
    try {
        new Cluster("c", spec);
    } catch (e) {
        error = e;
    }
    expect(error).toBeInstanceOf(SpecError);
    expect(runtime.named("c")).toEqual([]);
    return error as SpecError;
}

const withHosts = (mutate: (hosts: ClusterSpec["hosts"]) => void) => {
    const spec = haSpec();
    mutate(spec.hosts);
    return spec;
};

// Each rule: the spec that breaks it, the field named, and words from what is accepted.
const rules: [string, ClusterSpec, string, string][] = [
    ["malformed pod CIDR", haSpec({ networking: { podSubnet: "10.244.0.0/33" } }), `networking.podSubnet: "10.244.0.0/33"`, "a CIDR such as"],
    ["CIDR with host bits", haSpec({ networking: { serviceSubnet: "10.96.0.1/12" } }), `networking.serviceSubnet: "10.96.0.1/12"`, `no host bits set: "10.96.0.0/12"`],
    ["pod and service CIDRs overlap", haSpec({ networking: { podSubnet: "10.96.0.0/16", serviceSubnet: "10.96.0.0/12" } }), `networking.podSubnet: "10.96.0.0/16"`, "does not overlap networking.serviceSubnet 10.96.0.0/12"],
    ["service CIDR too small", haSpec({ networking: { serviceSubnet: "10.96.0.0/29" } }), `networking.serviceSubnet: "10.96.0.0/29"`, "at least 16 addresses"],
    ["service CIDR too large", haSpec({ networking: { serviceSubnet: "10.0.0.0/8" } }), `networking.serviceSubnet: "10.0.0.0/8"`, "at most 20 host bits"],
    ["pod CIDR smaller than a node's range", haSpec({ networking: { podSubnet: "10.244.0.0/25" } }), `networking.podSubnet: "10.244.0.0/25"`, "larger than one node's pod range (/24)"],
    ["dual-stack with one family twice", haSpec({ networking: { serviceSubnet: "10.96.0.0/12,10.112.0.0/12" } }), `networking.serviceSubnet: "10.96.0.0/12,10.112.0.0/12"`, "one IPv4 and one IPv6"],
    ["node address inside the pod CIDR", withHosts(h => { h[6].address = "10.244.1.5"; }), `hosts[6] (worker-1).address: "10.244.1.5"`, "outside networking.podSubnet 10.244.0.0/16"],
    ["endpoint inside the service CIDR", haSpec({ controlPlaneEndpoint: "10.96.0.50:6443" }), `controlPlaneEndpoint: "10.96.0.50"`, "outside networking.serviceSubnet"],
    ["version without patch", haSpec({ kubernetesVersion: "1.33" }), `kubernetesVersion: "1.33"`, "a Kubernetes release version such as"],
    ["version label", haSpec({ kubernetesVersion: "stable-1" }), `kubernetesVersion: "stable-1"`, "a Kubernetes release version"],
    ["unsupported minor", haSpec({ kubernetesVersion: "v1.20.4" }), `kubernetesVersion: "v1.20.4"`, "a release of a supported minor: 1.33, 1.34, 1.35, 1.36, 1.37 (a cluster on 1.20 is upgraded with kubeadm itself, one minor at a time, to 1.33 first"],
    ["a minor no longer supported", haSpec({ kubernetesVersion: "v1.32.8" }), `kubernetesVersion: "v1.32.8"`, "a release of a supported minor: 1.33, 1.34, 1.35, 1.36, 1.37 (a cluster on 1.32 is upgraded with kubeadm itself"],
    ["a minor not yet supported", haSpec({ kubernetesVersion: "v1.38.0" }), `kubernetesVersion: "v1.38.0"`, "a release of a supported minor: 1.33, 1.34, 1.35, 1.36, 1.37"],
    ["a minor without its patch", haSpec({ kubernetesVersion: "v1.37" }), `kubernetesVersion: "v1.37"`, `a Kubernetes release version such as "v1.37.2" (a full release: major.minor.patch)`],
    ["a channel", haSpec({ kubernetesVersion: "latest" }), `kubernetesVersion: "latest"`, "a Kubernetes release version such as"],
    ["a patch newer than the table", haSpec({ kubernetesVersion: "v1.36.9" }), `kubernetesVersion: "v1.36.9"`, "a 1.36 release up to v1.36.5, the newest proven here"],
    ["missing version", haSpec({ kubernetesVersion: undefined }), "kubernetesVersion: (missing)", "a Kubernetes release version"],
    ["duplicate node name", withHosts(h => { h[4].name = "cp-1"; }), `hosts[4] (cp-1).name: "cp-1"`, "(hosts[3] (cp-1) has it too)"],
    ["duplicate address", withHosts(h => { h[5].address = "10.0.10.11"; }), `hosts[5] (cp-3).address: "10.0.10.11"`, "(hosts[3] (cp-1) has it too)"],
    ["node name not a DNS subdomain", withHosts(h => { h[3].name = "CP_1"; }), `hosts[3] (CP_1).name: "CP_1"`, "lower-case RFC 1123 subdomain"],
    ["unknown role", withHosts(h => { h[6].roles = ["wrker"]; }), `hosts[6] (worker-1).roles[0]: "wrker"`, `one of "etcd", "control-plane", "worker", "load-balancer"`],
    ["no control plane", withHosts(h => h.splice(3, 3)), "hosts[].roles:", `at least one host with the "control-plane" role`],
    ["zero etcd members", haSpec({ etcd: { topology: "dedicated" }, hosts: haSpec().hosts.filter(h => !h.roles.includes("etcd")) }), "hosts[].roles: \"(no etcd members)\"", `at least one host with the "etcd" role`],
    ["missing SSH credentials", withHosts(h => { h[0].ssh = { user: "root" }; }), `hosts[0] (etcd-1).ssh: "(no credentials)"`, "one of privateKey, password or agentSocketPath"],
    ["bastion without credentials", withHosts(h => { h[0].ssh.bastion = { host: "bastion.example.internal" }; }), `hosts[0] (etcd-1).ssh.bastion: "(no credentials)"`, "one of privateKey"],
    ["SSH key that is not a key", withHosts(h => { h[0].ssh.privateKey = "/root/.ssh/id_ed25519"; }), "hosts[0] (etcd-1).ssh.privateKey", "a PEM or OpenSSH private key"],
    ["invalid SAN", haSpec({ apiServer: { certSANs: ["k8s.example.internal", "bad_name!"] } }), `apiServer.certSANs[1]: "bad_name!"`, "an IP address, a lower-case DNS name, or a wildcard"],
    ["invalid etcd SAN", haSpec({ etcd: { serverCertSANs: ["10.0.0.300"] } }), `etcd.serverCertSANs[0]: "10.0.0.300"`, "an IP address"],
    ["owned apiserver flag", haSpec({ apiServer: { extraArgs: [{ name: "etcd-servers", value: "https://10.0.0.1:2379" }] } }), `apiServer.extraArgs[0].name: "etcd-servers"`, "--etcd-servers comes from the etcd topology"],
    ["owned controller-manager flag", haSpec({ controllerManager: { extraArgs: [{ name: "cluster-cidr", value: "10.0.0.0/8" }] } }), `controllerManager.extraArgs[0].name: "cluster-cidr"`, "set networking.podSubnet"],
    ["owned etcd flag", haSpec({ etcd: { extraArgs: [{ name: "initial-cluster", value: "a=https://x:2380" }] } }), `etcd.extraArgs[0].name: "initial-cluster"`, "comes from the etcd members"],
    ["dns.config, which nothing reads", haSpec({ dns: { config: { forward: "8.8.8.8" } } }), `dns.config: {"forward":"8.8.8.8"}`, "CoreDNS has no component configuration"],
    ["owned kubelet flag", haSpec({ kubelet: { extraArgs: [{ name: "kubeconfig", value: "/tmp/k" }] } }), `kubelet.extraArgs[0].name: "kubeconfig"`, "points at a file pulumi-kubeadm places"],
    ["flag written with dashes", haSpec({ scheduler: { extraArgs: [{ name: "--v", value: "4" }] } }), `scheduler.extraArgs[0].name: "--v"`, `without leading dashes ("v")`],
    ["relative extra volume path", haSpec({ apiServer: { extraVolumes: [{ name: "audit", hostPath: "audit", mountPath: "/audit" }] } }), `apiServer.extraVolumes[0].hostPath: "audit"`, "an absolute path on the host"],
    ["malformed endpoint", haSpec({ controlPlaneEndpoint: "https://k8s.example.internal" }), `controlPlaneEndpoint: "https://k8s.example.internal"`, "IP address or a lower-case DNS name"],
    ["endpoint port out of range", haSpec({ controlPlaneEndpoint: "k8s.example.internal:70000" }), `controlPlaneEndpoint: "k8s.example.internal:70000"`, "a port from 1 to 65535"],
    ["unknown key algorithm", haSpec({ certificates: { encryptionAlgorithm: "DSA-1024" } }), `certificates.encryptionAlgorithm: "DSA-1024"`, "RSA-2048, RSA-3072, RSA-4096, ECDSA-P256, ECDSA-P384"],
    ["non-positive validity", haSpec({ certificates: { validityHours: 0 } }), "certificates.validityHours: 0", "greater than 0"],
    ["unknown etcd topology", haSpec({ etcd: { topology: "sidecar" } }), `etcd.topology: "sidecar"`, `one of "stacked", "dedicated", "external"`],
    ["etcd role with stacked topology", haSpec({ etcd: { topology: "stacked" } }), "hosts[].roles", `no "etcd" role with etcd.topology "stacked"`],
    ["external etcd over http", haSpec({ etcd: { topology: "external", external: { endpoints: ["http://10.0.0.5:2379"], caCert: "x", clientCert: "y", clientKey: "z" } }, hosts: haSpec().hosts.filter(h => !h.roles.includes("etcd")) }), `etcd.external.endpoints[0]: "http://10.0.0.5:2379"`, "an https:// client URL"],
    ["malformed bootstrap token", haSpec({ bootstrapTokens: [{ token: "ABC.def" }] }), "bootstrapTokens[0].token", "6 then 16 characters of [a-z0-9]"],
    ["malformed token TTL", haSpec({ bootstrapTokens: [{ ttl: "one day" }] }), `bootstrapTokens[0].ttl: "one day"`, "a duration such as"],
    ["unknown taint effect", haSpec({ controlPlaneTaints: [{ key: "node-role.kubernetes.io/control-plane", effect: "NoRun" }] }), `controlPlaneTaints[0].effect: "NoRun"`, "NoSchedule, PreferNoSchedule, NoExecute"],
    ["load balancer on a control plane", withHosts(h => { h[3].roles = ["control-plane", "load-balancer"]; }), "hosts[3] (cp-1).roles", "a load-balancer host apart from the control planes"],
    ["malformed CRI socket", withHosts(h => { h[6].criSocket = "/run/containerd/containerd.sock"; }), `hosts[6] (worker-1).criSocket: "/run/containerd/containerd.sock"`, "a CRI endpoint URL"],
    ["pod and service CIDRs of different families", haSpec({ networking: { podSubnet: "fd00:10:244::/56", serviceSubnet: "10.96.0.0/12" } }), `networking.podSubnet: "fd00:10:244::/56"`, "the same IP families as networking.serviceSubnet (ipv4)"],
    ["malformed DNS domain", haSpec({ networking: { dnsDomain: "Cluster_Local" } }), `networking.dnsDomain: "Cluster_Local"`, "a lower-case DNS domain"],
    ["malformed cluster name", haSpec({ clusterName: "Prod EU" }), `clusterName: "Prod EU"`, "a lower-case RFC 1123 subdomain"],
    ["feature gate that is not a boolean", haSpec({ featureGates: { EtcdLearnerMode: "yes" as unknown as boolean } }), `featureGates.EtcdLearnerMode: "yes"`, "true or false"],
    ["malformed image tag", haSpec({ etcd: { imageTag: "3.5.15 -0" } }), `etcd.imageTag: "3.5.15 -0"`, "an image tag such as"],
    ["SSH port out of range", withHosts(h => { h[1].ssh.port = 0; }), "hosts[1] (etcd-2).ssh.port: 0", "a TCP port from 1 to 65535"],
    ["malformed environment variable", haSpec({ apiServer: { extraEnvs: [{ name: "1BAD", value: "x" }] } }), `apiServer.extraEnvs[0].name: "1BAD"`, "an environment variable name"],
    ["unknown host path type", haSpec({ scheduler: { extraVolumes: [{ name: "cfg", hostPath: "/etc/sched", mountPath: "/etc/sched", pathType: "Folder" }] } }), `scheduler.extraVolumes[0].pathType: "Folder"`, "one of DirectoryOrCreate, Directory"],
    ["non-positive readiness timeout", haSpec({ apiServer: { readinessTimeoutSeconds: -5 } }), "apiServer.readinessTimeoutSeconds: -5", "greater than 0"],
    ["API port out of range", haSpec({ apiServer: { bindPort: 0 } }), "apiServer.bindPort: 0", "a TCP port from 1 to 65535"],
    ["no hosts", haSpec({ hosts: [] }), "hosts: []", `at least one host with the "control-plane" role`],
    ["the frozen k8s.gcr.io registry", haSpec({ imageRepository: "k8s.gcr.io" }), `imageRepository: "k8s.gcr.io"`, "use \"registry.k8s.io\""],
    ["a login other than root", withHosts(h => { h[0].ssh.user = "ubuntu"; }), `hosts[0] (etcd-1).ssh.user: "ubuntu"`, `"root": every step writes under /etc`],
    ["a dedicated etcd host that is also a worker", withHosts(h => { h[0].roles = ["etcd", "worker"]; }), "hosts[0] (etcd-1).roles", `"etcd" apart from "control-plane" and "worker"`],
    ["a data dir with shell in it", haSpec({ etcd: { dataDir: "/var/lib/etcd $(reboot)" } }), `etcd.dataDir: "/var/lib/etcd $(reboot)"`, "an absolute path of letters, digits"],
    ["'all' mixed with check names", haSpec({ ignorePreflightErrors: ["all", "Swap"] }), `ignorePreflightErrors: ["all","Swap"]`, `"all" alone`],
    ["a check name that is not a name", haSpec({ ignorePreflightErrors: ["Port-6443; reboot"] }), `ignorePreflightErrors[0]: "Port-6443; reboot"`, "a preflight check name"],
    ["the same IPv6 address written twice", withHosts(h => { h[3].address = "fd00::11"; h[4].address = "fd00:0:0::11"; }), `hosts[4] (cp-2).address: "fd00:0:0::11"`, "(hosts[3] (cp-1) has it too)"],
    ["the unspecified address", withHosts(h => { h[6].address = "0.0.0.0"; }), `hosts[6] (worker-1).address: "0.0.0.0"`, "the host's own address"],
    ["a node CIDR mask that is not a number", haSpec({ controllerManager: { extraArgs: [{ name: "node-cidr-mask-size", value: "big" }] } }), `controllerManager.extraArgs (node-cidr-mask-size): "big"`, "a prefix length"],
    ["an owned API server flag", haSpec({ apiServer: { extraArgs: [{ name: "etcd-servers", value: "https://10.9.9.9:2379" }] } }), `apiServer.extraArgs[0].name: "etcd-servers"`, "a flag pulumi-kubeadm does not own: --etcd-servers comes from the etcd topology"],
    ["an encryption key of the wrong size", haSpec({ encryptionAtRest: { key: Buffer.alloc(16, 7).toString("base64") } }), `encryptionAtRest.key: "(a value of 16 bytes)"`, "base64 of exactly 32 random bytes"],
    ["an encryption key that is not base64", haSpec({ encryptionAtRest: { key: "not a key!" } }), `encryptionAtRest.key: "(a value of 10 characters that are not base64)"`, "base64 of exactly 32 random bytes"],
    ["rotating your own key without the previous one", haSpec({ encryptionAtRest: { keyVersion: 2, key: Buffer.alloc(32, 1).toString("base64") } }), `encryptionAtRest.previousKey: "(missing)"`, "the key of version 1"],
    ["an unknown encryption provider", haSpec({ encryptionAtRest: { provider: "kms" } }), `encryptionAtRest.provider: "kms"`, "one of aescbc, secretbox, aesgcm"],
    ["a previous encryption provider without a rotation", haSpec({ encryptionAtRest: { provider: "secretbox", previousProvider: "aescbc" } }), `encryptionAtRest.previousProvider: "aescbc"`, "only while rotating (keyVersion above 1)"],
    ["an unknown previous encryption provider", haSpec({ encryptionAtRest: { keyVersion: 2, previousProvider: "kms" } }), `encryptionAtRest.previousProvider: "kms"`, "one of aescbc, secretbox, aesgcm"],
    ["an external LB command with no placeholder for the node", { ...withHosts(h => { h.splice(8, 1); }), loadBalancer: { type: "external", external: { registerCommand: "aws elbv2 register-targets --target-group-arn arn:tg", deregisterCommand: "lb-remove {{address}}" } } }, `loadBalancer.external.registerCommand: "aws elbv2 register-targets --target-group-arn arn:tg"`, "names the control plane it acts on with {{name}} or {{address}}"],
    ["an external LB command with an unknown placeholder", { ...withHosts(h => { h.splice(8, 1); }), loadBalancer: { type: "external", external: { registerCommand: "lb-add {{ip}}", deregisterCommand: "lb-remove {{address}}" } } }, `loadBalancer.external.registerCommand: "lb-add {{ip}}"`, "unknown: {{ip}}"],
    ["an unknown load balancer type", haSpec({ loadBalancer: { type: "f5" } }), `loadBalancer.type: "f5"`, `one of "haproxy", "kube-vip", "external", "none"`],
    ["kube-vip behind a DNS endpoint without an address", { ...withHosts(h => { h.splice(8, 1); }), loadBalancer: { type: "kube-vip", kubeVip: { interface: "eth0" } } }, `controlPlaneEndpoint: "k8s-api.example.internal"`, "the VIP kube-vip holds: an IP address"],
    ["load-balancer hosts with kube-vip", haSpec({ loadBalancer: { type: "kube-vip", kubeVip: { interface: "eth0", address: "10.0.10.5" } } }), `hosts[].roles: ["lb-1"]`, `no "load-balancer" role with loadBalancer.type "kube-vip"`],
    ["a kubelet drop-in that would replace kubeadm's", haSpec({ kubelet: { dropIns: [{ name: "10-kubeadm.conf", content: "[Service]\n" }] } }), `kubelet.dropIns[0].name: "10-kubeadm.conf"`, "a name other than the drop-ins"],
    ["image repository with scheme", haSpec({ imageRepository: "https://registry.example.internal/" }), `imageRepository: "https://registry.example.internal/"`, "without scheme or trailing slash"],
    ["no worker upgraded at a time", haSpec({ upgrade: { maxUnavailable: 0 } }), "upgrade.maxUnavailable: 0", "a whole number of workers, 1 or more"],
    ["no etcd snapshot kept", haSpec({ upgrade: { etcdSnapshotsKept: 0 } }), "upgrade.etcdSnapshotsKept: 0", "a whole number of snapshots, 1 or more"],
    ["a fraction of a drain timeout", haSpec({ upgrade: { drainTimeoutSeconds: 2.5 } }), "upgrade.drainTimeoutSeconds: 2.5", "a whole number of seconds, 1 or more"],
    ["disableEviction that is not a boolean", haSpec({ upgrade: { disableEviction: "yes" as unknown as boolean } }), `upgrade.disableEviction: "yes"`, "true or false"],
    ["an unknown registration order", haSpec({ upgrade: { registration: "later" } }), `upgrade.registration: "later"`, `one of "each", "afterAll"`],
    ["registration afterAll without HAProxy", { ...withHosts(h => { h.splice(8, 1); }), loadBalancer: { type: "kube-vip", kubeVip: { interface: "eth0", address: "10.0.10.5" } }, upgrade: { registration: "afterAll" } }, `upgrade.registration: "afterAll"`, `"afterAll" needs HAProxy`],
    ["a walk that skips a minor", haSpec({ kubernetesVersion: "v1.35.0", upgrade: { through: ["v1.33.6"] } }), `upgrade.through[0]: "v1.33.6"`, "a release of the minor just below kubernetesVersion (v1.35.0)"],
    ["a walk through a release that does not exist", haSpec({ kubernetesVersion: "v1.35.0", upgrade: { through: ["v1.34"] } }), `upgrade.through[0]: "v1.34"`, "a Kubernetes release version"],
];

describe("cluster spec validation", () => {
    test.each(rules)("rejects %s at evaluation, naming the field and what is accepted", (_rule, spec, field, accepted) => {
        const error = rejected(spec);
        const line = error.message.split("\n").find(l => l.includes(field));
        expect(line).toBeDefined();
        expect(line).toContain(accepted);
    });

    test("collects every problem, not just the first", () => {
        const spec = haSpec({ kubernetesVersion: "1.33", networking: { podSubnet: "10.96.0.0/16" }, apiServer: { certSANs: ["bad_name!"] } });
        spec.hosts[0].ssh = {};
        const error = rejected(spec);
        expect(error.problems.map(p => p.field)).toEqual(expect.arrayContaining([
            "kubernetesVersion", "networking.podSubnet", "apiServer.certSANs[0]", "hosts[0] (etcd-1).ssh",
        ]));
        expect(error.message).toMatch(/^invalid cluster spec \(\d+ problems\):/);
    });

    test("an even number of dedicated etcd members is a warning (from the EtcdCluster), not an error", () => {
        const spec = haSpec();
        spec.hosts.push(host("etcd-4", "10.0.20.14", ["etcd"]));
        const resolved = validateCluster(spec);
        expect(resolved.etcdMembers.map(h => h.name)).toEqual(["etcd-1", "etcd-2", "etcd-3", "etcd-4"]);
        expect(planEtcd({ kubernetesVersion: "v1.33.2", members: resolved.etcdMembers, pki: {} as never }).warnings.join("\n")).toContain("etcd has 4 members");
    });

    test("an older patch of a minor takes the images kubeadm's newest patch of that minor deploys", () => {
        const resolved = validateCluster(haSpec({ kubernetesVersion: "v1.36.1" }));
        expect(resolved.version).toMatchObject({ version: "v1.36.1", minor: "1.36", etcd: "3.6.8-0", coredns: "v1.14.2", pause: "3.10.2" });
        expect(resolved.warnings).toEqual([]);
    });

    test("resolves defaults as kubeadm does", () => {
        const resolved = validateCluster(haSpec({ networking: { podSubnet: "10.244.0.0/16" } }));
        expect(resolved.networking).toMatchObject({
            serviceSubnet: "10.96.0.0/12", dnsDomain: "cluster.local", apiServerServiceIp: "10.96.0.1", dnsServiceIp: "10.96.0.10",
        });
        expect(resolved.endpoint).toEqual({ host: "k8s-api.example.internal", port: 6443 });
        expect(resolved.etcdTopology).toBe("dedicated");
        expect(resolved.controlPlanes.map(h => h.name)).toEqual(["cp-1", "cp-2", "cp-3"]);
        expect(resolved.clusterName).toBe("kubernetes");
    });

    test("stacked etcd runs on the control planes", () => {
        const spec = haSpec();
        spec.hosts = spec.hosts.filter(h => !h.roles.includes("etcd"));
        const resolved = validateCluster(spec);
        expect(resolved.etcdTopology).toBe("stacked");
        expect(resolved.etcdMembers.map(h => h.name)).toEqual(["cp-1", "cp-2", "cp-3"]);
    });

    test("dual-stack networking is accepted", () => {
        const resolved = validateCluster(haSpec({ networking: { podSubnet: "10.244.0.0/16,fd00:10:244::/56", serviceSubnet: "10.96.0.0/16,fd00:10:96::/112" } }));
        expect(resolved.networking.serviceSubnets.map(c => c.kind)).toEqual(["ipv4", "ipv6"]);
    });

    test("a secret SSH key (an Output) passes evaluation-time checks", () => {
        const spec = haSpec();
        spec.hosts[0].ssh = { ...spec.hosts[0].ssh, privateKey: pulumi.secret("later") };
        expect(() => validateCluster(spec)).not.toThrow();
    });
});
