import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as yaml from "js-yaml";
import { etcdHealthScript, etcdInstallScript, etcdPreflightScript, etcdQuorumGateScript, PEERS_NEEDED_FUNCTION } from "../../render/etcd-scripts";
import { etcdHostKubeletConfig, etcdServiceManagerDropIn } from "../../render/kubelet";
import { etcdPod, EtcdPodInput } from "../../render/manifests/etcd";
import { remoteBash } from "../../render/scripts";
import { toYaml } from "../../render/yaml";
import { resolveVersion, SUPPORTED_MINORS } from "../../render/versions";
import { tempDir } from "../support/openssl";

const members = [
    { name: "etcd-1", address: "10.0.20.11" },
    { name: "etcd-2", address: "10.0.20.12" },
    { name: "etcd-3", address: "10.0.20.13" },
];

function input(minor: string, extra: Partial<EtcdPodInput> = {}): EtcdPodInput {
    const v = resolveVersion(`v${minor}.0`);
    if (!v.ok) throw new Error(v.accepted);
    return {
        minor, imageTag: v.value.etcd, imageRepository: "registry.k8s.io", member: members[0], initialCluster: members,
        initialClusterState: "new", topology: "dedicated", dataDir: "/var/lib/etcd", certificatesDir: "/etc/kubernetes/pki", ...extra,
    };
}

// Reference §3.5 (kubeadm's defaults) with the overrides of kubeadm's HA etcd guide (§4.6) for a dedicated host.
const expectedFlags = (etcd36: boolean) => [
    "--advertise-client-urls=https://10.0.20.11:2379",
    "--cert-file=/etc/kubernetes/pki/etcd/server.crt",
    "--client-cert-auth=true",
    "--data-dir=/var/lib/etcd",
    ...(etcd36 ? [] : ["--experimental-initial-corrupt-check=true", "--experimental-watch-progress-notify-interval=5s"]),
    ...(etcd36 ? ["--feature-gates=InitialCorruptCheck=true"] : []),
    "--initial-advertise-peer-urls=https://10.0.20.11:2380",
    "--initial-cluster=etcd-1=https://10.0.20.11:2380,etcd-2=https://10.0.20.12:2380,etcd-3=https://10.0.20.13:2380",
    "--initial-cluster-state=new",
    "--key-file=/etc/kubernetes/pki/etcd/server.key",
    "--listen-client-urls=https://10.0.20.11:2379",
    "--listen-metrics-urls=http://127.0.0.1:2381",
    "--listen-peer-urls=https://10.0.20.11:2380",
    "--name=etcd-1",
    "--peer-cert-file=/etc/kubernetes/pki/etcd/peer.crt",
    "--peer-client-cert-auth=true",
    "--peer-key-file=/etc/kubernetes/pki/etcd/peer.key",
    "--peer-trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
    "--snapshot-count=10000",
    "--trusted-ca-file=/etc/kubernetes/pki/etcd/ca.crt",
    ...(etcd36 ? ["--watch-progress-notify-interval=5s"] : []),
];

