import { spawnSync } from "node:child_process";
import {
    controlPlaneInstallScript, controlPlaneManifests, controlPlanePreflightScript, encryptionRotationScript, readinessGateScript, rewriteResourcesScript,
    APISERVER_SAID_PREFIX, ROLLED_BACK_PREFIX, upgradePreflightScript, upgradeVerdictScript, workerPreflightScript,
} from "../../render/control-plane-scripts";
import { preparationScript } from "../../render/node-preparation";
import { controlPlaneKubeletScript, workerRolloutScript } from "../../render/kubelet-upgrade";
import { discoveryJoinScript, workerJoinScript } from "../../render/worker";
import { etcdHealthScript, etcdInstallScript, etcdPreflightScript, etcdSnapshotScript } from "../../render/etcd-scripts";
import { externalLoadBalancerScript, haproxyDeregisterScript, haproxyInstallScript, haproxyRegisterAllScript, haproxyRegisterScript, kubeVipAdminConfScript, kubeVipScript, leftAsItWas } from "../../render/load-balancer-scripts";
import { recordHostKeysScript } from "../../render/host-keys";
import { opensslCa } from "../support/openssl";

/** A real CA: the registration scripts carry it parsed and written again. */
const CA_PEM = opensslCa("kubernetes").certPem;

const node = { name: "cp-1", address: "10.0.10.11" };
const v6 = { name: "cp-2", address: "fd00::12" };
const ctx = { host: "cp-1", step: "a step" };
const pki = "/etc/kubernetes/pki";
const files = [
    { path: `${pki}/ca.crt`, mode: "0644", content: "cert\n" },
    { path: `${pki}/ca.key`, mode: "0600", secret: true },
    { path: "/var/lib/kubelet/config.yaml", mode: "0644", content: "kind: KubeletConfiguration\n" },
    { path: "/etc/kubernetes/manifests/kube-apiserver.yaml", mode: "0600", content: "kind: Pod\n" },
];
const etcdManifest = { path: "/etc/kubernetes/manifests/etcd.yaml", mode: "0600", content: "kind: Pod\n" };

