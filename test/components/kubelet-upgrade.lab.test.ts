import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../../components/cluster";
import { controlPlaneKubeletScript, KUBELET_RESTART_PENDING } from "../../render/kubelet-upgrade";
import { ClusterSpec, HostSpec } from "../../spec/types";
import { haproxyBackends, Lab, labHosts } from "../lab/lab";
import { CommandRun, LabCommandRunner } from "../lab/runtime";
import { deployInLab } from "../support/lab-deploy";
import { EngineState } from "../support/mocks";
import { LAB_SKIPS } from "../../scripts/rehearsal-config";

// The kubelets' part of an upgrade in the lab: 2 control planes (stacked etcd) behind HAProxy and 3
// workers, deployed at v1.36.5, then upgraded to v1.37.0 with upgrade.maxUnavailable 2. kubectl is
// the machine's own, run on the control planes with their admin.conf against the kube-apiserver
// stand-in's Nodes, Pods and evictions (test/lab/cluster-api.js); the kubelet stand-in reports its
// Node and version there. The installer is the user's command of nodePreparation: here it sets the
// version the kubelet stand-in runs (what apt-get install kubelet=… does on a real host) and logs it.
const HOSTS = labHosts(["cp-1", "cp-2", "worker-1", "worker-2", "worker-3", "lb-1"]);
const LB = HOSTS.find(h => h.name === "lb-1")!;
const WORKERS = ["worker-1", "worker-2", "worker-3"];
const SKIPPED = LAB_SKIPS;
const role = (name: string) => (name.startsWith("cp") ? "control-plane" : name.startsWith("worker") ? "worker" : "load-balancer");
const INSTALLER = `sed -i "s/^LAB_KUBELET_VERSION=.*/LAB_KUBELET_VERSION=$KUBERNETES_VERSION/" /var/lib/lab/lab.env
echo "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ) kubelet kubectl $KUBERNETES_VERSION" >> /var/lib/lab/installs.log`;

let lab: Lab;
let runner: LabCommandRunner;
const state: EngineState = new Map();
let spec: (version: string, upgrade?: ClusterSpec["upgrade"]) => ClusterSpec;
let installed: { runs: CommandRun[]; failures: Error[] };

const up = (s: ClusterSpec) => deployInLab(runner, state, "k-deployed-versions", () => new Cluster("k", s));

const clusterFile = (...p: string[]) => path.join(lab.clusterDir, ...p);
const events = (): any[] => (fs.existsSync(clusterFile("events.log")) ? fs.readFileSync(clusterFile("events.log"), "utf8").trim().split("\n").map(l => JSON.parse(l)) : []);
/** A Pod of a ReplicaSet (kubectl drain evicts those; a pod with no controller needs --force). */
function placePod(name: string, node: string, labels: Record<string, string> = { app: name }): void {
    fs.mkdirSync(clusterFile("pods", "default"), { recursive: true });
    fs.writeFileSync(clusterFile("pods", "default", `${name}.json`), JSON.stringify({
        kind: "Pod", apiVersion: "v1",
        metadata: { name, namespace: "default", uid: `uid-${name}`, labels, ownerReferences: [{ apiVersion: "apps/v1", kind: "ReplicaSet", name: `${name}-rs`, uid: `rs-${name}`, controller: true }] },
        spec: { nodeName: node, containers: [{ name: "c", image: "registry.k8s.io/pause:3.10" }] },
        status: { phase: "Running" },
    }));
}
/** The machine's kubectl, with cp-1's admin.conf, from inside cp-1. */
async function kubectl(...args: string[]): Promise<string> {
    const r = await lab.exec("cp-1", `kubectl --kubeconfig=/etc/kubernetes/admin.conf ${args.map(a => `'${a}'`).join(" ")}`);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
}
const kubeletVersion = async (host: string) => (await lab.exec(host, "kubelet --version")).stdout.trim();
/** From the API's record of patches: [node, unschedulable, time] in order. */
const cordons = () => events().filter(e => e.verb === "patch" && e.patch.spec && "unschedulable" in e.patch.spec)
    .map(e => [e.node, e.patch.spec.unschedulable === true, Date.parse(e.at)] as [string, boolean, number]);

