import { Cluster, upgradePlanOf } from "../../components/cluster";
import { ClusterSpec } from "../../spec/types";
import { haSpec, host } from "../support/fixtures";
import { EngineState, MockRuntime, Registration, settle } from "../support/mocks";
import { openssl } from "../support/openssl";

// Upgrades under the mock runtime. The runtimes share one state, as the engine's between runs: the
// first deploys (pulumi up), the next ones are previews of a changed program (pulumi preview), or an
// up on a copy of the state. After the first deployment, each preflight finds its node in the cluster.
const FACTS = 'facts {"hostname":"%s","caCertDirs":[],"resolvConf":"","joined":%j}';
/** Whether the preflights find their node in the cluster: not on the first deployment. */
let joined = false;
const state: EngineState = new Map();
const answer = async (type: string, _inputs: Record<string, any>, name: string) => {
    if (type !== "command:remote:Command") return undefined;
    const node = /-((?:cp|worker)-\d)(?:-via-v[0-9.]+)?-preflight$/.exec(name)?.[1];
    return { stdout: node ? FACTS.replace("%s", node).replace("%j", String(joined)) : "ok", stderr: "" };
};
/** The kubelets come from the nodePreparation installer (the user's command here); workers upgrade two at a time. */
const INSTALLER = { nodePreparation: { installer: "command", command: "/opt/site/install-kubernetes" }, upgrade: { maxUnavailable: 2 } };

const spec = (kubernetesVersion: string, overrides: Partial<ClusterSpec> = {}): ClusterSpec => haSpec({
    kubernetesVersion, etcd: { topology: "dedicated" },
    hosts: [
        ...haSpec().hosts.filter(h => !h.roles.includes("worker")),
        ...[1, 2, 3, 4, 5].map(i => host(`worker-${i}`, `10.0.30.${20 + i}`, ["worker"])),
    ],
    ...INSTALLER,
    ...overrides,
});

/** Runs the program to its end; the plan it computed, or the error it failed with. */
async function run(runtime: MockRuntime, s: ClusterSpec, options: { up?: boolean } = {}): Promise<{ plan?: any; error?: Error; registrations: Registration[] }> {
    await runtime.start({ preview: runtime !== deploy && !options.up });
    const c = new Cluster("c", s);
    const out = upgradePlanOf(c) as any;
    // A failed check rejects every promise of the Output (the program then fails, as a preview does); the test reads the value's.
    for (const p of [out.isKnown, out.isSecret]) p.catch(() => undefined);
    const planned = out.promise() as Promise<any>;
    const outcome = await Promise.race([planned.then(plan => ({ plan }), (error: Error) => ({ error })), runtime.failure.catch((error: Error) => ({ error }))]);
    let count = -1;
    // Until nothing has registered for 1.5 s: a component's outputs still on their way would reach the next test's runtime.
    for (let quiet = 0; quiet < 15; quiet = runtime.registrations.length === count ? quiet + 1 : 0) {
        count = runtime.registrations.length;
        await new Promise(r => setTimeout(r, 100));
        await settle();
    }
    return { ...outcome, registrations: [...runtime.registrations] };
}

const deploy = new MockRuntime(answer, state);
let installed: Registration[];

beforeAll(async () => {
    installed = (await run(deploy, spec("v1.33.2"))).registrations;
    joined = true;
}, 120_000);

