import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import yaml from "js-yaml";
import { sshHostKey, sshPrivateKey } from "../support/fixtures";
import { MockRuntime, settle, valueOf } from "../support/mocks";

// The examples run as programs: stack config set as `pulumi config` would, the program imported
// under the mock runtime (remote commands answer as the preflight prints a host's facts), and the
// resources it registers read back.
const FACTS = 'facts {"hostname":"","caCertDirs":["/etc/ca-certificates"],"resolvConf":""}';
const runtime = new MockRuntime(async type => (type === "command:remote:Command" ? { stdout: FACTS, stderr: "" } : undefined));

/** Runs examples/<dir> until its cluster's last resource (CoreDNS's Service, `<name>-addons-…`) has registered. */
async function runExample(dir: string, name: string, config: Record<string, unknown>, secrets: string[]): Promise<any> {
    await runtime.start();
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [`project:${k}`, typeof v === "string" ? v : JSON.stringify(v)])),
        secrets.map(k => `project:${k}`),
    );
    let program: any;
    jest.isolateModules(() => { program = require(`../../examples/${dir}`); });
    await runtime.registered(`${name}-addons-service-kube-system-kube-dns`);
    let count = -1;
    for (let quiet = 0; quiet < 10; quiet = runtime.registrations.length === count ? quiet + 1 : 0) {
        count = runtime.registrations.length;
        await new Promise(r => setTimeout(r, 50));
        await settle();
    }
    if (runtime.failures.length) throw runtime.failures[0];
    return program;
}
const named = (re: RegExp) => runtime.registrations.filter(r => re.test(r.name)).map(r => r.name).sort();
const stackExample = (dir: string) => yaml.load(fs.readFileSync(path.join(__dirname, `../../examples/${dir}/Pulumi.example.yaml`), "utf8")) as any;

