import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import yaml from "js-yaml";
import { ControlPlane } from "../../components/control-plane";
import { externalLoadBalancerScript } from "../../render/load-balancer-scripts";
import { ClusterSpec } from "../../spec/types";
import { controlPlaneProgram } from "../support/control-plane";
import { haSpec } from "../support/fixtures";
import { MockRuntime, Registration, settle, valueOf } from "../support/mocks";
import { tempDir } from "../support/openssl";

// Remote commands do not run here: preflights answer with a host's facts, as the real script prints them.
const FACTS = 'facts {"hostname":"%s","caCertDirs":["/etc/ca-certificates","/usr/share/ca-certificates"],"resolvConf":""}';
let drainRun = "ran at 1";
const runtime = new MockRuntime(async (type, inputs, name) => {
    if (type !== "command:remote:Command" && type !== "command:local:Command") return undefined;
    const node = /-(cp-\d)-preflight$/.exec(name)?.[1];
    return { stdout: node ? FACTS.replace("%s", node) : name.includes("-deregister-") ? `deregistered\n${drainRun}` : "ok", stderr: "" };
});
beforeEach(() => runtime.start());

const program = controlPlaneProgram;

const byName = (name: string): Registration => {
    const r = runtime.registrations.find(x => x.name === name);
    if (!r) throw new Error(`no registration ${name}: ${runtime.registrations.map(x => x.name).join(", ")}`);
    return r;
};
const urnOf = (name: string) => byName(name).urn;

async function run(spec: ClusterSpec): Promise<ControlPlane> {
    const cp = program(spec);
    await valueOf(cp.ready);
    await settle();
    return cp;
}