describe("the recorded deployment and the skew rules, checked in preview", () => {
    test("the deployed versions are recorded once everything else has succeeded", () => {
        const record = installed.find(r => r.name === "c-deployed-versions")!;
        expect(record.inputs.input).toEqual({ kubernetesVersion: "v1.33.2", etcd: "3.5.24-0", coredns: "v1.12.0" });
        const byUrn = new Map(installed.map(r => [r.urn, r.name]));
        expect(record.dependsOn.map(u => byUrn.get(u))).toEqual(expect.arrayContaining(["c-addons-service-kube-system-kube-dns", "c-workers-worker-5-join", "c-workers-uncordon-3", "c-control-plane-cp-3-kubelet"]));
    });

    test("a bump to the next minor: kubeadm's plan table, against the recorded versions", async () => {
        const { plan, error } = await run(new MockRuntime(answer, state), spec("v1.34.1"));
        expect(error).toBeUndefined();
        expect(plan.kind).toBe("minor");
        expect(plan.table).toBe(EXPECTED_TABLE);
    });

    test("a bump to the next minor changes exactly the steps that place or check what the new version changes", async () => {
        const bumped = (await run(new MockRuntime(answer, state), spec("v1.34.1"))).registrations;
        const changed = bumped.filter(r => r.custom && r.type !== "pulumi:index:Stash").filter(r => {
            const before = installed.find(x => x.name === r.name && x.type === r.type);
            return !before || JSON.stringify(before.inputs) !== JSON.stringify(r.inputs);
        }).map(r => r.name).sort();
        const each = (nodes: string[], steps: string[]) => nodes.flatMap(n => steps.map(step => step.replace("%", n)));
        expect(changed).toEqual([
            // The add-ons' images.
            "c-addons-daemonset-kube-system-kube-proxy", "c-addons-deployment-kube-system-coredns",
            // Each control plane: its preflight checks the skew against the kube-apiserver it runs; then out of
            // the load balancer, the new manifests, ready, back in.
            ...each(["cp-1", "cp-2", "cp-3"], ["c-control-plane-%-preflight", "c-control-plane-%-deregister-lb-1", "c-control-plane-%-install", "c-control-plane-%-ready", "c-control-plane-%-register-lb-1"]),
            // Then each control plane's kubelet: drained, upgraded, uncordoned.
            ...each(["cp-1", "cp-2", "cp-3"], ["c-control-plane-%-kubelet"]),
            // kubeadm upgrade's health checks and a snapshot first; then etcd 3.5 → 3.6, one member at a time, then the health gate.
            "c-upgrade-preflight", "c-etcd-snapshot", "c-etcd-etcd-1-install", "c-etcd-etcd-2-install", "c-etcd-etcd-3-install", "c-etcd-health",
            // 1.34's NodeLocalCRISocket: no more CRI-socket annotation.
            "c-mark-control-plane-cp-1", "c-mark-control-plane-cp-2", "c-mark-control-plane-cp-3",
            // upload-config: the new ClusterConfiguration and KubeletConfiguration.
            "c-objects-configmap-kube-system-kubeadm-config", "c-objects-configmap-kube-system-kubelet-config",
            // cluster-info in the new minor's shape (1.34's clientcmd writes no 'preferences: {}'); kubeadm upgrade leaves it as init wrote it.
            "c-objects-configmap-kube-public-cluster-info",
            // The renewed admin.conf and super-admin.conf client certificates reach the API providers (updated, not replaced).
            "c-objects-admin", "c-objects-super-admin",
            // The workers: node preparation (the installer's version) in its own step (a worker's preflight checks nothing
            // the version changes); the kubelets' config, flags and packages in the joins, two at a time between the
            // rollout steps that drain and uncordon them.
            ...each(["worker-1", "worker-2", "worker-3", "worker-4", "worker-5"], ["c-workers-%-prepare", "c-workers-%-join"]),
            "c-workers-drain-1", "c-workers-uncordon-1-drain-2", "c-workers-uncordon-2-drain-3", "c-workers-uncordon-3",
            // Every host's preparation names the new version (the control planes' and workers' keep their kubelet, which
            // changes after the control planes; the etcd hosts' are prepared with it).
            ...each(["cp-1", "cp-2", "cp-3"], ["c-control-plane-%-prepare"]),
            "c-etcd-etcd-1-prepare", "c-etcd-etcd-2-prepare", "c-etcd-etcd-3-prepare",
        ].sort());
    });

    test("the recorded dependencies give kubeadm's order: control planes one at a time (each with its kubelet), the add-ons, then the workers two at a time", async () => {
        const { registrations, error } = await run(new MockRuntime(answer, new Map(state)), spec("v1.34.1"), { up: true });
        expect(error).toBeUndefined();
        const before = happensBefore(registrations);
        const chain = [
            "c-upgrade-preflight", "c-etcd-snapshot", "c-etcd-health",
            ...["cp-1", "cp-2", "cp-3"].flatMap(n => [`c-control-plane-${n}-deregister-lb-1`, `c-control-plane-${n}-install`, `c-control-plane-${n}-ready`,
                `c-control-plane-${n}-register-lb-1`, `c-control-plane-${n}-upgraded`, `c-control-plane-${n}-kubelet`]),
            "c-workers-drain-1", "c-workers-worker-1-join", "c-workers-uncordon-1-drain-2", "c-workers-worker-3-join",
            "c-workers-uncordon-2-drain-3", "c-workers-worker-5-join", "c-workers-uncordon-3", "c-deployed-versions",
        ];
        for (let i = 1; i < chain.length; i++) expect([chain[i - 1], chain[i], before(chain[i - 1], chain[i])]).toEqual([chain[i - 1], chain[i], true]);
        // A batch is two workers at once, and the next batch waits for both.
        for (const [a, b] of [["worker-1", "worker-2"], ["worker-3", "worker-4"]]) {
            expect(before(`c-workers-${a}-join`, `c-workers-${b}-join`) || before(`c-workers-${b}-join`, `c-workers-${a}-join`)).toBe(false);
        }
        expect(before("c-workers-worker-2-join", "c-workers-uncordon-1-drain-2")).toBe(true);
        expect(before("c-workers-worker-4-join", "c-workers-worker-5-join")).toBe(true);
        // The add-ons follow the control planes, not the workers' kubelets.
        expect(before("c-control-plane-cp-3-kubelet", "c-addons-daemonset-kube-system-kube-proxy")).toBe(true);
        expect(before("c-workers-worker-1-join", "c-addons-daemonset-kube-system-kube-proxy")).toBe(false);
        // What each rollout step does, in order.
        const rollout = (n: string) => registrations.find(r => r.name === n)!.inputs.create as string;
        expect(rollout("c-workers-uncordon-1-drain-2")).toContain("uncordon worker-1, worker-2; drain worker-3, worker-4");
        expect(rollout("c-workers-uncordon-1-drain-2")).toMatch(/release_node worker-1\nrelease_node worker-2\ndrain_node worker-3\ndrain_node worker-4\n/);
    });

    test("a new cluster's workers join at once: the rollout steps order nothing until a worker has joined", () => {
        const before = happensBefore(installed);
        expect(before("c-workers-worker-1-join", "c-workers-worker-5-join")).toBe(false);
        expect(before("c-workers-drain-1", "c-workers-worker-1-join")).toBe(false);
        expect(before("c-workers-uncordon-1-drain-2", "c-workers-worker-3-join")).toBe(false);
    });

    test("without an installer the kubelets are kept: no kubelet or rollout steps, and the plan says so", async () => {
        const kept = await run(new MockRuntime(answer, new Map(state)), spec("v1.34.1", { nodePreparation: undefined }));
        expect(kept.plan.table).toContain("kubelet                   worker-5   v1.33.2    v1.33.2 (kept)\n");
        expect(kept.plan.table).toContain("kubelets are kept: without nodePreparation this program does not install packages");
        expect(kept.registrations.map(r => r.name).filter(n => /-kubelet$|-(drain|uncordon)-\d/.test(n))).toEqual([]);
    });

    test("a day-2 flag change (apiServer.extraArgs) changes only the control planes, one at a time behind the load balancer, and kubeadm-config", async () => {
        const { registrations, plan } = await run(new MockRuntime(answer, state), spec("v1.33.2", { apiServer: { extraArgs: [{ name: "audit-log-maxage", value: "30" }] } }));
        expect(plan.kind).toBe("unchanged");
        const changed = registrations.filter(r => r.custom && r.type !== "pulumi:index:Stash").filter(r => {
            const before = installed.find(x => x.name === r.name && x.type === r.type);
            return !before || JSON.stringify(before.inputs) !== JSON.stringify(r.inputs);
        });
        expect(changed.map(r => r.name).sort()).toEqual([
            ...["cp-1", "cp-2", "cp-3"].flatMap(n => [`c-control-plane-${n}-deregister-lb-1`, `c-control-plane-${n}-install`, `c-control-plane-${n}-ready`, `c-control-plane-${n}-register-lb-1`]),
            "c-objects-configmap-kube-system-kubeadm-config",
        ].sort());
        // Only the kube-apiserver manifest differs in what the install places.
        const before = installed.find(x => x.name === "c-control-plane-cp-2-install")!.inputs.create as string;
        const after = changed.find(x => x.name === "c-control-plane-cp-2-install")!.inputs.create as string;
        const diff = after.split("\n").filter(l => !before.split("\n").includes(l));
        expect(diff.filter(l => !/^(PULUMI_KUBEADM|EOF)_/.test(l) && !l.includes("<<'")).map(l => l.trim())).toEqual(["- '--audit-log-maxage=30'"]);
    });

    test("a new version renews every leaf certificate with its key, as kubeadm upgrade; the CAs stay", async () => {
        const bumped = (await run(new MockRuntime(answer, state), spec("v1.34.1"))).registrations;
        const stateOf = (regs: Registration[], type: string, name: string) => regs.find(r => r.type === type && r.name === name)!.state;
        for (const leaf of ["c-pki-apiserver-cp-1", "c-pki-etcd-server-etcd-2", "c-pki-kubeconfig-admin-cp-1", "c-pki-front-proxy-client"]) {
            expect([leaf, stateOf(bumped, "tls:index/locallySignedCert:LocallySignedCert", leaf).certPem === stateOf(installed, "tls:index/locallySignedCert:LocallySignedCert", leaf).certPem]).toEqual([leaf, false]);
            expect(stateOf(bumped, "tls:index/privateKey:PrivateKey", leaf).privateKeyPem).toBe(stateOf(installed, "tls:index/privateKey:PrivateKey", leaf).privateKeyPem);
        }
        for (const ca of ["c-pki-ca", "c-pki-etcd-ca", "c-pki-front-proxy-ca"]) {
            expect(stateOf(bumped, "tls:index/selfSignedCert:SelfSignedCert", ca).certPem).toBe(stateOf(installed, "tls:index/selfSignedCert:SelfSignedCert", ca).certPem);
        }
        // With upgrade.renewCertificates false, the same bump keeps them.
        const kept = (await run(new MockRuntime(answer, state), spec("v1.34.1", { upgrade: { renewCertificates: false } }))).registrations;
        expect(stateOf(kept, "tls:index/locallySignedCert:LocallySignedCert", "c-pki-apiserver-cp-1").certPem).toBe(stateOf(installed, "tls:index/locallySignedCert:LocallySignedCert", "c-pki-apiserver-cp-1").certPem);
    });

    test("a jump of two minors fails the preview, naming the release to go through", async () => {
        const { error } = await run(new MockRuntime(answer, state), spec("v1.35.0"));
        expect(error?.message).toBe('invalid upgrade (1 problem):\n  - kubernetesVersion: "v1.35.0" — at most one minor above the deployed v1.33.2, as kubeadm upgrades: go through v1.34.12 first (set kubernetesVersion to each, pulumi up, then the next), then v1.35.0; or walk them in this pulumi up with upgrade.through: ["v1.34.12"]');
    });

    test("upgrade.through walks two minors in one up: every control plane at v1.34.7, one at a time, before any goes to v1.35.0", async () => {
        // The etcd hosts keep their etcd (they would go straight from 3.5 to 3.6, which a walk refuses; see below).
        const walk = (through: string[]) => spec("v1.35.0", { etcd: { topology: "dedicated", imageTag: "3.5.21-0" }, upgrade: { maxUnavailable: 2, through } });
        const preview = await run(new MockRuntime(answer, state), walk(["v1.34.7"]));
        expect(preview.error).toBeUndefined();
        expect(preview.plan.table).toContain("walk: v1.33.2 → v1.34.7 → v1.35.0 (the control planes at each release in turn)\n");
        const { registrations, error } = await run(new MockRuntime(answer, new Map(state)), walk(["v1.34.7"]), { up: true });
        expect(error).toBeUndefined();
        const before = happensBefore(registrations);
        const step = (n: string, s: string, via = "") => `c-control-plane-${n}${via}-${s}`;
        const chain = [
            ...["cp-1", "cp-2", "cp-3"].flatMap(n => ["deregister-lb-1", "install", "ready", "register-lb-1", "upgraded"].map(s => step(n, s, "-via-v1.34.7"))),
            ...["cp-1", "cp-2", "cp-3"].flatMap(n => ["deregister-lb-1", "install", "ready", "register-lb-1", "upgraded", "kubelet"].map(s => step(n, s))),
            "c-workers-drain-1",
        ];
        for (let i = 1; i < chain.length; i++) expect([chain[i - 1], chain[i], before(chain[i - 1], chain[i])]).toEqual([chain[i - 1], chain[i], true]);
        const manifest = (n: string) => registrations.find(r => r.name === n)!.inputs.create as string;
        expect(manifest("c-control-plane-cp-2-via-v1.34.7-install")).toContain("image: registry.k8s.io/kube-apiserver:v1.34.7");
        expect(manifest("c-control-plane-cp-2-install")).toContain("image: registry.k8s.io/kube-apiserver:v1.35.0");
        // The pass at v1.34.7 prepares nothing, needs a running control plane, and keeps the node registered when it is deleted.
        const pass = registrations.find(r => r.name === "c-control-plane-cp-1-via-v1.34.7-preflight")!.inputs.create as string;
        expect(pass).toContain("upgrade.through walks a running cluster");
        expect(pass).not.toContain("# node preparation");
        expect(registrations.find(r => r.name === "c-control-plane-cp-1-via-v1.34.7-register-lb-1")!.inputs.delete).toBeUndefined();
        expect(registrations.find(r => r.name === "c-control-plane-cp-1-register-lb-1")!.inputs.delete).toBeDefined();
        expect(registrations.map(r => r.name)).not.toContain("c-control-plane-cp-1-via-v1.34.7-kubelet");
    });

    test("registration afterAll: each registration compares the control planes' versions at runtime; the load balancer's register-all step comes after the last control plane", async () => {
        const preview = await run(new MockRuntime(answer, state), spec("v1.34.1", { upgrade: { maxUnavailable: 2, registration: "afterAll" } }));
        expect(preview.error).toBeUndefined();
        const { registrations, error } = await run(new MockRuntime(answer, new Map(state)), spec("v1.34.1", { upgrade: { maxUnavailable: 2, registration: "afterAll" } }), { up: true });
        expect(error).toBeUndefined();
        const before = happensBefore(registrations);
        for (const [a, b] of [["c-control-plane-cp-3-kubelet", "c-control-plane-lb-1-register-all"], ["c-control-plane-lb-1-register-all", "c-workers-drain-1"],
            ["c-control-plane-lb-1-register-all", "c-deployed-versions"], ["c-control-plane-cp-1-register-lb-1", "c-control-plane-cp-2-deregister-lb-1"]]) {
            expect([a, b, before(a, b)]).toEqual([a, b, true]);
        }
        const create = (n: string) => registrations.find(r => r.name === n)!.inputs.create as string;
        expect(create("c-control-plane-cp-1-register-lb-1")).toContain("comes back once every control plane runs one version (upgrade.registration afterAll)");
        expect(create("c-control-plane-cp-1-register-lb-1")).toContain("url=https://10.0.10.12:6443/version");
        expect(create("c-control-plane-lb-1-register-all")).toContain("hap \"enable server apiserverbackend/$server\"");
        // The default registers each control plane as it is ready, with no comparison.
        expect(installed.find(r => r.name === "c-control-plane-cp-1-register-lb-1")!.inputs.create).not.toContain("/version");
        expect(installed.map(r => r.name)).not.toContain("c-control-plane-lb-1-register-all");
    });

    test("upgrade.through is checked: one release per minor in between, for a deployed cluster, removed once walked", async () => {
        // While the program is evaluated: the releases must fill the minors below kubernetesVersion.
        await expect(run(new MockRuntime(answer, state), spec("v1.35.0", { upgrade: { through: ["v1.33.6"] } })))
            .rejects.toThrow('upgrade.through[0]: "v1.33.6" — a release of the minor just below kubernetesVersion (v1.35.0): one release per minor, in order');
        // In preview, against the recorded deployment.
        expect((await run(new MockRuntime(answer, state), spec("v1.34.1", { upgrade: { through: ["v1.33.6"] } }))).error?.message)
            .toContain('upgrade.through[0]: "v1.33.6" — nothing (remove upgrade.through): the cluster already runs v1.33.2 (recorded by the last pulumi up)');
        // etcd on its own hosts would go straight from 3.5 to 3.6.
        expect((await run(new MockRuntime(answer, state), spec("v1.35.0", { upgrade: { through: ["v1.34.7"] } }))).error?.message)
            .toContain("nothing with etcd on its own hosts crossing an etcd minor: they go straight from 3.5.24-0 to 3.6.6-0");
        // A new stack's preview reads its record as what it is about to write.
        expect((await run(new MockRuntime(answer, new Map()), spec("v1.35.0", { upgrade: { through: ["v1.34.7"] } }))).error?.message)
            .toContain('upgrade.through[0]: "v1.34.7" — nothing (remove upgrade.through): the stack records kubernetesVersion itself (v1.35.0): the walk is done, or this is a new cluster, which installs kubernetesVersion directly');
    });

    test("a downgrade fails the preview", async () => {
        const { error } = await run(new MockRuntime(answer, state), spec("v1.33.1"));
        expect(error?.message).toMatch(/^invalid upgrade \(1 problem\):\n  - kubernetesVersion: "v1\.33\.1" — v1\.33\.2 or newer: the cluster runs v1\.33\.2 \(recorded by the last pulumi up\), and a cluster is never downgraded/);
    });

    test("the same program again changes nothing: every step's inputs are those of the deployment", async () => {
        const again = (await run(new MockRuntime(answer, state), spec("v1.33.2"))).registrations;
        const changed = again.filter(r => r.custom && r.type !== "pulumi:index:Stash").filter(r => {
            const before = installed.find(x => x.name === r.name && x.type === r.type);
            return !before || JSON.stringify(before.inputs) !== JSON.stringify(r.inputs);
        }).map(r => r.name);
        expect(changed).toEqual([]);
    });
});