describe("etcd static pod (reference §3.1, §3.5–3.8)", () => {
    test.each(SUPPORTED_MINORS.map(m => [m]))("Kubernetes %s: kubeadm's flags, image, probes, volumes and resources", minor => {
        const pod = etcdPod(input(minor));
        const c = pod.spec.containers[0];
        const etcd36 = Number(minor.split(".")[1]) >= 34;
        expect(c.command).toEqual(["etcd", ...expectedFlags(etcd36)]);
        const row = resolveVersion(`v${minor}.0`);
        expect(c.image).toBe(`registry.k8s.io/etcd:${row.ok && row.value.etcd}`);
        expect(pod.metadata).toEqual({
            annotations: { "kubeadm.kubernetes.io/etcd.advertise-client-urls": "https://10.0.20.11:2379" },
            labels: { component: "etcd", tier: "control-plane" }, name: "etcd", namespace: "kube-system",
            ...(minor === "1.33" ? { creationTimestamp: null } : {}),
        });
        expect(pod.spec).toMatchObject({ hostNetwork: true, priorityClassName: "system-node-critical", securityContext: { seccompProfile: { type: "RuntimeDefault" } } });
        expect(c.resources).toEqual({ requests: { cpu: "100m", memory: "100Mi" } });
        expect(pod.spec.volumes).toEqual([
            { hostPath: { path: "/etc/kubernetes/pki/etcd", type: "DirectoryOrCreate" }, name: "etcd-certs" },
            { hostPath: { path: "/var/lib/etcd", type: "DirectoryOrCreate" }, name: "etcd-data" },
        ]);
        // Volumes sorted by name, the mounts in kubeadm's own order.
        expect(c.volumeMounts).toEqual([{ mountPath: "/var/lib/etcd", name: "etcd-data" }, { mountPath: "/etc/kubernetes/pki/etcd", name: "etcd-certs" }]);
        const port = Number(minor.split(".")[1]) >= 34 ? "probe-port" : 2381;
        expect(c.livenessProbe.httpGet).toEqual({ host: "127.0.0.1", path: "/livez", port, scheme: "HTTP" });
        expect(c.readinessProbe).toEqual({ failureThreshold: 3, httpGet: { host: "127.0.0.1", path: "/readyz", port, scheme: "HTTP" }, periodSeconds: 1, timeoutSeconds: 15 });
        expect(c.startupProbe.httpGet.path).toBe("/readyz");
        expect(c.livenessProbe).toMatchObject({ failureThreshold: 8, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15 });
        expect(c.startupProbe).toMatchObject({ failureThreshold: 24, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15 });
        if (port === "probe-port") expect(c.ports).toEqual([{ containerPort: 2381, name: "probe-port", protocol: "TCP" }]);
        else expect(c.ports).toBeUndefined();
    });

    test("stacked: kubeadm's local etcd listens on the loopback and the member address, no initial-cluster-state", () => {
        const c = etcdPod(input("1.33", { topology: "stacked", initialCluster: [members[0]] })).spec.containers[0];
        expect(c.command).toContain("--listen-client-urls=https://127.0.0.1:2379,https://10.0.20.11:2379");
        expect(c.command).toContain("--initial-cluster=etcd-1=https://10.0.20.11:2380");
        expect(c.command.some((a: string) => a.startsWith("--initial-cluster-state"))).toBe(false);
    });

    test("IPv6 member: bracketed URLs and ::1 for metrics and probes", () => {
        const c = etcdPod(input("1.33", { member: { name: "etcd-1", address: "fd00::11" }, initialCluster: [{ name: "etcd-1", address: "fd00::11" }], topology: "stacked" })).spec.containers[0];
        expect(c.command).toContain("--listen-client-urls=https://[::1]:2379,https://[fd00::11]:2379");
        expect(c.command).toContain("--listen-metrics-urls=http://[::1]:2381");
        expect(c.livenessProbe.httpGet.host).toBe("::1");
    });

    test("extraArgs replace a default and add flags; the probe follows listen-metrics-urls", () => {
        const c = etcdPod(input("1.33", { extraArgs: [{ name: "listen-metrics-urls", value: "http://0.0.0.0:2391" }, { name: "quota-backend-bytes", value: "8589934592" }] })).spec.containers[0];
        expect(c.command.filter((a: string) => a.startsWith("--listen-metrics-urls"))).toEqual(["--listen-metrics-urls=http://0.0.0.0:2391"]);
        expect(c.command).toContain("--quota-backend-bytes=8589934592");
        expect(c.livenessProbe.httpGet).toMatchObject({ host: "0.0.0.0", port: 2391 });
    });

    test("the manifest is YAML a Kubernetes Pod decoder reads back unchanged", () => {
        const pod = etcdPod(input("1.33"));
        expect(yaml.load(toYaml(pod))).toEqual(pod);
    });
});

describe("kubelet on a dedicated etcd host (reference §4.6)", () => {
    test("20-etcd-service-manager.conf replaces ExecStart to run kubelet with the drop-in's config", () => {
        expect(etcdServiceManagerDropIn()).toBe("[Service]\nExecStart=\nExecStart=/usr/bin/kubelet --config=/etc/systemd/system/kubelet.service.d/kubelet.conf\nRestart=always\n");
    });
    test("kubelet.conf is the guide's KubeletConfiguration", () => {
        expect(yaml.load(etcdHostKubeletConfig("unix:///var/run/containerd/containerd.sock"))).toEqual({
            apiVersion: "kubelet.config.k8s.io/v1beta1", kind: "KubeletConfiguration",
            authentication: { anonymous: { enabled: false }, webhook: { enabled: false } }, authorization: { mode: "AlwaysAllow" },
            cgroupDriver: "systemd", address: "127.0.0.1", containerRuntimeEndpoint: "unix:///var/run/containerd/containerd.sock",
            staticPodPath: "/etc/kubernetes/manifests",
        });
    });
});

