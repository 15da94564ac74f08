import * as fs from "node:fs";
import * as pulumi from "@pulumi/pulumi";
import { Cluster } from "../../components/cluster";
import { ClusterSpec, HostSpec } from "../../spec/types";
import { haproxyBackends, Lab, labHosts } from "../lab/lab";
import { CommandRun, LabCommandRunner } from "../lab/runtime";
import { deployInLab } from "../support/lab-deploy";
import { EngineState } from "../support/mocks";
import { LAB_SKIPS } from "../../scripts/rehearsal-config";

// A walk of two minors in one pulumi up, in the lab: etcd stacked on 2 control planes behind
// HAProxy, deployed at v1.34.2, then the program at v1.36.2 with upgrade.through ["v1.35.8"]. Both
// control planes must run v1.35.8 before either goes to v1.36.2 (API servers stay within one minor
// of each other), each one at a time behind the load balancer, with kubeadm's backup at each step.
const HOSTS = labHosts(["cp-1", "cp-2", "lb-1"]);
const LB = HOSTS.find(h => h.name === "lb-1")!;
const CONTROL_PLANES = ["cp-1", "cp-2"];
const SKIPPED = LAB_SKIPS;

let lab: Lab;
let runner: LabCommandRunner;
const state: EngineState = new Map();
let spec: (version: string, through?: string[]) => ClusterSpec;

const up = (s: ClusterSpec) => deployInLab(runner, state, "w-deployed-versions", () => new Cluster("w", s));
const apiserverImage = (file: string) => /image: (\S+)/.exec(fs.readFileSync(file, "utf8"))![1];
const backups = (host: string) => fs.readdirSync(lab.path(host, "/etc/kubernetes/tmp")).filter(d => d.startsWith("kubeadm-backup-manifests-")).sort();

beforeAll(async () => {
    lab = await Lab.start(HOSTS, { kubeletVersion: "1.34.2" });
    runner = new LabCommandRunner(lab);
    const hosts: HostSpec[] = HOSTS.map(h => ({
        name: h.name, address: h.address, roles: [h.name.startsWith("cp") ? "control-plane" : "load-balancer"],
        ssh: { host: h.address, port: lab.sshPort, privateKey: pulumi.secret(lab.privateKey), hostKey: lab.knownHosts(h.name) },
    }));
    spec = (version, through) => ({
        kubernetesVersion: version, controlPlaneEndpoint: `${LB.address}:6443`, networking: { podSubnet: "10.244.0.0/16" }, hosts,
        certificates: { encryptionAlgorithm: "ECDSA-P256" }, ignorePreflightErrors: SKIPPED,
        apiServer: { readinessTimeoutSeconds: 60 }, loadBalancer: { bindAddress: LB.address },
        ...(through ? { upgrade: { through } } : {}),
    });
    const installed = await up(spec("v1.34.2"));
    expect(installed.failures).toEqual([]);
}, 600_000);

afterAll(async () => {
    await lab?.stop();
}, 60_000);

test("v1.34.2 → v1.36.2 through v1.35.8: every control plane at v1.35.8, one at a time, before any goes to v1.36.2", async () => {
    const { runs, failures } = await up(spec("v1.36.2", ["v1.35.8"]));
    expect(failures).toEqual([]);
    const run = (name: string) => {
        const r = runs.find(x => x.name === name);
        if (!r) throw new Error(`no run of ${name}: ${runs.map(x => x.name).join(", ")}`);
        return r;
    };
    const end = (r: CommandRun) => r.startedAt + r.durationMs;
    // The order: each control plane out, at v1.35.8, ready, back in, one at a time; then the same at v1.36.2.
    const order = [
        ...CONTROL_PLANES.flatMap(cp => ["deregister-lb-1", "install", "ready", "register-lb-1"].map(s => `w-control-plane-${cp}-via-v1.35.8-${s}`)),
        ...CONTROL_PLANES.flatMap(cp => ["deregister-lb-1", "install", "ready", "register-lb-1"].map(s => `w-control-plane-${cp}-${s}`)),
    ];
    for (let i = 1; i < order.length; i++) expect([order[i - 1], order[i], end(run(order[i - 1])) <= run(order[i]).startedAt]).toEqual([order[i - 1], order[i], true]);
    for (const cp of CONTROL_PLANES) {
        expect([cp, apiserverImage(lab.path(cp, "/etc/kubernetes/manifests/kube-apiserver.yaml"))]).toEqual([cp, "registry.k8s.io/kube-apiserver:v1.36.2"]);
        // kubeadm's backup at each step: what ran at v1.34.2, then at v1.35.8.
        const [first, second] = backups(cp);
        expect([cp, apiserverImage(lab.path(cp, `/etc/kubernetes/tmp/${first}/kube-apiserver.yaml`)), apiserverImage(lab.path(cp, `/etc/kubernetes/tmp/${second}/kube-apiserver.yaml`))])
            .toEqual([cp, "registry.k8s.io/kube-apiserver:v1.34.2", "registry.k8s.io/kube-apiserver:v1.35.8"]);
    }
    expect(await haproxyBackends(lab, "lb-1")).toEqual({ "cp-1": "UP", "cp-2": "UP" });
    expect(JSON.parse(state.get("pulumi:index:Stash::w-deployed-versions")!.inputs).input.kubernetesVersion).toBe("v1.36.2");
}, 900_000);
