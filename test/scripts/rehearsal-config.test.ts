import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { defaultShape, LAB_SKIPS, labStackConfig, readStackConfig, RehearsalConfigError, shapeOf, StackConfig } from "../../scripts/rehearsal-config";

// What the rehearsal deploys: the hosts a program's stack config names, with the lab's in place of the real ones.
const ROOT = path.resolve(__dirname, "../..");
const lab = (names: string[]) => names.map((name, i) => ({ name, address: `127.0.200.${11 + i}` }));
const SSH = { port: 2222, privateKey: "LAB KEY" };

describe("readStackConfig", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "rehearsal-config-"));
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), "name: mine\nruntime: nodejs\nconfig:\n  kubernetesVersion: { default: v1.36.5 }\n");
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("reads the project's keys without their prefix, others whole, over Pulumi.yaml's defaults", () => {
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config:\n  mine:controlPlaneEndpoint: 10.0.0.1:6443\n  aws:region: eu-west-1\n");
        expect(readStackConfig(dir)).toEqual({
            project: "mine", stack: "dev", file: path.join(dir, "Pulumi.dev.yaml"),
            values: { kubernetesVersion: "v1.36.5", controlPlaneEndpoint: "10.0.0.1:6443", "aws:region": "eu-west-1" },
        });
    });

    test("--stack names the file; Pulumi.example.yaml comes before the only other stack; several need --stack", () => {
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), "config: {}\n");
        fs.writeFileSync(path.join(dir, "Pulumi.prod.yaml"), "config: {}\n");
        expect(() => readStackConfig(dir)).toThrow(/several stack configs \(Pulumi\.dev\.yaml, Pulumi\.prod\.yaml\): name one with --stack NAME/);
        expect(readStackConfig(dir, "prod").file).toBe(path.join(dir, "Pulumi.prod.yaml"));
        expect(() => readStackConfig(dir, "test")).toThrow(/--stack test: no .*Pulumi\.test\.yaml/);
        fs.writeFileSync(path.join(dir, "Pulumi.example.yaml"), "config: {}\n");
        expect(readStackConfig(dir).stack).toBe("example");
    });
});

