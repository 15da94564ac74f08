import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import yaml from "js-yaml";
import { controlPlaneFiles, ControlPlaneMaterial } from "../../render/control-plane-files";
import { SUPPORTED_MINORS } from "../../render/versions";
import { validateCluster } from "../../spec/validate";
import { haSpec } from "../support/fixtures";
import { opensslCa, opensslLeaf, tempDir } from "../support/openssl";

const ca = opensslCa("kubernetes");
const client = (subject: string) => opensslLeaf(ca, subject, undefined, "clientAuth");
const KUBECONFIG_SUBJECTS: Record<string, string> = {
    "admin.conf": "/O=kubeadm:cluster-admins/CN=kubernetes-admin", "super-admin.conf": "/O=system:masters/CN=kubernetes-super-admin",
    "controller-manager.conf": "/CN=system:kube-controller-manager", "scheduler.conf": "/CN=system:kube-scheduler", "kubelet.conf": "/O=system:nodes/CN=system:node:cp-1",
};
const issued = Object.fromEntries(Object.entries(KUBECONFIG_SUBJECTS).map(([file, subject]) => [file, client(subject)]));

function material(): ControlPlaneMaterial {
    const pub = Object.fromEntries(["ca", "front-proxy-ca", "apiserver-kubelet-client", "front-proxy-client", "etcd/ca", "apiserver-etcd-client"].map(n => [`${n}.crt`, n === "ca" ? ca.certPem : `cert of ${n}\n`]));
    const priv = Object.fromEntries(["ca", "front-proxy-ca", "apiserver-kubelet-client", "front-proxy-client", "apiserver-etcd-client", "sa"].map(n => [`${n}.key`, `key of ${n}\n`]));
    return {
        publicFiles: { ...pub, "sa.pub": "public sa\n" }, privateFiles: priv,
        nodePublicFiles: { "apiserver.crt": "apiserver cert\n" }, nodePrivateFiles: { "apiserver.key": "apiserver key\n" },
        kubeconfigCerts: Object.fromEntries(Object.entries(issued).map(([f, k]) => [f, k.certPem])),
        kubeconfigKeys: Object.fromEntries(Object.entries(issued).map(([f, k]) => [f, k.keyPem])),
        encryptionConfig: "kind: EncryptionConfiguration\n",
    };
}

const FACTS = { hostname: "cp-1", caCertDirs: ["/etc/ca-certificates"], resolvConf: "" };

function render(minor: string, first: boolean, overrides = {}, facts = FACTS) {
    const cluster = validateCluster(haSpec({ kubernetesVersion: `v${minor}.1`, ...overrides }));
    return controlPlaneFiles({ cluster, node: cluster.controlPlanes[0], first, facts, etcdServers: ["https://10.0.20.11:2379"], material: material() });
}

