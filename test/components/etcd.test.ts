import { EtcdCluster } from "../../components/etcd";
import { ClusterPki } from "../../components/pki";
import { SpecError } from "../../spec/problems";
import { HostSpec } from "../../spec/types";
import { host } from "../support/fixtures";
import { MockRuntime, valueOf } from "../support/mocks";
import { pemBegins } from "../support/openssl";

const runtime = new MockRuntime(async type => (type === "command:remote:Command" ? { stdout: "etcd healthy: members etcd-1,etcd-2,etcd-3", stderr: "" } : undefined));
const members: HostSpec[] = [host("etcd-1", "10.0.20.11", ["etcd"]), host("etcd-2", "10.0.20.12", ["etcd"]), host("etcd-3", "10.0.20.13", ["etcd"])];

function pkiFor(name: string) {
    return new ClusterPki(name, {
        controlPlaneEndpoint: "k8s-api.example.internal:6443",
        controlPlanes: [{ name: "cp-1", address: "10.0.10.11" }],
        etcdMembers: members.map(m => ({ name: m.name, address: m.address })),
    });
}

describe("EtcdCluster under the mock runtime", () => {
    let etcd: EtcdCluster;
    beforeAll(async () => {
        await runtime.start();
        etcd = new EtcdCluster("etcd", { kubernetesVersion: "v1.33.2", members, pki: pkiFor("pki") });
        await valueOf(etcd.clientEndpoints);
    });
    const commands = () => runtime.ofType("command:remote:Command");
    const byName = (n: string) => commands().find(c => c.name === n)!;

    test("few resources per member: a preflight and an install, and one health gate", () => {
        expect(commands().map(c => c.name).sort()).toEqual([
            "etcd-etcd-1-install", "etcd-etcd-1-preflight", "etcd-etcd-2-install", "etcd-etcd-2-preflight",
            "etcd-etcd-3-install", "etcd-etcd-3-preflight", "etcd-health",
        ]);
    });

    test("order: every install waits for every preflight; the gate waits for every install", () => {
        const preflights = ["etcd-1", "etcd-2", "etcd-3"].map(m => byName(`etcd-${m}-preflight`).urn);
        const installs = ["etcd-1", "etcd-2", "etcd-3"].map(m => byName(`etcd-${m}-install`).urn);
        for (const m of ["etcd-1", "etcd-2", "etcd-3"]) expect(byName(`etcd-${m}-install`).dependsOn).toEqual(expect.arrayContaining(preflights));
        expect(byName("etcd-health").dependsOn).toEqual(expect.arrayContaining(installs));
    });

    test("members change one at a time: each install waits for the previous member's", () => {
        expect(byName("etcd-etcd-1-install").dependsOn.filter(u => u.includes("-install"))).toEqual([]);
        expect(byName("etcd-etcd-2-install").dependsOn).toContain(byName("etcd-etcd-1-install").urn);
        expect(byName("etcd-etcd-3-install").dependsOn).toContain(byName("etcd-etcd-2-install").urn);
    });

    test("the health gate's script names a digest of the installs, so a change there runs it again", () => {
        expect(byName("etcd-health").inputs.create).toMatch(/# checks after: [0-9a-f]{16}\n/);
    });

    test("preflight recognises this cluster's member by its etcd CA", () => {
        expect(byName("etcd-etcd-1-preflight").inputs.create).toMatch(/sha256sum \/etc\/kubernetes\/pki\/etcd\/ca\.crt .* = [0-9a-f]{64}/);
    });

    test("keys travel on stdin only, marked secret; steps carrying them log nothing and keep output secret", () => {
        for (const c of commands()) {
            expect(c.inputs.create).not.toMatch(/PRIVATE KEY/);
            expect(c.inputs.environment).toBeUndefined();
        }
        const install = byName("etcd-etcd-2-install");
        expect(install.secretInputs).toContain("stdin");
        expect(install.inputs.logging).toBe("none");
        expect(install.additionalSecretOutputs).toEqual(expect.arrayContaining(["stdout", "stderr"]));
        const lines = install.inputs.stdin.trim().split("\n").map((l: string) => l.split(" "));
        expect(lines.map((l: string[]) => l[0])).toEqual([
            "/etc/kubernetes/pki/etcd/server.key", "/etc/kubernetes/pki/etcd/peer.key", "/etc/kubernetes/pki/etcd/healthcheck-client.key",
        ]);
        for (const [, b64] of lines) expect(Buffer.from(b64, "base64").toString()).toMatch(pemBegins("RSA PRIVATE KEY"));
    });

    test("each member gets its own manifest and certificates; the connection is the member's", () => {
        const install = byName("etcd-etcd-2-install");
        expect(install.inputs.create).toContain("--name=etcd-2");
        expect(install.inputs.create).toContain("--initial-cluster=etcd-1=https://10.0.20.11:2380,etcd-2=https://10.0.20.12:2380,etcd-3=https://10.0.20.13:2380");
        expect(install.inputs.create).toContain("image: registry.k8s.io/etcd:3.5.24-0");
        expect(install.inputs.connection).toMatchObject({ host: "10.0.20.12", port: 22, user: "root" });
        expect(install.secretInputs).toContain("connection");
    });

    test("outputs: client endpoints, the etcd CA and the API server's etcd client certificate (key secret)", async () => {
        expect(await valueOf(etcd.clientEndpoints)).toEqual(["https://10.0.20.11:2379", "https://10.0.20.12:2379", "https://10.0.20.13:2379"]);
        expect(await valueOf(etcd.etcdCaCertPem)).toMatch(/^-----BEGIN CERTIFICATE-----/);
        expect(await valueOf(etcd.apiserverEtcdClientCertPem)).toMatch(/^-----BEGIN CERTIFICATE-----/);
        expect(await valueOf(etcd.apiserverEtcdClientKeyPem)).toMatch(/PRIVATE KEY/);
        expect(await import("@pulumi/pulumi").then(p => p.isSecret(etcd.apiserverEtcdClientKeyPem))).toBe(true);
    });
});

describe("EtcdCluster with nodePreparation", () => {
    beforeAll(async () => {
        await runtime.start();
        const etcd = new EtcdCluster("prep", { kubernetesVersion: "v1.33.2", members, pki: pkiFor("pki-prep"), nodePreparation: { installer: "command", command: "echo install-kubelet-marker" } });
        await valueOf(etcd.clientEndpoints);
    });
    const byName = (n: string) => runtime.ofType("command:remote:Command").find(c => c.name === n)!;
    const all = (what: string) => ["etcd-1", "etcd-2", "etcd-3"].map(m => byName(`prep-${m}-${what}`).urn);

    test("a preflight installs nothing; each member's preparation after every member's preflight; every install after every preparation", () => {
        for (const m of ["etcd-1", "etcd-2", "etcd-3"]) {
            expect(byName(`prep-${m}-preflight`).inputs.create).not.toContain("install-kubelet-marker");
            expect(byName(`prep-${m}-preflight`).inputs.create).toContain("[preflight] checked after nodePreparation, once every host passed its preflight: FileExisting-kubelet, CRI");
            expect(byName(`prep-${m}-prepare`).inputs.create).toContain("install-kubelet-marker");
            expect(byName(`prep-${m}-prepare`).dependsOn).toEqual(expect.arrayContaining(all("preflight")));
            expect(byName(`prep-${m}-install`).dependsOn).toEqual(expect.arrayContaining(all("prepare")));
        }
    });
});

describe("EtcdCluster input is checked at evaluation", () => {
    beforeEach(() => runtime.start());
    const pki = { publicFiles: {}, privateFiles: {}, nodePublicFiles: {}, nodePrivateFiles: {} };
    test.each<[string, Record<string, unknown>, RegExp]>([
        ["no members", { members: [] }, /members: \[\] — a list of at least one host/],
        ["a member twice", { members: [members[0], members[0]] }, /members\[1\] \(etcd-1\)\.name: "etcd-1" — a name no other member has/],
        ["an owned flag", { extraArgs: [{ name: "initial-cluster", value: "x=https://1.2.3.4:2380" }] }, /extraArgs\[0\]\.name: "initial-cluster" — a flag pulumi-kubeadm does not own/],
        ["an unknown topology", { topology: "external" }, /topology: "external" — "dedicated" or "stacked"/],
        ["an unknown preflight check", { ignorePreflightErrors: ["Port-6443"] }, /ignorePreflightErrors\[0\]: "Port-6443" — one of the checks: IsPrivilegedUser, SystemVerification, FileExisting-kubelet, CRI, Port-2379, Port-2380, Port-2381, DirAvailable--var-lib-etcd, or "all"/],
        ["a malformed image tag", { imageTag: "3.5 beta" }, /imageTag: "3\.5 beta" — an image tag/],
        ["a member without SSH credentials", { members: [{ ...members[0], ssh: {} }] }, /members\[0\] \(etcd-1\)\.ssh: "\(no credentials\)"/],
    ])("rejects %s with nothing registered", (_n, change, message) => {
        expect(() => new EtcdCluster("bad", { kubernetesVersion: "v1.33.2", members, pki, ...change })).toThrow(SpecError);
        expect(() => new EtcdCluster("bad", { kubernetesVersion: "v1.33.2", members, pki, ...change })).toThrow(message);
        expect(runtime.named("bad")).toEqual([]);
    });
});