describe("shapeOf and labStackConfig", () => {
    const ha = readStackConfig(path.join(ROOT, "examples/ha-cluster"));

    test("examples/ha-cluster's config: one lab host per host, its roles; addresses, ssh, key and endpoint the lab's", () => {
        const shape = shapeOf(ha)!;
        expect(shape.hosts.map(h => `${h.name}:${h.roles}`)).toEqual(["etcd-1:etcd", "etcd-2:etcd", "etcd-3:etcd", "cp-1:control-plane", "cp-2:control-plane", "cp-3:control-plane", "worker-1:worker", "worker-2:worker", "lb-1:load-balancer"]);
        const hosts = lab(shape.hosts.map(h => h.name));
        const v = labStackConfig({ ...ha, values: { ...ha.values, sshAgentSocket: "/run/agent.sock" } }, shape, hosts, SSH) as any;
        expect(v.hosts[3]).toEqual({ name: "cp-1", address: "127.0.200.14", roles: ["control-plane"], ssh: { port: 2222, trustOnFirstUse: true } });
        expect(v.controlPlaneEndpoint).toBe("127.0.200.19:6443");
        expect(v.sshPrivateKey).toBe("LAB KEY");
        expect(v.sshAgentSocket).toBeUndefined();
        // The example's knownHosts are the real hosts' keys: the lab's hosts record theirs instead.
        expect(ha.values.knownHosts).toContain("10.0.10.11 ssh-ed25519 ");
        expect(v.knownHosts).toBeUndefined();
        // The user's settings stay; the lab's are added.
        expect(v.cluster.cni).toEqual({ manifestFile: "kube-flannel.yml", podSubnetPlaceholder: "10.244.0.0/16" });
        expect(v.cluster.loadBalancer).toEqual({ bindAddress: "127.0.200.19" });
        expect(v.cluster.nodePreparation.installer).toBe("command");
        expect(v.cluster.ignorePreflightErrors).toEqual(LAB_SKIPS);
    });

    test("without a load balancer the endpoint is the first control plane at apiServer.bindPort; real addresses elsewhere become the lab's", () => {
        const config: StackConfig = {
            project: "p", stack: "s", file: "Pulumi.s.yaml", values: {
                controlPlaneEndpoint: "10.0.10.11:7443",
                hosts: [
                    { name: "worker-1", address: "10.0.30.21", roles: ["worker"], labels: { zone: "a" }, ssh: { user: "ubuntu", host: "bastion", port: 22 } },
                    { name: "cp-1", address: "10.0.10.11", roles: ["control-plane"] },
                ],
                cluster: { apiServer: { bindPort: 7443, certSANs: ["10.0.10.11", "10.0.10.111", "api.example.com"] }, ignorePreflightErrors: ["Swap"], upgrade: { maxUnavailable: 3 } },
            },
        };
        const shape = shapeOf(config)!;
        const v = labStackConfig(config, shape, lab(["worker-1", "cp-1"]), SSH, "v1.33.2") as any;
        expect(v.controlPlaneEndpoint).toBe("127.0.200.12:7443");
        expect(v.hosts[0]).toEqual({ name: "worker-1", address: "127.0.200.11", roles: ["worker"], labels: { zone: "a" }, ssh: { port: 2222, trustOnFirstUse: true } });
        expect(v.cluster.apiServer).toEqual({ bindPort: 7443, certSANs: ["127.0.200.12", "10.0.10.111", "api.example.com"], readinessTimeoutSeconds: 60 });
        expect(v.cluster.loadBalancer).toBeUndefined();
        expect(v.cluster.ignorePreflightErrors).toEqual(["Swap", ...LAB_SKIPS]);
        expect(v.cluster.upgrade).toEqual({ maxUnavailable: 3, kubeletReadyTimeoutSeconds: 60 });
        expect(v.kubernetesVersion).toBe("v1.33.2");
    });

    test("what the lab cannot rehearse is refused, saying why", () => {
        const config = (values: Record<string, unknown>): StackConfig => ({ project: "p", stack: "s", file: "Pulumi.s.yaml", values });
        const cp = { name: "cp-1", address: "10.0.10.11", roles: ["control-plane"] };
        expect(() => shapeOf(config({ hosts: [cp, { name: "lb-1", roles: ["load-balancer"] }, { name: "lb-2", roles: ["load-balancer"] }] }))).toThrow(/2 load-balancer hosts \(lb-1, lb-2\); the lab rehearses one/);
        expect(() => shapeOf(config({ hosts: [{ name: "w", roles: ["worker"] }] }))).toThrow(/no host with the "control-plane" role/);
        expect(() => shapeOf(config({ hosts: Array.from({ length: 21 }, (_, i) => ({ ...cp, name: `cp-${i}` })) }))).toThrow(/21 hosts; the lab runs at most 20/);
        expect(() => shapeOf(config({ hosts: "cp-1" }))).toThrow(RehearsalConfigError);
        expect(shapeOf(config({}))).toBeUndefined();
        const vip = config({ hosts: [cp], cluster: { loadBalancer: { type: "kube-vip" } } });
        expect(() => labStackConfig(vip, shapeOf(vip)!, lab(["cp-1"]), SSH)).toThrow(/"kube-vip": .* no network interface to hold a VIP/);
        const secret = config({ hosts: [cp], token: { secure: "v1:abc" } });
        expect(() => labStackConfig(secret, shapeOf(secret)!, lab(["cp-1"]), SSH)).toThrow(/p:token is encrypted/);
    });

    test("the default shape is the HA example's with N workers", () => {
        expect(defaultShape(2).hosts.map(h => h.name)).toEqual(["etcd-1", "etcd-2", "etcd-3", "cp-1", "cp-2", "cp-3", "worker-1", "worker-2", "lb-1"]);
        expect(defaultShape(0).hosts.find(h => h.name === "lb-1")!.roles).toEqual(["load-balancer"]);
    });
});