beforeAll(async () => {
    lab = await Lab.start(HOSTS, { kubeletVersion: "1.36.5", tlsBootstrap: true });
    runner = new LabCommandRunner(lab);
    const hosts: HostSpec[] = HOSTS.map(h => ({
        name: h.name, address: h.address, roles: [role(h.name)],
        ssh: { host: h.address, port: lab.sshPort, privateKey: pulumi.secret(lab.privateKey), hostKey: lab.knownHosts(h.name) },
    }));
    spec = (version, upgrade = { maxUnavailable: 2 }) => ({
        kubernetesVersion: version, controlPlaneEndpoint: `${LB.address}:6443`, networking: { podSubnet: "10.244.0.0/16" }, hosts,
        certificates: { encryptionAlgorithm: "ECDSA-P256" }, ignorePreflightErrors: SKIPPED,
        apiServer: { readinessTimeoutSeconds: 60 }, loadBalancer: { bindAddress: LB.address }, join: { tlsBootstrapTimeoutSeconds: 30 },
        nodePreparation: { installer: "command", command: INSTALLER }, upgrade: { kubeletReadyTimeoutSeconds: 60, ...upgrade },
    });
    installed = await up(spec("v1.36.5"));
    expect(installed.failures).toEqual([]);
}, 600_000);

afterAll(async () => {
    await lab?.stop();
}, 60_000);