describe("etcd host scripts pass shellcheck", () => {
    const shellcheck = (script: string) => {
        try {
            execFileSync("shellcheck", ["-s", "bash", "-"], { input: script, encoding: "utf8" });
            return "";
        } catch (e: any) {
            return `${e.stdout}${e.stderr}`;
        }
    };
    const files = (dataDir: string) => [
        { path: "/etc/kubernetes/pki/etcd/ca.crt", mode: "0644", content: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n" },
        { path: "/etc/kubernetes/pki/etcd/server.key", mode: "0600", secret: true },
        { path: "/etc/systemd/system/kubelet.service.d/20-etcd-service-manager.conf", mode: "0644", content: etcdServiceManagerDropIn() },
        { path: "/etc/kubernetes/manifests/etcd.yaml", mode: "0600", content: toYaml(etcdPod(input("1.33", { dataDir }))) },
    ];
    const preflight = (extra: Partial<Parameters<typeof etcdPreflightScript>[0]> = {}) => etcdPreflightScript({
        host: "etcd-1", step: "etcd preflight", member: members[0], topology: "dedicated", dataDir: "/var/lib/etcd", certificatesDir: "/etc/kubernetes/pki",
        criSocket: "unix:///var/run/containerd/containerd.sock", ignore: ["CRI"], caSha256: "0".repeat(64), kubeletMinor: "1.37", ...extra,
    });
    const scripts: [string, string][] = [
        ["preflight", preflight()],
        ["preflight, stacked, IPv6, odd paths", preflight({ topology: "stacked", member: { name: "etcd-1", address: "fd00::11" }, dataDir: "/data/etcd data", ignore: [] })],
        ["install", etcdInstallScript({ host: "etcd-1", step: "etcd install", member: members[0], members, dataDir: "/var/lib/etcd", certificatesDir: "/etc/kubernetes/pki", timeoutSeconds: 60, files: files("/var/lib/etcd") })],
        ["install, stacked (no kubelet drop-ins)", etcdInstallScript({ host: "etcd-1", step: "etcd install", member: members[0], members, dataDir: "/var/lib/etcd", certificatesDir: "/etc/kubernetes/pki", timeoutSeconds: 60, files: files("/var/lib/etcd").filter(f => !f.path.includes("kubelet")) })],
        ["health", etcdHealthScript({ host: "etcd-1", step: "etcd health", members, certificatesDir: "/etc/kubernetes/pki", timeoutSeconds: 120, after: "abc" })],
        ["health, one member", etcdHealthScript({ host: "etcd-1", step: "etcd health", members: members.slice(0, 1), certificatesDir: "/etc/kubernetes/pki", timeoutSeconds: 120 })],
    ];
    test("a member is recognised by the etcd CA under the configured certificates directory", () => {
        expect(preflight({ certificatesDir: "/srv/pki" })).toContain("sha256sum /srv/pki/etcd/ca.crt");
    });

    test("input is data, never code: a hostile check name stays a word", () => {
        const t = tempDir();
        try {
            const marker = `${t.dir}/pwned`;
            const script = preflight({ ignore: [`x" ; touch ${marker} ; echo "`, `$(touch ${marker})`] });
            execFileSync("bash", ["-c", script], { stdio: "ignore" }).toString();
        } catch {
            // the checks themselves fail on this machine; what matters is the marker
        } finally {
            expect(fs.existsSync(`${t.dir}/pwned`)).toBe(false);
            t.remove();
        }
    });
    test.each(scripts)("%s", (_name, script) => {
        expect(shellcheck(script)).toBe("");
        expect(script.startsWith("set -euo pipefail\n")).toBe(true);
        // The wrapper that runs it remotely is valid POSIX sh too.
        expect(() => execFileSync("sh", ["-n"], { input: remoteBash(script, { host: "etcd-1", step: "x" }) })).not.toThrow();
    });
});

describe("etcd's quorum before a member restarts", () => {
    test("the other voting members that must answer healthy: never more than ⌊(n−1)/2⌋ of n down, the restarting one included", () => {
        const needed = execFileSync("bash", ["-c", `${PEERS_NEEDED_FUNCTION}for n in 1 2 3 4 5 6 7; do peers_needed "$n"; done`], { encoding: "utf8" });
        // 1 and 2 members: no restart keeps quorum, so every other one; 3: both others; 5: three of four; 7: four of six.
        expect(needed.trim().split("\n").map(Number)).toEqual([0, 1, 2, 3, 3, 4, 4]);
    });

    test("no gate where nothing that restarts etcd is placed; etcd's own member list is counted", () => {
        const manifest = { path: "/etc/kubernetes/manifests/etcd.yaml", mode: "0600", content: "kind: Pod\n" };
        const gate = (restartsOn = [manifest]) => etcdQuorumGateScript({
            member: members[0], members, dataDir: "/var/lib/etcd", certificatesDir: "/etc/kubernetes/pki", restartsOn, timeoutSeconds: 30,
        });
        expect(gate([])).toBe("");
        expect(gate()).toContain("member list");
        expect(gate()).toContain("--endpoints='https://10.0.20.11:2379,https://10.0.20.12:2379,https://10.0.20.13:2379' member list");
    });
});
