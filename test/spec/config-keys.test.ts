import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import Ajv from "ajv";
import kubeletFields from "../../render/kubelet-config-fields.json";
import kubernetesNames from "../../render/kubernetes-names.json";
import { SUPPORTED_MINORS, VERSION_ROWS } from "../../render/versions";
import { kubeletConfigFields } from "../../scripts/kubelet-config-fields";
import { SpecError } from "../../spec/problems";
import { ClusterSpec } from "../../spec/types";
import { validateCluster } from "../../spec/validate";
import { planWorkerJoin } from "../../spec/worker-join";
import { haSpec, host, sshPrivateKey } from "../support/fixtures";

/** The problem lines of a spec validateCluster refuses, or [] when it passes. */
function problems(spec: ClusterSpec): string[] {
    try {
        validateCluster(spec);
        return [];
    } catch (e) {
        if (!(e instanceof SpecError)) throw e;
        return e.message.split("\n").slice(1).map(l => l.replace(/^ {2}- /, ""));
    }
}
const at = (minor: string, over: Partial<ClusterSpec>) => haSpec({ kubernetesVersion: `v${minor}.2`, ...over });
const schemas = path.join(__dirname, "../fixtures/config-schemas");

describe("kubelet.config keys against KubeletConfiguration of the release", () => {
    test("render/kubelet-config-fields.json is what scripts/kubelet-config-fields.ts reads from each release's Go types (regenerate it when tools/versions.env changes)", () => {
        expect(kubeletFields).toEqual(JSON.parse(JSON.stringify(kubeletConfigFields(VERSION_ROWS))));
        expect(Object.keys(kubeletFields.minors)).toEqual([...SUPPORTED_MINORS]);
    });

    // The fixtures' strict schemas exist for 1.33 to 1.35 (written before the field trees were read from the Go types).
    const withSchema = SUPPORTED_MINORS.filter(m => fs.existsSync(path.join(schemas, `kubelet-config-v1beta1-${m}.json`)));
    test("the strict schemas cover three minors", () => expect(withSchema).toEqual(["1.33", "1.34", "1.35"]));
    test.each(withSchema.map(m => [m]))("%s: what the strict schema (ajv) rejects for an unknown key, the evaluation rejects too, and what it accepts passes", minor => {
        const validate = new Ajv({ strict: false, allErrors: true }).compile(JSON.parse(fs.readFileSync(path.join(schemas, `kubelet-config-v1beta1-${minor}.json`), "utf8")));
        const doc = (config: object) => ({ apiVersion: "kubelet.config.k8s.io/v1beta1", kind: "KubeletConfiguration", ...config });
        const good = { maxPods: 250, evictionHard: { "memory.available": "200Mi" }, authentication: { x509: { clientCAFile: "/etc/kubernetes/pki/ca.crt" } }, logging: { format: "json" } };
        expect(validate(doc(good))).toBe(true);
        expect(problems(at(minor, { kubelet: { config: good } }))).toEqual([]);
        for (const bad of [{ maxPod: 250 }, { authentication: { x509: { clientCaFile: "/x" } } }, { logging: { formatt: "json" } }]) {
            expect(validate(doc(bad))).toBe(false);
            expect(problems(at(minor, { kubelet: { config: bad } })).length).toBe(1);
        }
    });

    test("the field named, with the closest field; small structs list theirs", () => {
        expect(problems(at("1.33", { kubelet: { config: { maxPod: 250 } } }))).toEqual([
            `kubelet.config.maxPod: unknown field — not a field of KubeletConfiguration (kubelet.config.k8s.io/v1beta1) of Kubernetes 1.33: did you mean "maxPods"?`,
        ]);
        expect(problems(at("1.33", { kubelet: { config: { authentication: { webhook: { enable: true } } } } }))).toEqual([
            `kubelet.config.authentication.webhook.enable: unknown field — not a field of KubeletConfiguration (kubelet.config.k8s.io/v1beta1) of Kubernetes 1.33: did you mean "enabled"? (accepted: enabled, cacheTTL)`,
        ]);
    });

    test("a field newer than the release is refused on that release (defaultPodSysctls came with 1.37)", () => {
        const sysctls = { kubelet: { config: { defaultPodSysctls: [] } } };
        expect(problems(at("1.36", sysctls))).toEqual([expect.stringMatching(/^kubelet\.config\.defaultPodSysctls: unknown field — not a field of KubeletConfiguration .* of Kubernetes 1\.36/)]);
        expect(problems(at("1.37", sysctls))).toEqual([]);
    });
});