describe("kubelets in an upgrade, in the lab: v1.36.5 → v1.37.0, workers two at a time", () => {
    let upgraded: { runs: CommandRun[]; failures: Error[] };
    const run = (name: string) => upgraded.runs.find(r => r.name === name)!;
    const end = (r: CommandRun) => r.startedAt + r.durationMs;

    test("a new cluster: every Node registered with its kubelet's version, and nothing drained", async () => {
        const nodes = JSON.parse(await kubectl("get", "node", "cp-1", "-o", "json"));
        expect(nodes.status.nodeInfo.kubeletVersion).toBe("v1.36.5");
        for (const n of [...WORKERS, "cp-2"]) expect(await kubectl("get", "node", n, "-o", "jsonpath={.status.nodeInfo.kubeletVersion} {.status.conditions[0].status}")).toBe("v1.36.5 True");
        expect(cordons()).toEqual([]);
    }, 60_000);

    test("a new cluster: each upgrade step there is nothing for says so, and why, in one line", () => {
        const upgradeSteps = installed.runs.filter(r => /-(etcd-snapshot|upgrade-preflight|upgraded|kubelet|(uncordon-\d+-)?drain-\d+|uncordon-\d+)$/.test(r.name));
        expect(upgradeSteps.map(r => r.name).sort()).toEqual([
            "k-control-plane-cp-1-kubelet", "k-control-plane-cp-1-upgraded", "k-control-plane-cp-2-kubelet", "k-control-plane-cp-2-upgraded",
            "k-etcd-snapshot", "k-upgrade-preflight", "k-workers-drain-1", "k-workers-uncordon-1-drain-2", "k-workers-uncordon-2",
        ]);
        for (const r of upgradeSteps) expect([r.name, r.stdout.trim()]).toEqual([r.name, expect.stringMatching(/^[^\n]*nothing to [^\n]*$/)]);
    });

    test("the control planes' kubelets one at a time after their static pods, then the workers' in batches of two: drained, upgraded, Ready, uncordoned", async () => {
        placePod("web-1", "worker-1");
        placePod("web-3", "worker-3");
        upgraded = await up(spec("v1.37.0"));
        expect(upgraded.failures).toEqual([]);
        for (const h of ["cp-1", "cp-2", ...WORKERS]) {
            expect([h, await kubeletVersion(h)]).toEqual([h, "Kubernetes v1.37.0"]);
            expect([h, fs.readFileSync(lab.path(h, "/var/lib/lab/installs.log"), "utf8")]).toEqual([h, expect.stringMatching(/ kubelet kubectl 1\.37\.0\n$/)]);
            // Ready with the new version, schedulable, and no trace of the drain left on the Node.
            expect([h, await kubectl("get", "node", h, "-o", "jsonpath={.status.nodeInfo.kubeletVersion}|{.status.conditions[0].status}|{.spec.unschedulable}|{.metadata.annotations.pulumi-kubeadm\\.io/upgrade-drain}")]).toEqual([h, "v1.37.0|True||"]);
        }
        // The workers' pods were evicted by kubectl drain (a ReplicaSet would recreate them elsewhere).
        expect(events().filter(e => e.verb === "evict").map(e => `${e.pod}@${e.node}`).sort()).toEqual(["default/web-1@worker-1", "default/web-3@worker-3"]);
        // Each control plane's kubelet after its static pods and before the next control plane leaves the load balancer.
        expect(end(run("k-control-plane-cp-1-upgraded"))).toBeLessThanOrEqual(run("k-control-plane-cp-1-kubelet").startedAt);
        expect(end(run("k-control-plane-cp-1-kubelet"))).toBeLessThanOrEqual(run("k-control-plane-cp-2-deregister-lb-1").startedAt);
        expect(run("k-control-plane-cp-1-kubelet").stdout).toMatch(/\[drain\] cp-1: cordon and drain \(kubelet v1\.36\.5, to v1\.37\.0\)[\s\S]*kubelet and kubectl upgraded to 1\.37\.0 on cp-1\n\[uncordon\] cp-1: kubelet v1\.37\.0, Ready True; uncordoned/);
        // Workers only once every control plane is done; never more than two cordoned at once; worker-3 after worker-1 and worker-2 are back.
        const order = cordons();
        expect(order.map(([n, on]) => `${on ? "cordon" : "uncordon"} ${n}`)).toEqual([
            "cordon cp-1", "uncordon cp-1", "cordon cp-2", "uncordon cp-2",
            "cordon worker-1", "cordon worker-2", "uncordon worker-1", "uncordon worker-2", "cordon worker-3", "uncordon worker-3",
        ]);
        let out = 0;
        for (const [, on] of order) { out += on ? 1 : -1; expect(out).toBeLessThanOrEqual(2); }
        expect(end(run("k-control-plane-cp-2-kubelet"))).toBeLessThanOrEqual(run("k-workers-drain-1").startedAt);
        for (const w of ["worker-1", "worker-2"]) {
            expect(end(run("k-workers-drain-1"))).toBeLessThanOrEqual(run(`k-workers-${w}-join`).startedAt);
            expect(end(run(`k-workers-${w}-join`))).toBeLessThanOrEqual(run("k-workers-uncordon-1-drain-2").startedAt);
        }
        expect(end(run("k-workers-uncordon-1-drain-2"))).toBeLessThanOrEqual(run("k-workers-worker-3-join").startedAt);
        expect(run("k-workers-worker-1-join").stdout).toContain("[upgrade] kubelet and kubectl 1.36.5 → 1.37.0 (command)");
        expect(await haproxyBackends(lab, "lb-1")).toEqual({ "cp-1": "UP", "cp-2": "UP" });
    }, 900_000);

    test("a drain a PodDisruptionBudget blocks stops the upgrade, naming the node and the way out; disableEviction then deletes the pod", async () => {
        placePod("db-0", "worker-1", { app: "db" });
        fs.mkdirSync(clusterFile("pdbs", "default"), { recursive: true });
        fs.writeFileSync(clusterFile("pdbs", "default", "db.json"), JSON.stringify({
            kind: "PodDisruptionBudget", apiVersion: "policy/v1", metadata: { name: "db", namespace: "default" },
            spec: { minAvailable: 1, selector: { matchLabels: { app: "db" } } }, status: { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1 },
        }));
        const blocked = await up(spec("v1.37.1", { maxUnavailable: 2, drainTimeoutSeconds: 5 }));
        // Only the drain failed (any other failure shows here whole).
        expect(blocked.failures.map(f => (f.message.startsWith("failed to register new resource k-workers-drain-1 ") ? "k-workers-drain-1" : f.message))).toEqual(["k-workers-drain-1"]);
        expect(blocked.failures[0].message).toMatch(/\[cp-1\] workers' kubelets: drain-1: kubectl drain worker-1 failed: a PodDisruptionBudget allows no disruption of pods\/"db-0" -n "default" \(kubectl: Cannot evict pod as it would violate the pod's disruption budget\): scale its workload up or relax the budget, or set upgrade\.disableEviction to delete such pods, or raise upgrade\.drainTimeoutSeconds \(5s\)\. worker-1 stays cordoned, and no node after it was touched; fix it, then pulumi up again\n/);
        // The control planes went first and are done; no worker's kubelet changed.
        expect(await kubeletVersion("cp-2")).toBe("Kubernetes v1.37.1");
        for (const w of WORKERS) expect([w, await kubeletVersion(w)]).toEqual([w, "Kubernetes v1.37.0"]);
        expect(blocked.runs.map(r => r.name)).not.toContain("k-workers-worker-1-join");
        expect(await kubectl("get", "node", "worker-1", "-o", "jsonpath={.spec.unschedulable}")).toBe("true");

        const forced = await up(spec("v1.37.1", { maxUnavailable: 2, drainTimeoutSeconds: 5, disableEviction: true }));
        expect(forced.failures).toEqual([]);
        expect(events().filter(e => e.verb === "delete").map(e => e.pod)).toEqual(["default/db-0"]);
        for (const w of WORKERS) {
            expect([w, await kubeletVersion(w)]).toEqual([w, "Kubernetes v1.37.1"]);
            expect([w, await kubectl("get", "node", w, "-o", "jsonpath={.spec.unschedulable}")]).toEqual([w, ""]);
        }
    }, 900_000);

    test("a kubelet package installed by a run that stopped before the restart: the next run drains, restarts the kubelet and waits for its Node", async () => {
        // What a run that lost cp-2 between the installer and the restart leaves: kubelet 1.37.2 installed, 1.37.1 running.
        expect((await lab.exec("cp-2", `sed -i "s/^LAB_KUBELET_VERSION=.*/LAB_KUBELET_VERSION=1.37.2/" /var/lib/lab/lab.env && echo 1.37.2 > ${KUBELET_RESTART_PENDING}`)).code).toBe(0);
        expect(await kubeletVersion("cp-2")).toBe("Kubernetes v1.37.2");
        expect(await kubectl("get", "node", "cp-2", "-o", "jsonpath={.status.nodeInfo.kubeletVersion}")).toBe("v1.37.1");
        const script = controlPlaneKubeletScript({
            host: "cp-2", step: "control-plane kubelet upgrade", node: "cp-2", installer: { installer: "command", command: INSTALLER }, version: "v1.37.2",
            drainTimeoutSeconds: 30, disableEviction: false, kubeletReadyTimeoutSeconds: 60,
        });
        const r = await lab.exec("cp-2", script, undefined, 120_000);
        expect([r.code, r.stderr]).toEqual([0, ""]);
        expect(r.stdout).toMatch(/\[drain\] cp-2: cordon and drain \(kubelet v1\.37\.1, to v1\.37\.2\)[\s\S]*\[upgrade\] kubelet 1\.37\.2 was installed by a run that stopped before restarting it: restarting it now[\s\S]*\[uncordon\] cp-2: kubelet v1\.37\.2, Ready True; uncordoned/);
        expect(await kubectl("get", "node", "cp-2", "-o", "jsonpath={.status.nodeInfo.kubeletVersion}|{.spec.unschedulable}")).toBe("v1.37.2|");
        expect(fs.existsSync(lab.path("cp-2", KUBELET_RESTART_PENDING))).toBe(false);
        // Run again: nothing to do.
        const again = await lab.exec("cp-2", script, undefined, 60_000);
        expect([again.code, again.stdout.trim()]).toEqual([0, "kubelet already v1.37.2 on cp-2: nothing to upgrade"]);
    }, 300_000);
});