const EXPECTED_TABLE = `COMPONENT                 NODE       CURRENT    TARGET
kube-apiserver            cp-1       v1.33.2    v1.34.1
kube-apiserver            cp-2       v1.33.2    v1.34.1
kube-apiserver            cp-3       v1.33.2    v1.34.1
kube-controller-manager   cp-1       v1.33.2    v1.34.1
kube-controller-manager   cp-2       v1.33.2    v1.34.1
kube-controller-manager   cp-3       v1.33.2    v1.34.1
kube-scheduler            cp-1       v1.33.2    v1.34.1
kube-scheduler            cp-2       v1.33.2    v1.34.1
kube-scheduler            cp-3       v1.33.2    v1.34.1
kube-proxy                           v1.33.2    v1.34.1
CoreDNS                              v1.12.0    v1.12.1
etcd                      etcd-1     3.5.24-0   3.6.5-0
etcd                      etcd-2     3.5.24-0   3.6.5-0
etcd                      etcd-3     3.5.24-0   3.6.5-0
kubelet                   cp-1       v1.33.2    v1.34.1
kubelet                   cp-2       v1.33.2    v1.34.1
kubelet                   cp-3       v1.33.2    v1.34.1
kubelet                   worker-1   v1.33.2    v1.34.1
kubelet                   worker-2   v1.33.2    v1.34.1
kubelet                   worker-3   v1.33.2    v1.34.1
kubelet                   worker-4   v1.33.2    v1.34.1
kubelet                   worker-5   v1.33.2    v1.34.1
kubelets: control planes one at a time, then workers 2 at a time (upgrade.maxUnavailable): cordon, drain, upgrade, Ready, uncordon
`;

