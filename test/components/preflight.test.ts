import { Preflight } from "../../components/preflight";
import { haSpec } from "../support/fixtures";
import { MockRuntime, settle, valueOf } from "../support/mocks";

const runtime = new MockRuntime(async type => (type === "command:remote:Command" ? { stdout: "[preflight] all checks passed", stderr: "" } : undefined));

describe("Preflight under the mock runtime: kubeadm's preflight phase alone", () => {
    let reports: { [k: string]: string };
    beforeAll(async () => {
        await runtime.start();
        const p = new Preflight("pf", haSpec({
            etcd: { topology: "dedicated" }, ignorePreflightErrors: ["Swap", "Port-2379"],
            nodePreparation: { installer: "apt" }, apiServer: { bindPort: 8443 },
        }));
        reports = await Promise.race([valueOf(p.reports), runtime.failure]);
        await settle();
    });
    const create = (name: string): string => runtime.registrations.find(r => r.name === name)!.inputs.create;

    test("one check step per host and role (none for a load balancer), nothing else", () => {
        expect(runtime.resources.map(r => r.name).sort()).toEqual([
            "pf-cp-1-control-plane", "pf-cp-2-control-plane", "pf-cp-3-control-plane",
            "pf-etcd-1-etcd", "pf-etcd-2-etcd", "pf-etcd-3-etcd", "pf-worker-1-worker", "pf-worker-2-worker",
        ]);
        expect(Object.keys(reports).sort()).toEqual(["cp-1/control-plane", "cp-2/control-plane", "cp-3/control-plane", "etcd-1/etcd", "etcd-2/etcd", "etcd-3/etcd", "worker-1/worker", "worker-2/worker"]);
    });

    test("the checks of each role with the spec's settings; no node preparation runs (a preflight changes nothing)", () => {
        expect(create("pf-cp-1-control-plane")).toContain("listeners=(8443@10.0.10.11 10257@127.0.0.1 10259@127.0.0.1 10250@10.0.10.11)");
        expect(create("pf-worker-1-worker")).toContain("listeners=(10250@10.0.30.21)");
        expect(create("pf-etcd-1-etcd")).toContain("listeners=(2379@10.0.20.11 2380@10.0.20.11 2381@127.0.0.1)");
        for (const r of runtime.resources) expect(r.inputs.create).not.toMatch(/apt-get|pkgs\.k8s\.io/);
        // The cluster's skip list names every host's checks; an etcd host honours its own only.
        expect(create("pf-cp-1-control-plane")).toContain("ignored=(swap port-2379)");
        expect(create("pf-etcd-1-etcd")).toContain("ignored=(port-2379)");
        // With nodePreparation, what it provides is checked after it, as in a Cluster: each step names those checks. Kubelet
        // upgrades drain from the control planes, so kubectl is among them there (workers need none).
        const later = (name: string) => /\[preflight\] checked after nodePreparation, once every host passed its preflight: ([^'\n]*)/.exec(create(name))?.[1];
        expect(later("pf-cp-1-control-plane")).toBe("CRI, FileExisting-kubelet, FileExisting-crictl, FileContent--proc-sys-net-ipv4-ip_forward, FileContent--proc-sys-net-bridge-bridge-nf-call-iptables, FileExisting-kubectl");
        expect(later("pf-worker-1-worker")).toBe("CRI, FileExisting-kubelet, FileExisting-crictl, FileContent--proc-sys-net-ipv4-ip_forward, FileContent--proc-sys-net-bridge-bridge-nf-call-iptables");
        expect(later("pf-etcd-1-etcd")).toBe("FileExisting-kubelet, CRI");
        for (const r of runtime.resources) expect(r.inputs.create).not.toMatch(/check (CRI|FileExisting-kubelet|FileExisting-kubectl) /);
    });

    test("an invalid spec fails while the program is evaluated", () => {
        expect(() => new Preflight("bad", haSpec({ kubernetesVersion: "v1.12.0" }))).toThrow(/invalid cluster spec \(1 problem\):\n  - kubernetesVersion: "v1.12.0"/);
    });
});
