import * as pulumi from "@pulumi/pulumi";
import { WorkerJoin } from "../../components/worker-join";
import { WorkerJoinArgs } from "../../spec/worker-join";
import { host } from "../support/fixtures";
import { MockRuntime, settle, valueOf } from "../support/mocks";

const FACTS = 'facts {"hostname":"%s","caCertDirs":[],"resolvConf":""}';
const runtime = new MockRuntime(async (type, _inputs, name) => {
    if (type !== "command:remote:Command") return undefined;
    const node = /-(node-\d)-preflight$/.exec(name)?.[1];
    return { stdout: node ? FACTS.replace("%s", node === "node-2" ? "other-hostname" : node) : "ok", stderr: "" };
});

const TOKEN = "abcdef.q1w2e3r4t5y6u7i8";
const HASH = `sha256:${"ab".repeat(32)}`;
const args = (over: Partial<WorkerJoinArgs> = {}): WorkerJoinArgs => ({
    kubernetesVersion: "v1.33.2", controlPlaneEndpoint: "k8s-api.example.internal", token: pulumi.secret(TOKEN), caCertHashes: [HASH],
    hosts: [host("node-1", "10.0.30.31", []), host("node-2", "10.0.30.32", ["worker"])], ...over,
});

describe("WorkerJoin under the mock runtime", () => {
    let join: WorkerJoin;
    beforeAll(async () => {
        await runtime.start();
        join = new WorkerJoin("j", args());
        await Promise.race([valueOf(join.nodes), runtime.failure]);
        await settle();
    });
    const byName = (n: string) => runtime.registrations.find(r => r.name === n)!;

    test("two steps per host; every join waits for every preflight", () => {
        expect(runtime.resources.map(r => r.name).sort()).toEqual(["j-node-1-join", "j-node-1-preflight", "j-node-2-join", "j-node-2-preflight"]);
        const urn = (n: string) => byName(n).urn;
        for (const j of ["j-node-1-join", "j-node-2-join"]) expect(byName(j).dependsOn).toEqual(expect.arrayContaining([urn("j-node-1-preflight"), urn("j-node-2-preflight")]));
    });

    test("the token travels on stdin only, as a secret; the step logs nothing and its output is secret", () => {
        for (const r of runtime.resources) expect(JSON.stringify(r.inputs.create)).not.toContain("q1w2e3r4t5y6u7i8");
        const j = byName("j-node-1-join");
        expect(j.inputs.stdin).toBe(`${TOKEN}\n`);
        expect(j.secretInputs).toContain("stdin");
        expect(j.inputs.logging).toBe("none");
        expect(j.additionalSecretOutputs).toEqual(expect.arrayContaining(["stdout", "stderr"]));
    });

    test("discovery goes to the endpoint (kubeadm's default port) pinned to the given hash; kubeadm-flags.env as kubeadm join writes it, with --node-ip the host's address", () => {
        const create: string = byName("j-node-1-join").inputs.create;
        expect(create).toContain("api=https://k8s-api.example.internal:6443");
        expect(create).toContain(`pins=(${HASH})`);
        expect(create).toContain('KUBELET_KUBEADM_ARGS="--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.10 --node-ip=10.0.30.31"');
        // node-2's hostname is not its node name: kubeadm adds --hostname-override.
        expect(byName("j-node-2-join").inputs.create).toContain("--hostname-override=node-2 --pod-infra-container-image=registry.k8s.io/pause:3.10 --node-ip=10.0.30.32\"");
        expect(byName("j-node-1-preflight").inputs.create).toContain(`ca_pinned /etc/kubernetes/pki/ca.crt`);
    });

    test("without nodePreparation, no preparation step and no check left for later", () => {
        expect(byName("j-node-1-preflight").inputs.create).toContain("check FileExisting-kubelet");
        expect(byName("j-node-1-preflight").inputs.create).not.toContain("checked after nodePreparation");
    });

    test("bad input fails while the program is evaluated, naming each field", () => {
        expect(() => new WorkerJoin("bad", args({ caCertHashes: ["sha256:xyz"], controlPlaneEndpoint: "", kubernetesVersion: "1.20.0", token: "not-a-token", hosts: [] })))
            .toThrow(/invalid WorkerJoin args \(5 problems\):\n  - kubernetesVersion: "1.20.0".*\n  - controlPlaneEndpoint: .*\n  - caCertHashes\[0\]: "sha256:xyz" — "sha256:" and 64 lower-case hex digits.*\n  - token: "not-a-t… \(11 characters\)" — a bootstrap token.*\n  - hosts: \[\] — a list of at least one host to join/);
    });
});

describe("WorkerJoin with nodePreparation: every host's preflight, then every host's preparation, then the joins", () => {
    beforeAll(async () => {
        await runtime.start();
        const join = new WorkerJoin("p", args({ nodePreparation: { installer: "command", command: "echo install-kubelet-marker" } }));
        await Promise.race([valueOf(join.nodes), runtime.failure]);
        await settle();
    });
    const byName = (n: string) => runtime.registrations.find(r => r.name === n)!;
    const urn = (n: string) => byName(n).urn;

    test("a preflight installs and writes nothing; each host's preparation runs the installer, then the checks of what it provides", () => {
        for (const h of ["node-1", "node-2"]) {
            const preflight: string = byName(`p-${h}-preflight`).inputs.create;
            expect(preflight).not.toContain("install-kubelet-marker");
            expect(preflight).not.toContain("/etc/sysctl.d/k8s.conf");
            expect(preflight).not.toContain("check FileExisting-kubelet");
            expect(preflight).toContain("[preflight] checked after nodePreparation, once every host passed its preflight: CRI, FileExisting-kubelet, FileExisting-crictl");
            const prepare: string = byName(`p-${h}-prepare`).inputs.create;
            expect(prepare).toContain("install-kubelet-marker");
            expect(prepare).toContain("check FileExisting-kubelet");
            expect(prepare).toContain("check FileExisting-crictl");
        }
    });

    test("each preparation waits for every preflight; each join for every preparation", () => {
        for (const h of ["node-1", "node-2"]) {
            expect(byName(`p-${h}-prepare`).dependsOn).toEqual(expect.arrayContaining([urn("p-node-1-preflight"), urn("p-node-2-preflight")]));
            expect(byName(`p-${h}-join`).dependsOn).toEqual(expect.arrayContaining([urn("p-node-1-prepare"), urn("p-node-2-prepare")]));
        }
    });
});
