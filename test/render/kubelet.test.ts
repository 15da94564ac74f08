import * as yaml from "js-yaml";
import { kubeadmDropIn, kubeadmFlagsEnv, kubeletConfig, KubeletInput, kubeletInstanceConfig, nodeKubeletInput } from "../../render/kubelet";
import { workerFiles } from "../../render/worker";
import { validateCluster } from "../../spec/validate";
import { haSpec, host } from "../support/fixtures";

const input = (minor: string, extra: Partial<KubeletInput> = {}): KubeletInput => ({
    minor, criSocket: "unix:///var/run/containerd/containerd.sock", imageRepository: "registry.k8s.io", pauseTag: "3.10",
    certificatesDir: "/etc/kubernetes/pki", dnsServiceIp: "10.96.0.10", dnsDomain: "cluster.local", extraArgs: [], ...extra,
});

describe("kubelet files (reference §4)", () => {
    test("config.yaml carries kubeadm's defaults (parity fact 20)", () => {
        const c = yaml.load(kubeletConfig(input("1.33"))) as any;
        expect(c).toMatchObject({
            apiVersion: "kubelet.config.k8s.io/v1beta1", kind: "KubeletConfiguration",
            clusterDNS: ["10.96.0.10"], clusterDomain: "cluster.local", cgroupDriver: "systemd",
            authorization: { mode: "Webhook" }, authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: "/etc/kubernetes/pki/ca.crt" } },
            rotateCertificates: true, staticPodPath: "/etc/kubernetes/manifests", healthzBindAddress: "127.0.0.1", healthzPort: 10248,
            containerRuntimeEndpoint: "",
        });
        expect(c).not.toHaveProperty("resolvConf");
    });

    test("the user's KubeletConfiguration is merged in; rotateCertificates and staticPodPath stay kubeadm's", () => {
        const c = yaml.load(kubeletConfig(input("1.33", { config: { maxPods: 250, rotateCertificates: false, staticPodPath: "/tmp/pods", evictionHard: { "memory.available": "200Mi" }, authentication: { anonymous: { enabled: true } } } }))) as any;
        expect(c).toMatchObject({ maxPods: 250, rotateCertificates: true, staticPodPath: "/etc/kubernetes/manifests", evictionHard: { "memory.available": "200Mi" } });
        expect(c.authentication).toEqual({ anonymous: { enabled: true }, webhook: { cacheTTL: "0s", enabled: true }, x509: { clientCAFile: "/etc/kubernetes/pki/ca.crt" } });
    });

    test("kubeadm-flags.env on 1.33: the CRI endpoint and the pause image (the reference's example line)", () => {
        expect(kubeadmFlagsEnv(input("1.33"))).toBe(
            "KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --pod-infra-container-image=registry.k8s.io/pause:3.10\"\n");
    });

    test("1.34 moves the CRI endpoint into config.yaml (NodeLocalCRISocket); 1.35 drops the pause flag", () => {
        expect(kubeadmFlagsEnv(input("1.34", { pauseTag: "3.10.1" }))).toBe("KUBELET_KUBEADM_ARGS=\"--pod-infra-container-image=registry.k8s.io/pause:3.10.1\"\n");
        expect((yaml.load(kubeletConfig(input("1.34"))) as any).containerRuntimeEndpoint).toBe("unix:///var/run/containerd/containerd.sock");
        expect(kubeadmFlagsEnv(input("1.35"))).toBe("KUBELET_KUBEADM_ARGS=\"\"\n");
    });

    test("instance-config.yaml carries the node's CRI endpoint from 1.34 (reference §4.3), and is absent before", () => {
        expect(kubeletInstanceConfig(input("1.33"))).toBeUndefined();
        // The real kubeadm writes the one field as a patch, quoted.
        expect(kubeletInstanceConfig(input("1.34", { criSocket: "unix:///run/crio/crio.sock" }))).toBe('containerRuntimeEndpoint: "unix:///run/crio/crio.sock"\n');
    });

    test("--node-ip is each node's hosts[].address (a kubelet would otherwise pick an address itself), after kubeadm's own flags and the extra args, as the real kubeadm writes kubeletExtraArgs", () => {
        const cluster = validateCluster(haSpec({ kubelet: { extraArgs: [{ name: "node-labels", value: "zone=a" }] } }));
        const worker = cluster.workers.find(w => w.name === "worker-2")!;
        const env = workerFiles(cluster, worker, { hostname: "ip-10-0-30-22", caCertDirs: [], resolvConf: "" }, "CA").find(f => f.path === "/var/lib/kubelet/kubeadm-flags.env")!.content;
        expect(env).toBe("KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --hostname-override=worker-2 --pod-infra-container-image=registry.k8s.io/pause:3.10 --node-labels=zone=a --node-ip=10.0.30.22\"\n");
        // An IPv6 host's address as it is (the kubelet takes it bare, no brackets).
        const v6 = validateCluster(haSpec({
            networking: { podSubnet: "fd00:10:244::/56", serviceSubnet: "fd00:10:96::/112" },
            hosts: [host("cp-1", "fd00::11", ["control-plane"]), host("worker-1", "fd00::21", ["worker"])], controlPlaneEndpoint: "[fd00::11]:6443",
        }));
        expect(kubeadmFlagsEnv(nodeKubeletInput(v6, v6.workers[0], { hostname: "worker-1", resolvConf: "" }, []))).toContain(" --node-ip=fd00::21\"");
    });

    test("extra args follow kubeadm's sorted flags in their order and replace a default of the same name", () => {
        const env = kubeadmFlagsEnv(input("1.33", { extraArgs: [{ name: "node-labels", value: "zone=a" }, { name: "pod-infra-container-image", value: "mirror.example.internal/pause:3.10" }, { name: "cloud-provider", value: "external" }] }));
        expect(env).toBe("KUBELET_KUBEADM_ARGS=\"--container-runtime-endpoint=unix:///var/run/containerd/containerd.sock --node-labels=zone=a --pod-infra-container-image=mirror.example.internal/pause:3.10 --cloud-provider=external\"\n");
    });

    test("10-kubeadm.conf is the packaged drop-in: kubeconfig, config, flags env, /etc/default/kubelet, then ExecStart", () => {
        const lines = kubeadmDropIn().split("\n").filter(l => l && !l.startsWith("#"));
        expect(lines).toEqual([
            "[Service]",
            "Environment=\"KUBELET_KUBECONFIG_ARGS=--bootstrap-kubeconfig=/etc/kubernetes/bootstrap-kubelet.conf --kubeconfig=/etc/kubernetes/kubelet.conf\"",
            "Environment=\"KUBELET_CONFIG_ARGS=--config=/var/lib/kubelet/config.yaml\"",
            "EnvironmentFile=-/var/lib/kubelet/kubeadm-flags.env",
            "EnvironmentFile=-/etc/default/kubelet",
            "ExecStart=",
            "ExecStart=/usr/bin/kubelet $KUBELET_KUBECONFIG_ARGS $KUBELET_CONFIG_ARGS $KUBELET_KUBEADM_ARGS $KUBELET_EXTRA_ARGS",
        ]);
    });
});