describe("ControlPlane under the mock runtime", () => {
    test("per control plane: preflight, deregister, install, readiness gate, register; few resources per node", async () => {
        await run(haSpec());
        const steps = runtime.resources.filter(r => r.name.startsWith("cp-cp-1-")).map(r => r.name).sort();
        expect(steps).toEqual(["cp-cp-1-deregister-lb-1", "cp-cp-1-install", "cp-cp-1-preflight", "cp-cp-1-ready", "cp-cp-1-register-lb-1", "cp-cp-1-upgraded"]);
        expect(runtime.resources.filter(r => r.name.startsWith("cp-") && !r.name.startsWith("cp-cp-")).map(r => r.name).sort())
            .toEqual(["cp-encryption-at-rest", "cp-encryption-seed", "cp-lb-1-haproxy"]);
    });

    test("order: every preflight before any install; each node after the previous one's registration; registration after the gate and HAProxy", async () => {
        await run(haSpec());
        const preflights = ["cp-cp-1", "cp-cp-2", "cp-cp-3"].map(n => urnOf(`${n}-preflight`));
        for (const n of ["cp-1", "cp-2", "cp-3"]) {
            expect(byName(`cp-${n}-install`).dependsOn).toEqual(expect.arrayContaining([...preflights, urnOf(`cp-${n}-deregister-lb-1`)]));
            expect(byName(`cp-${n}-ready`).dependsOn).toContain(urnOf(`cp-${n}-install`));
            expect(byName(`cp-${n}-register-lb-1`).dependsOn).toEqual(expect.arrayContaining([urnOf(`cp-${n}-ready`), urnOf("cp-lb-1-haproxy")]));
            expect(byName(`cp-${n}-preflight`).dependsOn.filter(u => u.includes("command:"))).toEqual([]);
        }
        for (const n of ["cp-1", "cp-2", "cp-3"]) expect(byName(`cp-${n}-upgraded`).dependsOn).toContain(urnOf(`cp-${n}-register-lb-1`));
        // The next node waits for the previous one's verdict (after its registration): a rolled-back node stops the run.
        expect(byName("cp-cp-2-deregister-lb-1").dependsOn).toContain(urnOf("cp-cp-1-upgraded"));
        expect(byName("cp-cp-3-install").dependsOn).toContain(urnOf("cp-cp-2-upgraded"));
    });

    test("with nodePreparation alone: each control plane's preparation after every control plane's preflight; the load balancer and every install after every preparation", async () => {
        await run(haSpec({ nodePreparation: { installer: "command", command: "echo install-kubelet-marker" } }));
        const nodes = ["cp-1", "cp-2", "cp-3"];
        const preflights = nodes.map(n => urnOf(`cp-${n}-preflight`));
        const preparations = nodes.map(n => urnOf(`cp-${n}-prepare`));
        for (const n of nodes) {
            expect(byName(`cp-${n}-preflight`).inputs.create).not.toContain("install-kubelet-marker");
            expect(byName(`cp-${n}-prepare`).inputs.create).toContain("install-kubelet-marker");
            expect(byName(`cp-${n}-prepare`).dependsOn).toEqual(expect.arrayContaining(preflights));
            expect(preparations.some(u => byName(`cp-${n}-prepare`).dependsOn.includes(u))).toBe(false);
            expect(byName(`cp-${n}-deregister-lb-1`).dependsOn).toEqual(expect.arrayContaining(preparations));
        }
        expect(byName("cp-lb-1-haproxy").dependsOn).toEqual(expect.arrayContaining(preparations));
    });

    test("after any deregistration the gate and the registration run again, even for the same install (a failed change reverted)", async () => {
        // Their command text names the deregistration's output, which differs on every run of it.
        const mark = (run: string) => `-${createHash("sha256").update(`deregistered\n${run}`).digest("hex").slice(0, 8)}`;
        for (const stamp of ["ran at 1", "ran at 2"]) {
            drainRun = stamp;
            await runtime.start();
            await run(haSpec());
            expect(byName("cp-cp-2-ready").inputs.create).toContain(`# checks after: `);
            expect(byName("cp-cp-2-ready").inputs.create).toContain(mark(stamp));
            expect(byName("cp-cp-2-register-lb-1").inputs.create).toContain(mark(stamp));
            expect(byName("cp-cp-2-install").inputs.create).not.toContain(mark(stamp));
        }
        drainRun = "ran at 1";
    });

    test("secrets travel on stdin only: install steps log nothing and keep their output secret; keys come from a 32-byte random seed", async () => {
        await run(haSpec());
        for (const n of ["cp-1", "cp-2", "cp-3"]) {
            const install = byName(`cp-${n}-install`);
            expect(install.inputs.create).not.toMatch(/PRIVATE KEY|client-key-data|aescbc/);
            expect(install.secretInputs).toContain("stdin");
            expect(install.inputs.logging).toBe("none");
            expect(install.additionalSecretOutputs).toEqual(expect.arrayContaining(["stdout", "stderr"]));
            expect(install.inputs.stdin).toMatch(/^\/etc\/kubernetes\/pki\/ca\.key /m);
            expect(install.inputs.stdin).toMatch(/^\/etc\/kubernetes\/enc\/encryption-config\.yaml /m);
        }
        expect(byName("cp-encryption-seed").inputs.length).toBe(32);
        expect(byName("cp-cp-2-install").inputs.stdin).not.toMatch(/super-admin\.conf/);
        expect(byName("cp-cp-1-install").inputs.stdin).toMatch(/^\/etc\/kubernetes\/super-admin\.conf /m);
    });

    test("raising keyVersion: add second on each node, make first on each node, rewrite, then the installs drop the old key", async () => {
        await run(haSpec({ encryptionAtRest: { keyVersion: 2 } }));
        const around = (step: string) => [`${step}-deregister-lb-1`, step, `${step}-register-lb-1`];
        const names = [...["add-cp-1", "add-cp-2", "add-cp-3", "promote-cp-1", "promote-cp-2", "promote-cp-3"].flatMap(st => around(`cp-key2-${st}`)), "cp-key2-rewrite"];
        for (let i = 1; i < names.length; i++) {
            const deps = byName(names[i]).dependsOn.filter(u => u.includes("command:remote"));
            expect(deps).toContain(urnOf(names[i - 1]));
            for (const later of names.slice(i)) expect(deps).not.toContain(urnOf(later));
        }
        expect(byName("cp-key2-add-cp-2-register-lb-1").inputs.delete).toBeUndefined();
        expect(byName(names[0]).dependsOn).toEqual(expect.arrayContaining(["cp-cp-1", "cp-cp-2", "cp-cp-3"].map(n => urnOf(`${n}-preflight`))));
        for (const n of ["cp-1", "cp-2", "cp-3"]) expect(byName(`cp-${n}-install`).dependsOn).toContain(urnOf("cp-key2-rewrite"));
        const configOf = (name: string) => yaml.load(Buffer.from(/^\/etc\/kubernetes\/enc\/encryption-config\.yaml (\S+)$/m.exec(byName(name).inputs.stdin)![1], "base64").toString()) as any;
        const keys = (name: string) => configOf(name).resources[0].providers[0].aescbc.keys.map((k: any) => k.name);
        expect(keys("cp-key2-add-cp-2")).toEqual(["key1", "key2"]);
        expect(keys("cp-key2-promote-cp-2")).toEqual(["key2", "key1"]);
        expect(keys("cp-cp-2-install")).toEqual(["key2"]);
        expect(runtime.resources.filter(r => r.type === "random:index/randomBytes:RandomBytes").map(r => r.name)).toEqual(["cp-encryption-seed"]);
        const secretOf = (name: string, index: number) => configOf(name).resources[0].providers[0].aescbc.keys[index].secret;
        expect(secretOf("cp-key2-add-cp-1", 0)).toBe(secretOf("cp-key2-promote-cp-1", 1));
        expect(secretOf("cp-key2-add-cp-1", 1)).toBe(secretOf("cp-cp-1-install", 0));
        expect(secretOf("cp-key2-add-cp-1", 0)).not.toBe(secretOf("cp-key2-add-cp-1", 1));
        expect(Buffer.from(secretOf("cp-cp-1-install", 0), "base64")).toHaveLength(32);
    });

    test("kube-vip: a static pod placed on each control plane after its gate, super-admin.conf on the first only (until the cluster-admins binding exists)", async () => {
        const spec = haSpec({ controlPlaneEndpoint: "10.0.10.5:6443", loadBalancer: { type: "kube-vip", kubeVip: { interface: "eth0" } } });
        spec.hosts = spec.hosts.filter(h => !h.roles.includes("load-balancer"));
        await run(spec);
        // The manifest placed while the host has no record of the cluster-admins binding (the last one in the step; cp-1's other one mounts admin.conf).
        const manifestOf = (n: string) => {
            const text = byName(`cp-${n}-register-kube-vip`).inputs.create as string;
            const start = text.lastIndexOf("apiVersion: v1");
            return yaml.load(text.slice(start, text.indexOf("\nEOF_", start)).replace(/\n$/, "")) as any;
        };
        const first = manifestOf("cp-1");
        const env = Object.fromEntries(first.spec.containers[0].env.map((e: any) => [e.name, e.value ?? e.valueFrom]));
        expect(env).toMatchObject({ vip_arp: "true", port: "6443", vip_interface: "eth0", address: "10.0.10.5", cp_enable: "true", vip_leaderelection: "true", vip_leasename: "plndr-cp-lock" });
        expect(env.vip_nodename).toEqual({ fieldRef: { fieldPath: "spec.nodeName" } });
        // Metrics on the node's own address (kube-vip's default, ":2112", is every interface).
        expect([env.prometheus_server, manifestOf("cp-2").spec.containers[0].env.find((e: any) => e.name === "prometheus_server").value]).toEqual(["10.0.10.11:2112", "10.0.10.12:2112"]);
        expect(first.spec.volumes[0].hostPath.path).toBe("/etc/kubernetes/super-admin.conf");
        expect(manifestOf("cp-2").spec.volumes[0].hostPath.path).toBe("/etc/kubernetes/admin.conf");
        expect(byName("cp-cp-2-register-kube-vip").dependsOn).toContain(urnOf("cp-cp-2-ready"));
        expect(byName("cp-cp-2-register-kube-vip").inputs.delete).toContain("rm -f /etc/kubernetes/manifests/kube-vip.yaml");
        // Its delete removes kube-vip only while it placed it last (a renamed step's new one did not since), and another control plane is ready.
        expect(byName("cp-cp-2-register-kube-vip").inputs.delete).toContain("project/stack/cp-cp-2-register-kube-vip");
        expect(byName("cp-cp-2-register-kube-vip").inputs.create).toContain("project/stack/cp-cp-2-register-kube-vip");
        expect(byName("cp-cp-2-register-kube-vip").inputs.delete).toContain("https://10.0.10.11:6443/readyz");
    });

    test("HAProxy: a register step's delete takes its server out only once haproxy.cfg no longer lists it", async () => {
        await run(haSpec());
        expect(byName("cp-cp-2-register-lb-1").inputs.delete).toMatch(/if grep -qE '\^\[\[:space:\]\]\*server cp-2\[\[:space:\]\]' \/etc\/haproxy\/haproxy\.cfg/);
        expect(byName("cp-cp-2-deregister-lb-1").inputs.create).not.toContain("still a server in");
    });

    test("an external load balancer: the user's commands run where Pulumi runs, the deregister one on delete", async () => {
        const spec = haSpec({ loadBalancer: { type: "external", external: { registerCommand: "lb add {{name}} {{address}}:{{port}}", deregisterCommand: "lb remove {{address}}" } } });
        spec.hosts = spec.hosts.filter(h => !h.roles.includes("load-balancer"));
        await run(spec);
        const register = byName("cp-cp-3-register-external");
        expect(register.type).toBe("command:local:Command");
        expect(register.inputs.create).toContain("lb add cp-3 10.0.10.13:6443");
        expect(register.inputs.delete).toContain("lb remove 10.0.10.13");
        expect(byName("cp-cp-3-deregister-external").inputs.create).toContain("lb remove 10.0.10.13");
    });

    test("preview registers the whole plan without running anything", async () => {
        await runtime.start({ preview: true });
        const cp = program(haSpec());
        await settle(20);
        expect(runtime.resources.filter(r => r.name.startsWith("cp-cp-")).length).toBe(18);
        expect(cp).toBeDefined();
    });

    test("encryption disabled: plaintext is written first, but what the keys encrypted stays readable; no rotation", async () => {
        await run(haSpec({ encryptionAtRest: { disabled: true, keyVersion: 2 } }));
        const config = yaml.load(Buffer.from(/^\/etc\/kubernetes\/enc\/encryption-config\.yaml (\S+)$/m.exec(byName("cp-cp-1-install").inputs.stdin)![1], "base64").toString()) as any;
        expect(config.resources[0].providers[0]).toEqual({ identity: {} });
        expect(config.resources[0].providers[1].aescbc.keys.map((k: any) => k.name)).toEqual(["key2", "key1"]);
        expect(runtime.resources.filter(r => r.name.startsWith("cp-key2-"))).toEqual([]);
    });

    test("a node that is not a control plane, or missing etcd endpoints, is an error naming what to pass", () => {
        const spec = haSpec();
        expect(() => new ControlPlane("x", { ...spec, pki: {} as any })).toThrow(/etcdClientEndpoints is required with etcd.topology "dedicated": pass EtcdCluster's clientEndpoints/);
        expect(runtime.named("x")).toEqual([]);
    });
});

describe("external load-balancer commands, run by bash", () => {
    test("values are substituted shell-quoted; a failing command names the node and the command", () => {
        const dir = tempDir("lb-cmd-");
        try {
            const out = path.join(dir.dir, "targets");
            const script = externalLoadBalancerScript(`printf '%s\\n' {{name}} {{address}} {{port}} >> ${out}`, { name: "cp-1", address: "fd00::11", port: 6443 }, { host: "local", step: "register cp-1" });
            expect(spawnSync("bash", ["-c", script], { encoding: "utf8" }).status).toBe(0);
            expect(fs.readFileSync(out, "utf8")).toBe("cp-1\nfd00::11\n6443\n");
            const failing = spawnSync("bash", ["-c", externalLoadBalancerScript("false {{name}}", { name: "cp-2", address: "10.0.10.12", port: 6443 }, { host: "local", step: "register cp-2" })], { encoding: "utf8" });
            expect(failing.status).toBe(1);
            // The command is not echoed: a template may carry credentials.
            const secret = spawnSync("bash", ["-c", externalLoadBalancerScript("curl -s -H 'Authorization: Bearer s3cr3t' http://127.0.0.1:9/{{name}}", { name: "cp-2", address: "10.0.10.12", port: 6443 }, { host: "local", step: "register cp-2" })], { encoding: "utf8" });
            expect(failing.stderr).toBe("[local] register cp-2: the load balancer command (loadBalancer.external's template for this step) failed for cp-2 (10.0.10.12:6443) with exit status 1; what it printed is above\n");
            expect([secret.status, secret.stderr]).toEqual([1, "[local] register cp-2: the load balancer command (loadBalancer.external's template for this step) failed for cp-2 (10.0.10.12:6443) with exit status 7; what it printed is above\n"]);
        } finally {
            dir.remove();
        }
    });
});