// Every remote step's script, with each branch its inputs can take.
const scripts: [string, string][] = [
    ["control-plane preflight", controlPlanePreflightScript({ ...ctx, node, bindPort: 6443, criSocket: "unix:///run/containerd/containerd.sock", certificatesDir: pki, caSha256: "ab", swapTolerated: false, ignore: ["Swap"], kubeletMinor: "1.34" })],
    ["control-plane preflight (IPv6, swap tolerated)", controlPlanePreflightScript({ ...ctx, node: v6, bindPort: 443, criSocket: "unix:///run/crio/crio.sock", certificatesDir: pki, caSha256: "ab", swapTolerated: true, ignore: [], kubeletMinor: "1.37" })],
    ["control-plane install", controlPlaneInstallScript({ ...ctx, node, bindPort: 6443, version: "v1.33.2", minimumKubeletVersion: "v1.30.0", files, kubeadmDropIn: "[Service]\n", certificatesDir: pki, ignore: [], timeoutSeconds: 60 })],
    ["control-plane preflight (stacked etcd)", controlPlanePreflightScript({ ...ctx, node, bindPort: 6443, criSocket: "unix:///run/containerd/containerd.sock", certificatesDir: pki, caSha256: "ab", swapTolerated: false, ignore: [], stackedEtcdDataDir: "/var/lib/etcd data", requireKubectl: true, kubeletMinor: "1.37" })],
    ["control-plane install (stacked etcd, first)", controlPlaneInstallScript({ ...ctx, node, bindPort: 6443, version: "v1.33.2", minimumKubeletVersion: "v1.30.0", files: [...files, etcdManifest], kubeadmDropIn: "[Service]\n", certificatesDir: pki, ignore: [], timeoutSeconds: 60, stackedEtcd: { dataDir: "/var/lib/etcd", members: [node, v6, { name: "cp-3", address: "10.0.10.13" }] } })],
    ["control-plane install (stacked etcd, joining as a learner)", controlPlaneInstallScript({ ...ctx, node: v6, bindPort: 6443, version: "v1.33.2", minimumKubeletVersion: "v1.30.0", files: [...files, etcdManifest], kubeadmDropIn: "[Service]\n", certificatesDir: pki, ignore: [], timeoutSeconds: 60,
        stackedEtcd: { dataDir: "/var/lib/etcd", members: [node, v6, { name: "cp-3", address: "10.0.10.13" }], join: { member: v6, existing: [node, { name: "cp-3", address: "10.0.10.13" }], certificatesDir: pki, learner: true, timeoutSeconds: 60 } } })],
    ["control-plane install (stacked etcd, joining as a voting member)", controlPlaneInstallScript({ ...ctx, node, bindPort: 6443, version: "v1.34.2", minimumKubeletVersion: "v1.31.0", files: [...files, etcdManifest], kubeadmDropIn: "[Service]\n", certificatesDir: pki, ignore: [], timeoutSeconds: 60,
        stackedEtcd: { dataDir: "/var/lib/etcd", members: [node, v6, { name: "cp-3", address: "10.0.10.13" }], join: { member: node, existing: [v6], certificatesDir: pki, learner: false, timeoutSeconds: 60 } } })],
    ["readiness gate", readinessGateScript({ ...ctx, node: v6, bindPort: 6443, certificatesDir: pki, timeoutSeconds: 60, after: "abc" })],
    ["readiness gate (rolls an upgrade back)", readinessGateScript({ ...ctx, node, bindPort: 6443, certificatesDir: pki, timeoutSeconds: 60, after: "abc", rollback: controlPlaneManifests(false) })],
    ["control-plane install (backs up replaced manifests)", controlPlaneInstallScript({ ...ctx, node, bindPort: 6443, version: "v1.34.1", minimumKubeletVersion: "v1.31.0", files, kubeadmDropIn: "[Service]\n", certificatesDir: pki, ignore: [], timeoutSeconds: 60, backupManifests: true, stackedEtcd: { dataDir: "/var/lib/etcd", members: [node, v6, { name: "cp-3", address: "10.0.10.13" }] } })],
    ["control-plane install (a pass of upgrade.through)", controlPlaneInstallScript({ ...ctx, node, bindPort: 6443, version: "v1.33.6", minimumKubeletVersion: "v1.30.0", files, kubeadmDropIn: "[Service]\n", certificatesDir: pki, ignore: [], timeoutSeconds: 60, backupManifests: true, pass: true })],
    ["control-plane preflight (a pass of upgrade.through)", controlPlanePreflightScript({ ...ctx, node, bindPort: 6443, criSocket: "unix:///run/containerd/containerd.sock", certificatesDir: pki, caSha256: "ab", swapTolerated: false, ignore: [], version: "v1.33.6", walkFrom: "v1.33.6", requireRunning: true, kubeletMinor: "1.33" })],
    ["upgrade verdict (ready)", upgradeVerdictScript({ ...ctx, gateOutput: "kube-apiserver on cp-1 is ready", timeoutSeconds: 60, installUrn: "urn:pulumi:s::p::t::n" })],
    ["upgrade verdict (rolled back)", upgradeVerdictScript({ ...ctx, gateOutput: `x\n${APISERVER_SAID_PREFIX}E1204 run.go:72] "command failed" err="can't $(start)"\n${ROLLED_BACK_PREFIX}/etc/kubernetes/tmp/kubeadm-backup-manifests-2026-11-29-11-00-00`, timeoutSeconds: 60, installUrn: "urn:pulumi:s::p::kubeadm:index:ControlPlaneNode$command:remote:Command::n" })],
    ["encryption rotation", encryptionRotationScript({ ...ctx, node, bindPort: 6443, certificatesDir: pki, timeoutSeconds: 60, phase: "add the new key second" })],
    ["rewrite", rewriteResourcesScript({ ...ctx, resources: ["secrets", "configmaps"], endpoint: "k8s-api:6443", required: true })],
    ["rewrite (nothing encrypted yet)", rewriteResourcesScript({ ...ctx, resources: ["secrets"], endpoint: "k8s-api:6443", required: false })],
    ["haproxy install", haproxyInstallScript({ ...ctx, config: "global\n    daemon\n" })],
    ["haproxy register", haproxyRegisterScript({ ...ctx, server: "cp-1", after: "abc", timeoutSeconds: 30 })],
    ["haproxy deregister", haproxyDeregisterScript({ ...ctx, server: "cp-1", after: "abc" })],
    ["haproxy register (afterAll: one version at a time)", haproxyRegisterScript({ ...ctx, server: "cp-1", after: "abc", timeoutSeconds: 30, sameVersion: { controlPlanes: [node, v6], port: 6443, caCertPem: CA_PEM } })],
    ["haproxy deregister (afterAll: switches over)", haproxyDeregisterScript({ ...ctx, server: "cp-1", after: "abc", sameVersion: { controlPlanes: [node, v6], port: 6443, caCertPem: CA_PEM } })],
    ["haproxy register all (afterAll)", haproxyRegisterAllScript({ ...ctx, after: "abc", timeoutSeconds: 30, sameVersion: { controlPlanes: [node, v6], port: 6443, caCertPem: CA_PEM } })],
    ["external load balancer", externalLoadBalancerScript("aws elbv2 register-targets --targets Id={{address}},Port={{port}} # {{name}}", { name: "cp-1", address: "10.0.10.11", port: 6443 }, ctx, "abc")],
    ["kube-vip register", kubeVipScript({ ...ctx, manifestPath: "/etc/kubernetes/manifests/kube-vip.yaml", manifest: "kind: Pod\n", after: "abc" })],
    ["registration left as it was", leftAsItWas(ctx)],
    ["kube-vip deregister", kubeVipScript({ ...ctx, manifestPath: "/etc/kubernetes/manifests/kube-vip.yaml", after: "abc" })],
    ["kube-vip register (the first control plane: admin.conf once the binding exists; its owner recorded)", kubeVipScript({ ...ctx, manifestPath: "/etc/kubernetes/manifests/kube-vip.yaml", manifest: "kind: Pod\n", after: "abc", owner: "p/s/c-cp-1-register-kube-vip", bound: { manifest: "kind: Pod\nb: 1\n", boundMarker: "/var/lib/pulumi-kubeadm/cluster-admins-bound" } })],
    ["kube-vip deregister on delete (its owner, a ready peer)", kubeVipScript({ ...ctx, manifestPath: "/etc/kubernetes/manifests/kube-vip.yaml", after: "delete", owner: "p/s/c-cp-1-register-kube-vip", peers: { controlPlanes: [node], bindPort: 6443, caFile: "/etc/kubernetes/pki/ca.crt" } })],
    ["kube-vip to admin.conf", kubeVipAdminConfScript({ ...ctx, manifestPath: "/etc/kubernetes/manifests/kube-vip.yaml", adminManifest: "kind: Pod\na: 1\n", superAdminManifest: "kind: Pod\n", boundMarker: "/var/lib/pulumi-kubeadm/cluster-admins-bound", readyz: "https://10.0.10.5:6443/readyz", caFile: "/etc/kubernetes/pki/ca.crt", timeoutSeconds: 60 })],
    ["haproxy deregister on delete (only once haproxy.cfg no longer lists it)", haproxyDeregisterScript({ ...ctx, server: "cp-1", onDelete: true })],
    ["external deregister (another control plane must be ready)", externalLoadBalancerScript("lb remove {{address}}", { name: "cp-1", address: "10.0.10.11", port: 6443 }, ctx, "abc", { controlPlanes: [v6], bindPort: 6443, caCertPem: CA_PEM })],
    ["external deregister on delete (only once the node no longer serves)", externalLoadBalancerScript("lb remove {{address}}", { name: "cp-1", address: "10.0.10.11", port: 6443 }, ctx, undefined, undefined, { caCertPem: CA_PEM })],
    ["etcd install (a member's kubelet package behind the quorum gate)", etcdInstallScript({ ...ctx, member: node, members: [node, v6], files, dataDir: "/var/lib/etcd", certificatesDir: pki, timeoutSeconds: 60, kubeletUpgrade: { installer: { installer: "apt" }, version: "v1.33.3" } })],
    ["kube-vip deregister (another control plane must be ready)", kubeVipScript({ ...ctx, manifestPath: "/etc/kubernetes/manifests/kube-vip.yaml", after: "abc", peers: { controlPlanes: [node, v6], bindPort: 6443, caFile: "/etc/kubernetes/pki/ca.crt" } })],
    ["etcd preflight", etcdPreflightScript({ ...ctx, member: node, topology: "stacked", dataDir: "/var/lib/etcd", certificatesDir: pki, criSocket: "unix:///run/containerd/containerd.sock", ignore: [], caSha256: "ab", kubeletMinor: "1.37" })],
    ["etcd install", etcdInstallScript({ ...ctx, member: node, members: [node, v6, { name: "cp-3", address: "10.0.10.13" }], files, dataDir: "/var/lib/etcd", certificatesDir: pki, timeoutSeconds: 60 })],
    ["worker preflight (nodePreparation later)", workerPreflightScript({ ...ctx, node, criSocket: "unix:///run/containerd/containerd.sock", certificatesDir: pki, caSha256: "ab", swapTolerated: false, ignore: [], preparedLater: true, kubeletMinor: "1.37" })],
    ["etcd preflight (nodePreparation later)", etcdPreflightScript({ ...ctx, member: node, topology: "dedicated", dataDir: "/var/lib/etcd", certificatesDir: pki, criSocket: "unix:///run/containerd/containerd.sock", ignore: [], caSha256: "ab", preparedLater: true, kubeletMinor: "1.37" })],
    ["worker preparation (apt)", preparationScript({ ...ctx, nodePreparation: { installer: "apt" }, version: "v1.33.2", ignore: [], checks: { node: true, criSocket: "unix:///run/containerd/containerd.sock" } })],
    ["control-plane preparation (dnf, IPv6)", preparationScript({ ...ctx, nodePreparation: { installer: "dnf" }, version: "v1.34.1", ignore: ["Swap"], checks: { node: true, criSocket: "unix:///run/containerd/containerd.sock", ipv6: true, kubectl: true } })],
    ["etcd preparation (by command)", preparationScript({ ...ctx, nodePreparation: { installer: "command", command: "curl -sfL https://example.invalid/install.sh | sh -s -- \"$KUBERNETES_VERSION\"" }, version: "v1.33.2", ignore: [], checks: { node: false, criSocket: "unix:///run/containerd/containerd.sock" } })],
    ["worker join (waits for the TLS bootstrap, annotates the CRI socket)", workerJoinScript({ ...ctx, node: { ...node, roles: ["worker"], ssh: {} }, version: "v1.33.2", minor: "1.33", minimumKubeletVersion: "v1.30.0", certificatesDir: pki, endpoint: "k8s-api:6443", files, kubeadmDropIn: "[Service]\n", ignore: [], tlsBootstrapTimeoutSeconds: 300 })],
    ["worker join (1.34, no wait)", workerJoinScript({ ...ctx, node: { ...node, roles: ["worker"], ssh: {} }, version: "v1.34.1", minor: "1.34", minimumKubeletVersion: "v1.31.0", certificatesDir: pki, endpoint: "k8s-api:6443", files, kubeadmDropIn: "[Service]\n", ignore: [], tlsBootstrapTimeoutSeconds: 0 })],
    ["worker preflight (a cluster known by its CA hash)", workerPreflightScript({ ...ctx, node, criSocket: "unix:///run/containerd/containerd.sock", certificatesDir: pki, caSha256: "", caCertHashes: [`sha256:${"a".repeat(64)}`], swapTolerated: false, ignore: [], kubeletMinor: "1.36" })],
    ["worker join by token discovery (1.33, waits)", discoveryJoinScript({ ...ctx, node: { ...node, roles: ["worker"], ssh: {} }, version: "v1.33.2", minor: "1.33", minimumKubeletVersion: "v1.30.0", certificatesDir: pki, endpoint: "k8s-api:6443", caCertHashes: [`sha256:${"a".repeat(64)}`, `sha256:${"b".repeat(64)}`], files: files.filter(f => !f.secret), kubeadmDropIn: "[Service]\n", ignore: [], tlsBootstrapTimeoutSeconds: 300, discoveryTimeoutSeconds: 300 })],
    ["worker join by token discovery (1.34, no wait)", discoveryJoinScript({ ...ctx, node: { ...v6, roles: ["worker"], ssh: {} }, version: "v1.34.1", minor: "1.34", minimumKubeletVersion: "v1.31.0", certificatesDir: pki, endpoint: "[fd00::1]:6443", caCertHashes: [`sha256:${"a".repeat(64)}`], files: [], kubeadmDropIn: "[Service]\n", ignore: ["all"], tlsBootstrapTimeoutSeconds: 0, discoveryTimeoutSeconds: 10 })],
    ["worker join (upgrades a joined node's kubelet with apt)", workerJoinScript({ ...ctx, node: { ...node, roles: ["worker"], ssh: {} }, version: "v1.34.1", minor: "1.34", minimumKubeletVersion: "v1.31.0", certificatesDir: pki, endpoint: "k8s-api:6443", files, kubeadmDropIn: "[Service]\n", ignore: [], tlsBootstrapTimeoutSeconds: 0, kubeletInstaller: { installer: "apt" } })],
    ["control-plane kubelet upgrade (dnf)", controlPlaneKubeletScript({ ...ctx, node: "cp-1", installer: { installer: "dnf" }, version: "v1.34.1", drainTimeoutSeconds: 300, disableEviction: false, kubeletReadyTimeoutSeconds: 300 })],
    ["control-plane kubelet upgrade (command, eviction disabled)", controlPlaneKubeletScript({ ...ctx, node: "cp-1", installer: { installer: "command", command: "install-k8s \"$KUBERNETES_VERSION\"" }, version: "v1.34.1", drainTimeoutSeconds: 60, disableEviction: true, kubeletReadyTimeoutSeconds: 60 })],
    ["workers' rollout (release and drain)", workerRolloutScript({ ...ctx, version: "v1.34.1", drainTimeoutSeconds: 300, disableEviction: false, kubeletReadyTimeoutSeconds: 300, release: ["worker-1", "worker-2"], drain: ["worker-3"] })],
    ["workers' rollout (first drain)", workerRolloutScript({ ...ctx, version: "v1.34.1", drainTimeoutSeconds: 300, disableEviction: true, kubeletReadyTimeoutSeconds: 300, release: [], drain: ["worker-1"] })],
    ["upgrade preflight", upgradePreflightScript({ ...ctx, controlPlanes: [node, v6], bindPort: 6443, certificatesDir: pki, etcdMembers: [node, v6], before: "v1.34.1-etcd-3.6.4-0", settleSeconds: 30 })],
    ["upgrade preflight (external etcd)", upgradePreflightScript({ ...ctx, controlPlanes: [node], bindPort: 6443, certificatesDir: pki, etcdMembers: [], before: "v1.34.1", settleSeconds: 30 })],
    ["etcd snapshot", etcdSnapshotScript({ ...ctx, member: node, certificatesDir: pki, dataDir: "/var/lib/etcd", before: "v1.34.1-etcd-3.6.4-0", timeoutSeconds: 900, keep: 3 })],
    ["host key recording (trust on first use)", recordHostKeysScript("10.0.10.11:22")],
    ["host key recording (fingerprint)", recordHostKeysScript("10.0.10.11:2222 (through jump)", "SHA256:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU")],
    ["etcd health", etcdHealthScript({ ...ctx, members: [node, v6], certificatesDir: pki, timeoutSeconds: 60, after: "abc" })],
];