describe.each(SUPPORTED_MINORS.map(m => [m]))("a control plane's files for Kubernetes %s", minor => {
    const t = tempDir();
    afterAll(() => t.remove());
    const m = Number(minor.split(".")[1]);

    test("kubeadm's paths and modes (reference §1.4, §2, §3, §4): keys, sa.pub, kubeconfigs, manifests 0600; certificates and kubelet files 0644", () => {
        const { files, secrets } = render(minor, true);
        const modes = Object.fromEntries(files.map(f => [f.path, f.mode]));
        const pki = "/etc/kubernetes/pki";
        expect(modes).toEqual({
            [`${pki}/ca.crt`]: "0644", [`${pki}/ca.key`]: "0600", [`${pki}/front-proxy-ca.crt`]: "0644", [`${pki}/front-proxy-ca.key`]: "0600",
            [`${pki}/apiserver.crt`]: "0644", [`${pki}/apiserver.key`]: "0600", [`${pki}/apiserver-kubelet-client.crt`]: "0644", [`${pki}/apiserver-kubelet-client.key`]: "0600",
            [`${pki}/front-proxy-client.crt`]: "0644", [`${pki}/front-proxy-client.key`]: "0600", [`${pki}/etcd/ca.crt`]: "0644",
            [`${pki}/apiserver-etcd-client.crt`]: "0644", [`${pki}/apiserver-etcd-client.key`]: "0600", [`${pki}/sa.pub`]: "0600", [`${pki}/sa.key`]: "0600",
            "/etc/kubernetes/admin.conf": "0600", "/etc/kubernetes/super-admin.conf": "0600", "/etc/kubernetes/controller-manager.conf": "0600",
            "/etc/kubernetes/scheduler.conf": "0600", "/etc/kubernetes/kubelet.conf": "0600", "/etc/kubernetes/enc/encryption-config.yaml": "0600",
            "/var/lib/kubelet/config.yaml": "0644", "/var/lib/kubelet/kubeadm-flags.env": "0644",
            ...(m >= 34 ? { "/var/lib/kubelet/instance-config.yaml": "0644" } : {}),
            "/etc/kubernetes/manifests/kube-apiserver.yaml": "0600", "/etc/kubernetes/manifests/kube-controller-manager.yaml": "0600", "/etc/kubernetes/manifests/kube-scheduler.yaml": "0600",
        });
        // Every key and kubeconfig is secret: its content is not in the file list, only on stdin.
        for (const f of files) expect({ path: f.path, secret: f.secret === true }).toEqual({ path: f.path, secret: /\.(key|conf)$|encryption-config\.yaml$/.test(f.path) });
        expect(secrets.map(s => s.path).sort()).toEqual(files.filter(f => f.secret).map(f => f.path).sort());
        expect(render(minor, false).files.map(f => f.path)).not.toContain("/etc/kubernetes/super-admin.conf");
    });

    test("every kubeconfig loads in kubectl with kubeadm's user, context and server (reference §2)", () => {
        const { secrets } = render(minor, true);
        const endpoint = "https://k8s-api.example.internal:6443";
        const local = "https://10.0.10.11:6443";
        const expected: Record<string, [string, string]> = {
            "admin.conf": ["kubernetes-admin", endpoint], "super-admin.conf": ["kubernetes-super-admin", endpoint],
            "controller-manager.conf": ["system:kube-controller-manager", local], "scheduler.conf": ["system:kube-scheduler", local],
            // ControlPlaneKubeletLocalMode: on by default from 1.33.
            "kubelet.conf": ["system:node:cp-1", m >= 33 ? local : endpoint],
        };
        for (const [file, [user, server]] of Object.entries(expected)) {
            const p = path.join(t.dir, file);
            fs.writeFileSync(p, secrets.find(s => s.path === `/etc/kubernetes/${file}`)!.content);
            const view = JSON.parse(execFileSync("kubectl", ["config", "view", "--kubeconfig", p, "--raw", "-o", "json"], { encoding: "utf8" }));
            expect({ file, context: view["current-context"], user: view.users[0].name, server: view.clusters[0].cluster.server, cluster: view.clusters[0].name })
                .toEqual({ file, context: `${user}@kubernetes`, user, server, cluster: "kubernetes" });
            expect(Buffer.from(view.users[0].user["client-certificate-data"], "base64").toString()).toBe(issued[file].certPem);
        }
    });

    test("kubeadm-flags.env: --node-ip the host's address, the taint by flag, --hostname-override only when the hostname differs, no taint with controlPlaneTaints: []", () => {
        const flags = (r: ReturnType<typeof render>) => r.files.find(f => f.path === "/var/lib/kubelet/kubeadm-flags.env")!.content!;
        const runtime = m >= 34 ? "" : "--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock ";
        // Reference §3.9: pause 3.10 (1.33), 3.10.1 (1.34); the flag is gone from 1.35.
        const pause = m >= 35 ? "" : `--pod-infra-container-image=registry.k8s.io/pause:${m >= 34 ? "3.10.1" : "3.10"} `;
        // kubeadm's own flags sorted, then nodeRegistration.kubeletExtraArgs' node-ip after them (the real kubeadm's order).
        expect(flags(render(minor, true))).toBe(`KUBELET_KUBEADM_ARGS="${runtime}${pause}--register-with-taints=node-role.kubernetes.io/control-plane:NoSchedule --node-ip=10.0.10.11"\n`);
        expect(flags(render(minor, true, {}, { ...FACTS, hostname: "ip-10-0-10-11" }))).toContain("--hostname-override=cp-1 ");
        expect(flags(render(minor, true, { controlPlaneTaints: [] }))).not.toContain("register-with-taints");
        const resolved: any = yaml.load(render(minor, true, {}, { ...FACTS, resolvConf: "/run/systemd/resolve/resolv.conf" }).files.find(f => f.path === "/var/lib/kubelet/config.yaml")!.content!);
        expect(resolved.resolvConf).toBe("/run/systemd/resolve/resolv.conf");
    });
});
