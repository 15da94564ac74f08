// `npm run bench`: program-evaluation time and peak memory of a Cluster under Pulumi's mock
// runtime, for 3 control planes (3 etcd hosts, 1 load balancer) and 10, 100 and 1,000 workers,
// and the number of Pulumi resources per worker and per control plane; then the same with
// nodePreparation, whose kubelet upgrades add a step per control plane and a rollout step per batch
// of workers (upgrade.maxUnavailable 1: one per worker); then with every host's key trusted on first
// use (a recording step per host) instead of pinned key lines. Each size runs in its own process (the
// mock runtime is process-wide), so peak RSS is that program's alone.
import { spawnSync } from "node:child_process";
import { ClusterSpec, HostSpec } from "../spec/types";
import { sshHostKey, sshPrivateKey } from "../test/support/fixtures";

type Mode = "" | "installer" | "tofu";

const FACTS = 'facts {"hostname":"%s","caCertDirs":["/etc/ca-certificates"],"resolvConf":""}';

function spec(workers: number, mode: Mode): ClusterSpec {
    const key = sshPrivateKey();
    const pin = mode === "tofu" ? { trustOnFirstUse: true } : { hostKey: sshHostKey() };
    const host = (name: string, address: string, roles: string[]): HostSpec => ({ name, address, roles, ssh: { privateKey: key, ...pin } });
    return {
        kubernetesVersion: "v1.37.2",
        controlPlaneEndpoint: "k8s-api.example.internal:6443",
        networking: { podSubnet: "10.244.0.0/16" },
        etcd: { topology: "dedicated" },
        hosts: [
            ...[1, 2, 3].map(i => host(`etcd-${i}`, `10.0.20.${10 + i}`, ["etcd"])),
            ...[1, 2, 3].map(i => host(`cp-${i}`, `10.0.10.${10 + i}`, ["control-plane"])),
            host("lb-1", "10.0.10.10", ["load-balancer"]),
            ...Array.from({ length: workers }, (_, i) => host(`worker-${i + 1}`, `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, ["worker"])),
        ],
        ...(mode === "installer" ? { nodePreparation: { installer: "apt" } } : {}),
    };
}

async function measure(workers: number, mode: Mode): Promise<void> {
    const { MockRuntime, settle } = await import("../test/support/mocks");
    const runtime = await new MockRuntime(async (type, _inputs, name) => {
        if (type !== "command:remote:Command") return undefined;
        if (name.endsWith("-host-key")) return { stdout: sshHostKey(), stderr: "" };
        const node = /-((?:cp|worker)-\d+)-preflight$/.exec(name)?.[1];
        return { stdout: node ? FACTS.replace("%s", node) : "ok", stderr: "" };
    }).start();
    const { Cluster } = await import("../components/cluster");
    const start = process.hrtime.bigint();
    new Cluster("c", spec(workers, mode));
    // The Cluster's last step (after every other), then until nothing more registers for 0.5 s. A quiet time alone ended
    // early on a loaded machine, while real keys were being generated, and printed a part of the program.
    await runtime.registered("c-deployed-versions");
    let last = -1;
    for (let quiet = 0; quiet < 20; quiet = runtime.registrations.length === last ? quiet + 1 : 0) {
        last = runtime.registrations.length;
        await new Promise(r => setTimeout(r, 25));
        await settle();
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9 - 20 * 0.025;
    if (runtime.failures.length) throw runtime.failures[0];
    const resources = runtime.resources;
    // A worker's own steps, and its share of the rollout steps (one per batch, and one more).
    const rollout = resources.filter(r => /-workers-(drain|uncordon)-/.test(r.name)).length;
    const perWorker = resources.filter(r => /-worker-1-/.test(r.name)).length + rollout / workers;
    const perControlPlane = resources.filter(r => /-cp-2(-|$)/.test(r.name) && !r.name.startsWith("c-pki-")).length;
    process.stdout.write(JSON.stringify({
        workers, seconds: Number(seconds.toFixed(2)), peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
        registrations: runtime.registrations.length, resources: resources.length, perWorker: Number(perWorker.toFixed(2)), perControlPlane,
    }) + "\n");
}

/**
 * Until the program's outputs have all resolved (at most 60 s): the runtime fails a process that
 * exits with promises still pending, as it fails a deployment that leaks them.
 */
async function drained(): Promise<boolean> {
    // The runtime's own count of pending promises (internal: its .d.ts exports nothing).
    const { leakedPromises } = require("@pulumi/pulumi/runtime/debuggable") as { leakedPromises?: () => [Set<unknown>, string] };
    if (!leakedPromises) return true;
    for (const deadline = Date.now() + 60_000; Date.now() < deadline;) {
        if (leakedPromises()[0].size === 0) return true;
        await new Promise(r => setTimeout(r, 50));
    }
    return false;
}

if (process.argv[2]) {
    measure(Number(process.argv[2]), (process.argv[3] ?? "") as Mode).then(drained)
        .then(ok => process.exit(ok ? 0 : 1), e => { console.error(e); process.exit(1); });
} else for (const mode of ["", "installer", "tofu"] as Mode[]) {
    const variant = { "": "", installer: "; nodePreparation (kubelet upgrades, maxUnavailable 1)", tofu: "; every host key trusted on first use" }[mode];
    console.log(`Cluster under the mock runtime: 3 etcd hosts, 3 control planes, 1 load balancer, N workers${variant}`);
    console.log("workers  evaluation  peak RSS  resources  per worker  per control plane");
    for (const n of [10, 100, 1000]) {
        const r = spawnSync(process.execPath, [__filename, String(n), mode], { encoding: "utf8", maxBuffer: 16 * 1024 * 1024 });
        const line = r.stdout.trim().split("\n").pop() ?? "";
        if (r.status !== 0 || !line.startsWith("{")) {
            console.error(r.stderr.slice(-2000));
            process.exit(1);
        }
        const m = JSON.parse(line);
        console.log(`${String(m.workers).padStart(7)}  ${`${m.seconds.toFixed(2)} s`.padStart(10)}  ${`${m.peakRssMb} MB`.padStart(8)}  ${String(m.resources).padStart(9)}  ${String(m.perWorker).padStart(10)}  ${String(m.perControlPlane).padStart(16)}`);
    }
}