describe("proxy.config keys against KubeProxyConfiguration of the release", () => {
    test("known fields pass, nested ones too; a misspelt one is named with the closest", () => {
        expect(problems(at("1.33", { proxy: { config: { mode: "ipvs", ipvs: { strictARP: true }, conntrack: { maxPerCore: 0 } } } }))).toEqual([]);
        expect(problems(at("1.33", { proxy: { config: { ipvs: { strictArp: true } } } }))).toEqual([
            expect.stringMatching(/^proxy\.config\.ipvs\.strictArp: unknown field — not a field of KubeProxyConfiguration \(kubeproxy\.config\.k8s\.io\/v1alpha1\) of Kubernetes 1\.33: did you mean "strictARP"\? \(accepted: syncPeriod, minSyncPeriod, scheduler, excludeCIDRs, strictARP, /),
        ]);
        expect(problems(at("1.33", { proxy: { config: { modes: "ipvs" } } }))).toEqual([expect.stringMatching(/^proxy\.config\.modes: unknown field — .*did you mean "mode"\?/)]);
    });

    test("every minor has a tree, read from that minor's k8s.io/kube-proxy", () => {
        for (const minor of SUPPORTED_MINORS) {
            const names = (kubernetesNames.minors as any)[minor];
            expect(names.source).toMatch(new RegExp(`k8s\\.io/kube-proxy@v0\\.${minor.split(".")[1]}\\.\\d+`));
            expect(names.kubeProxyConfiguration).toMatchObject({ apiVersion: 1, kind: 1, mode: 1, iptables: { masqueradeBit: 1 }, clientConnection: { kubeconfig: 1 } });
        }
    });
});

describe("feature gates against the release's own", () => {
    test("ClusterConfiguration.featureGates: kubeadm's gates of the release (ControlPlaneKubeletLocalMode went with 1.36)", () => {
        expect(problems(at("1.35", { featureGates: { ControlPlaneKubeletLocalMode: true, NodeLocalCRISocket: true } }))).toEqual([]);
        expect(problems(at("1.36", { featureGates: { ControlPlaneKubeletLocalMode: true } }))).toEqual([expect.stringMatching(/^featureGates\.ControlPlaneKubeletLocalMode: unknown field — not a kubeadm 1\.36 feature gate: \(kubeadm's gates: NodeLocalCRISocket, PublicKeysECDSA, RootlessControlPlane/)]);
        expect(problems(at("1.33", { featureGates: { ControlPlaneKubeletLocalMod: false } }))).toEqual([expect.stringContaining(`did you mean "ControlPlaneKubeletLocalMode"?`)]);
        expect(problems(at("1.33", { featureGates: { UserNamespacesSupport: true } }))).toEqual([expect.stringContaining("UserNamespacesSupport is a Kubernetes component's gate: set it in kubelet.config.featureGates")]);
    });

    test("kubelet.config.featureGates, proxy.config.featureGates and --feature-gates flags: the component gates", () => {
        expect(problems(at("1.33", {
            kubelet: { config: { featureGates: { GracefulNodeShutdown: true } }, extraArgs: [{ name: "feature-gates", value: "KubeletTracing=true" }] },
            apiServer: { extraArgs: [{ name: "feature-gates", value: "StructuredAuthenticationConfiguration=true,AllAlpha=false" }] },
        }))).toEqual([]);
        expect(problems(at("1.33", { kubelet: { config: { featureGates: { GracefulNodeShutdwon: true } } } }))).toEqual([
            expect.stringMatching(/^kubelet\.config\.featureGates\.GracefulNodeShutdwon: unknown field — not a feature gate of Kubernetes 1\.33: did you mean "GracefulNodeShutdown"\?/),
        ]);
        expect(problems(at("1.33", { proxy: { config: { featureGates: { Bogus: true } } } }))).toEqual([expect.stringMatching(/^proxy\.config\.featureGates\.Bogus: unknown field — not a feature gate of Kubernetes 1\.33/)]);
        expect(problems(at("1.33", { controllerManager: { extraArgs: [{ name: "feature-gates", value: "CronJobTimeZon=true,ok" }] } }))).toEqual([
            expect.stringMatching(/^controllerManager\.extraArgs\[0\]\.value \(CronJobTimeZon\): unknown field — not a feature gate of Kubernetes 1\.33/),
            `controllerManager.extraArgs[0].value: "ok" — feature gates as name=true or name=false, separated by commas`,
            expect.stringMatching(/^controllerManager\.extraArgs\[0\]\.value \(ok\): unknown field/),
        ]);
    });

    test("the gate lists come from each minor's sources (a gate added after 1.33 is unknown to 1.33)", () => {
        const gates = (m: string) => (kubernetesNames.minors as any)[m].featureGates as string[];
        for (const m of SUPPORTED_MINORS) expect(gates(m)).toEqual(expect.arrayContaining(["AllAlpha", "AllBeta", "KubeletInUserNamespace", "ContextualLogging", "WatchListClient"]));
        const newer = gates("1.37").filter(g => !gates("1.33").includes(g));
        expect(newer.length).toBeGreaterThan(10);
        expect(problems(at("1.33", { kubelet: { config: { featureGates: { [newer[0]]: true } } } }))).toEqual([expect.stringContaining("not a feature gate of Kubernetes 1.33")]);
        expect(problems(at("1.37", { kubelet: { config: { featureGates: { [newer[0]]: true } } } }))).toEqual([]);
    });
});

describe("ignorePreflightErrors against kubeadm's check names", () => {
    test("kubeadm's fixed names, its port, path and service families, and all", () => {
        expect(problems(at("1.33", { ignorePreflightErrors: ["Swap", "NumCPU", "mem", "Port-6443", "FileContent--proc-sys-net-ipv4-ip_forward", "FileAvailable--etc-kubernetes-manifests-kube-apiserver.yaml", "DirAvailable--var-lib-etcd", "FileExisting-crictl", "SystemVerification"] }))).toEqual([]);
        expect(problems(at("1.33", { ignorePreflightErrors: ["all"] }))).toEqual([]);
    });

    test("a misspelt check is refused with the closest name", () => {
        expect(problems(at("1.33", { ignorePreflightErrors: ["Swp"] }))).toEqual([expect.stringMatching(/^ignorePreflightErrors\[0\]: "Swp" — a kubeadm preflight check name: did you mean "Swap"\? \(kubeadm 1\.33's: CRI, /)]);
        expect(problems(at("1.33", { ignorePreflightErrors: ["Ports-6443"] }))).toEqual([expect.stringContaining(`did you mean "Port-…"?`)]);
        const join = () => planWorkerJoin({
            kubernetesVersion: "v1.33.2", controlPlaneEndpoint: "k8s-api.example.internal", token: "abcdef.0123456789abcdef",
            caCertHashes: [`sha256:${"ab".repeat(32)}`], hosts: [host("node-1", "10.0.30.31", [])], ignorePreflightErrors: ["KubeletVersoin"],
        });
        expect(join).toThrow(/ignorePreflightErrors\[0\]: "KubeletVersoin" — a kubeadm preflight check name: did you mean "KubeletVersion"\?/);
    });
});

describe("a pinned SSH host key in a format the SSH client reads", () => {
    let keys: { ed25519: string; ecdsa: string; rsa: string };
    beforeAll(() => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostkey-"));
        const make = (type: string) => {
            execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-C", "host@example", "-f", path.join(dir, type)]);
            return fs.readFileSync(path.join(dir, `${type}.pub`), "utf8").trim();
        };
        keys = { ed25519: make("ed25519"), ecdsa: make("ecdsa"), rsa: make("rsa") };
        fs.rmSync(dir, { recursive: true });
    });
    const withKey = (hostKey: string, bastion = false) => {
        const spec = haSpec();
        if (bastion) spec.hosts[6].ssh.bastion = { host: "jump.example.internal", password: "x", hostKey };
        else spec.hosts[6].ssh.hostKey = hostKey;
        return spec;
    };

    test("ssh-keygen's public keys (ed25519, ECDSA, RSA) pass, for hosts and bastions", () => {
        for (const k of Object.values(keys)) {
            expect(problems(withKey(k))).toEqual([]);
            expect(problems(withKey(k, true))).toEqual([]);
        }
    });

    test("ssh-keyscan's known_hosts lines for the host dialled pass, and a SHA256 fingerprint", () => {
        const lines = (host: string) => Object.values(keys).map(k => `${host} ${k.split(" ").slice(0, 2).join(" ")}`).join("\n");
        expect(problems(withKey(lines("10.0.30.21")))).toEqual([]);
        expect(problems(withKey(`# 10.0.30.21:22 SSH-2.0-OpenSSH_9.2\n${lines("10.0.30.21,worker-1")}\n`))).toEqual([]);
        const onPort = haSpec();
        onPort.hosts[6].ssh = { ...onPort.hosts[6].ssh, port: 2222, hostKey: lines("[10.0.30.21]:2222") };
        expect(problems(onPort)).toEqual([]);
        expect(problems(withKey("SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU"))).toEqual([]);
    });

    test("another host's known_hosts line, a private key, a short fingerprint and a blob of another type are refused, naming the host", () => {
        const [type, blob] = keys.ed25519.split(" ");
        expect(problems(withKey(`10.0.30.22 ${type} ${blob}`))).toEqual([expect.stringMatching(/^hosts\[6\] \(worker-1\)\.ssh\.hostKey: .* — a key line for 10\.0\.30\.21, the address dialled: this known_hosts line is for 10\.0\.30\.22 \(another host's key\?\)$/)]);
        expect(problems(withKey(`[10.0.30.21]:2222 ${type} ${blob}`))).toEqual([expect.stringMatching(/a key line for 10\.0\.30\.21, the address dialled/)]);
        expect(problems(withKey("SHA256:47DEQpj8HBSa"))).toEqual([expect.stringMatching(/^hosts\[6\] \(worker-1\)\.ssh\.hostKey: .*\(a SHA256 fingerprint is "SHA256:" and 43 base64 characters\)$/)]);
        expect(problems(withKey(`ssh-rsa ${blob}`))).toEqual([expect.stringMatching(/^hosts\[6\] \(worker-1\)\.ssh\.hostKey: .*the base64 after "ssh-rsa" is not a ssh-rsa key/)]);
        expect(problems(withKey(sshPrivateKey(), true))).toEqual([expect.stringMatching(/^hosts\[6\] \(worker-1\)\.ssh\.bastion\.hostKey:/)]);
    });

    test("a host or bastion without a host key is refused unless it trusts on first use, and then not with a password alone", () => {
        const spec = haSpec();
        delete spec.hosts[6].ssh.hostKey;
        spec.hosts[7].ssh = { ...spec.hosts[7].ssh, bastion: { host: "jump.example.internal", privateKey: spec.hosts[7].ssh.privateKey } };
        expect(problems(spec)).toEqual([
            expect.stringMatching(/^hosts\[6\] \(worker-1\)\.ssh\.hostKey: "\(not set\)" — the host's public key, as a line of `ssh-keyscan -p <port> <host>`.* or trustOnFirstUse: true to record the key the host presents on the first run/),
            expect.stringMatching(/^hosts\[7\] \(worker-2\)\.ssh\.bastion\.hostKey: "\(not set\)"/),
        ]);
        spec.hosts[6].ssh.trustOnFirstUse = true;
        spec.hosts[7].ssh.bastion!.trustOnFirstUse = true;
        expect(problems(spec)).toEqual([]);
        spec.hosts[6].ssh = { password: "secret", trustOnFirstUse: true };
        expect(problems(spec)).toEqual([expect.stringMatching(/^hosts\[6\] \(worker-1\)\.ssh\.password: "\(set\)" — privateKey or agentSocketPath when the host key is trusted on first use/)]);
        spec.hosts[6].ssh = { privateKey: spec.hosts[7].ssh.privateKey, hostKey: keys.ed25519, trustOnFirstUse: true };
        expect(problems(spec)).toEqual([expect.stringMatching(/^hosts\[6\] \(worker-1\)\.ssh\.trustOnFirstUse: true — false or unset when hostKey pins the key/)]);
        spec.hosts[6].ssh = { privateKey: spec.hosts[7].ssh.privateKey, trustOnFirstUse: "yes" as unknown as boolean };
        expect(problems(spec)).toEqual([
            expect.stringMatching(/^hosts\[6\] \(worker-1\)\.ssh\.trustOnFirstUse: "yes" — true or false$/),
            expect.stringMatching(/^hosts\[6\] \(worker-1\)\.ssh\.hostKey: "\(not set\)"/),
        ]);
    });
});