describe("the examples run as programs under the mock runtime", () => {
    test("ha-cluster: its Pulumi.example.yaml gives 3 etcd hosts, 3 control planes behind HAProxy and 2 workers", async () => {
        const example = stackExample("ha-cluster").config;
        const config = Object.fromEntries(Object.entries(example).map(([k, v]) => [k.replace(/^kubeadm-ha-cluster:/, ""), v]));
        delete (config.cluster as any).cni; // the manifest file is the user's
        (config.cluster as any).networking = { podSubnet: "10.200.0.0/16" };
        const program = await runExample("ha-cluster", "ha", { ...config, sshPrivateKey: sshPrivateKey() }, ["sshPrivateKey"]);
        expect(await valueOf(program.endpoint)).toBe("https://k8s-api.example.internal:6443");
        expect(named(/^ha-etcd-.*-install$/)).toEqual(["ha-etcd-etcd-1-install", "ha-etcd-etcd-2-install", "ha-etcd-etcd-3-install"]);
        expect(named(/^ha-control-plane-.*-register-lb-1$/)).toHaveLength(3);
        expect(named(/^ha-workers-.*-join$/)).toEqual(["ha-workers-worker-1-join", "ha-workers-worker-2-join"]);
        // The key from config stays secret on every SSH connection.
        const step = runtime.registrations.find(r => r.name === "ha-workers-worker-1-join")!;
        expect(step.secretInputs).toEqual(expect.arrayContaining(["connection"]));
        // The "cluster" config object reaches the spec.
        expect(await valueOf(program.kubernetesVersion)).toBe("v1.37.2");
        const kubeadmConfig = runtime.registrations.find(r => r.name === "ha-objects-configmap-kube-system-kubeadm-config")!;
        expect(kubeadmConfig.inputs.data.ClusterConfiguration).toContain("podSubnet: 10.200.0.0/16");
        expect((await valueOf<any[]>(program.nodes)).map(n => n.name)).toHaveLength(9);
    });

    test("ha-cluster with sshAgentSocket: no key in the config or on any connection, only the agent's socket (examples/ci's preview)", async () => {
        const config = Object.fromEntries(Object.entries(stackExample("ha-cluster").config).map(([k, v]) => [k.replace(/^kubeadm-ha-cluster:/, ""), v]));
        delete (config.cluster as any).cni;
        await runExample("ha-cluster", "ha", { ...config, sshAgentSocket: "/tmp/pulumi-kubeadm-agent.sock" }, []);
        const steps = runtime.registrations.filter(r => r.type === "command:remote:Command");
        expect(steps.length).toBeGreaterThan(20);
        for (const step of steps) {
            const connection = step.inputs.connection;
            expect([step.name, connection.agentSocketPath, connection.privateKey]).toEqual([step.name, "/tmp/pulumi-kubeadm-agent.sock", undefined]);
        }
    });

    test("single-node: one control plane without the control-plane taint, stacked etcd, no load balancer", async () => {
        const program = await runExample("single-node", "single", { address: "10.0.10.11", hostKey: sshHostKey(), sshPrivateKey: sshPrivateKey() }, ["sshPrivateKey"]);
        expect(await valueOf(program.endpoint)).toBe("https://10.0.10.11:6443");
        const install = runtime.registrations.find(r => r.name === "single-control-plane-node-1-install")!.inputs.create as string;
        const flags = /KUBELET_KUBEADM_ARGS="[^"]*"/.exec(install)![0];
        expect(flags).not.toContain("--register-with-taints");
        expect(install).toContain("tmp=$(tmpfile /etc/kubernetes/manifests/etcd.yaml)");
        expect(named(/haproxy|register|etcd-[0-9]/)).toEqual([]);
        expect(named(/^single-control-plane-etcd-health$/)).toHaveLength(1);
    });

    test("small-cluster: its Pulumi.example.yaml gives one control plane with stacked etcd and two workers, no load balancer", async () => {
        const example = stackExample("small-cluster").config;
        const config = Object.fromEntries(Object.entries(example).map(([k, v]) => [k.replace(/^kubeadm-small-cluster:/, ""), v]));
        const program = await runExample("small-cluster", "small", { ...config, sshPrivateKey: sshPrivateKey() }, ["sshPrivateKey"]);
        expect(await valueOf(program.endpoint)).toBe("https://10.0.10.11:6443");
        expect(runtime.registrations.find(r => r.name === "small-control-plane-cp-1-install")!.inputs.create).toContain("tmp=$(tmpfile /etc/kubernetes/manifests/etcd.yaml)");
        expect(named(/haproxy|register|^small-etcd-etcd/)).toEqual([]);
        expect(named(/^small-workers-.*-join$/)).toEqual(["small-workers-worker-1-join", "small-workers-worker-2-join"]);
    });

    test("stacked-kube-vip: etcd on the control planes, kube-vip on each, workers joining at the VIP", async () => {
        const hosts = [
            { name: "cp-1", address: "10.0.10.11", roles: ["control-plane"] },
            { name: "cp-2", address: "10.0.10.12", roles: ["control-plane"] },
            { name: "cp-3", address: "10.0.10.13", roles: ["control-plane"] },
            { name: "worker-1", address: "10.0.30.21", roles: ["worker"] },
        ];
        const program = await runExample("stacked-kube-vip", "stacked", { vip: "10.0.10.5", hosts, knownHosts: hosts.map(h => `${h.address} ${sshHostKey()}`).join("\n"), sshPrivateKey: sshPrivateKey() }, ["sshPrivateKey"]);
        expect(await valueOf(program.joinCommand)).toMatch(/^kubeadm join 10\.0\.10\.5:6443 --token [a-z0-9]{6}\.[a-z0-9]{16} --discovery-token-ca-cert-hash sha256:[0-9a-f]{64}$/);
        expect(named(/-register-kube-vip$/)).toEqual(["stacked-control-plane-cp-1-register-kube-vip", "stacked-control-plane-cp-2-register-kube-vip", "stacked-control-plane-cp-3-register-kube-vip"]);
        // No etcd hosts: only the snapshot before a version change, on the first control plane.
        expect(named(/^stacked-etcd-/)).toEqual(["stacked-etcd-snapshot"]);
        expect(runtime.registrations.find(r => r.name === "stacked-control-plane-cp-2-install")!.inputs.create).toContain("etcd_api cluster/member/add");
    });

    test("worker-join: more workers for a running cluster from its endpoint, CA hash and a token in secret config", async () => {
        await runtime.start();
        const hash = `sha256:${"5f".repeat(32)}`;
        pulumi.runtime.setAllConfig({
            "project:controlPlaneEndpoint": "k8s-api.example.internal:6443", "project:caCertHash": hash, "project:joinToken": "abcdef.q1w2e3r4t5y6u7i8",
            "project:sshPrivateKey": sshPrivateKey(), "project:hosts": JSON.stringify([{ name: "gpu-1", address: "10.0.30.41" }]),
            "project:knownHosts": `10.0.30.41 ${sshHostKey()}`,
        }, ["project:joinToken", "project:sshPrivateKey"]);
        let program: any;
        jest.isolateModules(() => { program = require("../../examples/worker-join"); });
        expect(await Promise.race([valueOf(program.joined), runtime.failure])).toEqual(["gpu-1"]);
        const join = runtime.registrations.find(r => r.name === "workers-gpu-1-join")!;
        expect(join.inputs.create).toContain(`pins=(${hash})`);
        expect(join.inputs.create).not.toContain("q1w2e3r4t5y6u7i8");
        expect(join.secretInputs).toEqual(expect.arrayContaining(["stdin", "connection"]));
    });

    test("yaml: every resource type and property the YAML program uses is in the provider's schema", () => {
        const program = yaml.load(fs.readFileSync(path.join(__dirname, "../../examples/yaml/Pulumi.yaml"), "utf8")) as any;
        const schema = JSON.parse(fs.readFileSync(path.join(__dirname, "../../schema.json"), "utf8"));
        expect(program.runtime).toBe("yaml");
        expect(Object.keys(program.packages)).toEqual([schema.name]);
        const unknown: string[] = [];
        const check = (value: any, props: Record<string, any>, where: string) => {
            for (const [k, v] of Object.entries<any>(value)) {
                const p = props[k];
                if (!p) { unknown.push(`${where}.${k}`); continue; }
                const ref = p.$ref ?? p.items?.$ref;
                if (!ref || typeof v !== "object") continue;
                const type = schema.types[ref.replace("#/types/", "")];
                for (const [i, item] of (Array.isArray(v) ? v : [v]).entries()) check(item, type.properties, `${where}.${k}${Array.isArray(v) ? `[${i}]` : ""}`);
            }
        };
        for (const [name, r] of Object.entries<any>(program.resources)) {
            const resource = schema.resources[r.type];
            expect([name, resource?.isComponent]).toEqual([name, true]);
            for (const req of resource.requiredInputs) expect(Object.keys(r.properties)).toContain(req);
            check(r.properties, resource.inputProperties, name);
        }
        expect(unknown).toEqual([]);
        for (const out of Object.values<string>(program.outputs)) {
            const [, res, prop] = /^\$\{(\w+)\.(\w+)\}$/.exec(out)!;
            expect(Object.keys(schema.resources[program.resources[res].type].properties)).toContain(prop);
        }
    });
});