describe("every remote step passes shellcheck and bash -n", () => {
    test.each(scripts)("%s", (_name, script) => {
        expect(script.startsWith("set -euo pipefail\n")).toBe(true);
        const sc = spawnSync("shellcheck", ["--shell=bash", "--severity=style", "-"], { input: script, encoding: "utf8" });
        expect(sc.stdout).toBe("");
        expect(sc.status).toBe(0);
        const syntax = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
        expect(syntax.stderr).toBe("");
    });
});

// Under pipefail, a reader that stops before its input ends (grep -q, head, awk's exit) fails the pipeline whenever
// the writer meets the closed pipe (SIGPIPE): bash's printf writes line by line, so that depends on timing. Such a pipe
// is allowed only where its status is ignored (|| true).
describe("no step pipes into a reader that stops early", () => {
    const early = /(^|[^|])\|\s*(grep\s+(-\w*[qm]|--quiet|--max-count)|head\b|awk\s+'[^']*\bexit\b)/;
    test.each(scripts)("%s", (_name, script) => {
        expect(script.split("\n").filter(line => early.test(line) && !/\|\|\s*true\b/.test(line))).toEqual([]);
    });

    test("the check finds such a pipe", () => {
        const lines = [`printf '%s\\n' "$stat" | grep -q '^# pxname' || fail "x"`, `v=$(sort -V | head -n1)`, `awk '{ print; exit }' f`, `x=$(crictl ps -q | head -n1) || true`];
        expect(lines.filter(line => early.test(line) && !/\|\|\s*true\b/.test(line))).toEqual(lines.slice(0, 2));
    });
});