/** before(a, b): b waits for a, through the recorded dependencies (dependsOn) and parents. */
function happensBefore(registrations: Registration[]): (a: string, b: string) => boolean {
    const byName = new Map(registrations.map(r => [r.name, r]));
    const byUrn = new Map(registrations.map(r => [r.urn, r]));
    const memo = new Map<string, Set<string>>();
    const ancestors = (name: string): Set<string> => {
        if (memo.has(name)) return memo.get(name)!;
        const out = new Set<string>();
        memo.set(name, out);
        for (const urn of byName.get(name)?.dependsOn ?? []) {
            const dep = byUrn.get(urn);
            if (!dep) continue;
            out.add(dep.name);
            for (const a of ancestors(dep.name)) out.add(a);
        }
        return out;
    };
    return (a, b) => {
        if (!byName.has(a) || !byName.has(b)) throw new Error(`no registration named ${!byName.has(a) ? a : b}`);
        return ancestors(b).has(a);
    };
}

describe("leaf certificates renew before they expire, without an upgrade", () => {
    const leaf = (regs: Registration[], name: string) => regs.find(r => r.type === "tls:index/locallySignedCert:LocallySignedCert" && r.name === name)!.state.certPem as string;
    /** The state as it would be `days` after the first issue: the Stash holds the first issue's time. */
    const aged = (days: number): EngineState => {
        const copy: EngineState = new Map([...state].map(([k, v]) => [k, { ...v, outputs: { ...v.outputs } }]));
        const first = copy.get("pulumi:index:Stash::c-pki-first-issued")!;
        first.outputs.output = new Date(Date.now() - days * 86_400_000).toISOString();
        return copy;
    };

    test("334 days after the first issue (1 year's validity), nothing is issued again", async () => {
        const { registrations, error } = await run(new MockRuntime(answer, aged(334)), spec("v1.33.2"), { up: true });
        expect(error).toBeUndefined();
        expect(leaf(registrations, "c-pki-apiserver-cp-1")).toBe(leaf(installed, "c-pki-apiserver-cp-1"));
    });

    test("336 days after, 29 days before they expire, every leaf is issued again (the CAs stay), and openssl sees a new year of validity", async () => {
        const { registrations, error } = await run(new MockRuntime(answer, aged(336)), spec("v1.33.2"), { up: true });
        expect(error).toBeUndefined();
        for (const name of ["c-pki-apiserver-cp-1", "c-pki-etcd-peer-etcd-3", "c-pki-kubeconfig-admin-cp-1", "c-pki-apiserver-kubelet-client"]) {
            const renewed = leaf(registrations, name);
            expect([name, renewed === leaf(installed, name)]).toEqual([name, false]);
            const notAfter = Date.parse(openssl(["x509", "-noout", "-enddate"], renewed).replace(/^notAfter=/, "").trim());
            expect(notAfter).toBeGreaterThan(Date.now() + 364 * 86_400_000);
        }
        const ca = (regs: Registration[]) => regs.find(r => r.name === "c-pki-ca" && r.type === "tls:index/selfSignedCert:SelfSignedCert")!.state.certPem;
        expect(ca(registrations)).toBe(ca(installed));
    });
});
