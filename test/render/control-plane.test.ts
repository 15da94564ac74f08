import { apiServerPod, ControlPlaneInput, controllerManagerPod, schedulerPod } from "../../render/manifests/control-plane";
import { SUPPORTED_MINORS } from "../../render/versions";

function input(minor: string, extra: Partial<ControlPlaneInput> = {}): ControlPlaneInput {
    return {
        minor, version: `v${minor}.2`, imageRepository: "registry.k8s.io", node: { name: "cp-1", address: "10.0.10.11" }, bindPort: 6443,
        certificatesDir: "/etc/kubernetes/pki", clusterName: "kubernetes", serviceSubnet: "10.96.0.0/12", podSubnet: "10.244.0.0/16",
        dnsDomain: "cluster.local", etcdServers: [], caCertDirs: ["/etc/ca-certificates", "/usr/share/ca-certificates", "/usr/local/share/ca-certificates"],
        externalCa: false, ...extra,
    };
}

// Reference §3.2: the 27 default flags of kube-apiserver (local etcd, IPv4), in sorted order.
const APISERVER_FLAGS = [
    "--advertise-address=10.0.10.11", "--allow-privileged=true", "--authorization-mode=Node,RBAC",
    "--client-ca-file=/etc/kubernetes/pki/ca.crt", "--enable-admission-plugins=NodeRestriction", "--enable-bootstrap-token-auth=true",
    "--etcd-cafile=/etc/kubernetes/pki/etcd/ca.crt", "--etcd-certfile=/etc/kubernetes/pki/apiserver-etcd-client.crt",
    "--etcd-keyfile=/etc/kubernetes/pki/apiserver-etcd-client.key", "--etcd-servers=https://127.0.0.1:2379",
    "--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt", "--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key",
    "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname", "--proxy-client-cert-file=/etc/kubernetes/pki/front-proxy-client.crt",
    "--proxy-client-key-file=/etc/kubernetes/pki/front-proxy-client.key", "--requestheader-allowed-names=front-proxy-client",
    "--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt", "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    "--requestheader-group-headers=X-Remote-Group", "--requestheader-username-headers=X-Remote-User", "--secure-port=6443",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local", "--service-account-key-file=/etc/kubernetes/pki/sa.pub",
    "--service-account-signing-key-file=/etc/kubernetes/pki/sa.key", "--service-cluster-ip-range=10.96.0.0/12",
    "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt", "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key",
];

// Reference §3.3 with podSubnet set.
const KCM_FLAGS = [
    "--allocate-node-cidrs=true", "--authentication-kubeconfig=/etc/kubernetes/controller-manager.conf",
    "--authorization-kubeconfig=/etc/kubernetes/controller-manager.conf", "--bind-address=127.0.0.1",
    "--client-ca-file=/etc/kubernetes/pki/ca.crt", "--cluster-cidr=10.244.0.0/16", "--cluster-name=kubernetes",
    "--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt", "--cluster-signing-key-file=/etc/kubernetes/pki/ca.key",
    "--controllers=*,bootstrapsigner,tokencleaner", "--kubeconfig=/etc/kubernetes/controller-manager.conf", "--leader-elect=true",
    "--requestheader-client-ca-file=/etc/kubernetes/pki/front-proxy-ca.crt", "--root-ca-file=/etc/kubernetes/pki/ca.crt",
    "--service-account-private-key-file=/etc/kubernetes/pki/sa.key", "--service-cluster-ip-range=10.96.0.0/12",
    "--use-service-account-credentials=true",
];

// Reference §3.4.
const SCHEDULER_FLAGS = [
    "--authentication-kubeconfig=/etc/kubernetes/scheduler.conf", "--authorization-kubeconfig=/etc/kubernetes/scheduler.conf",
    "--bind-address=127.0.0.1", "--kubeconfig=/etc/kubernetes/scheduler.conf", "--leader-elect=true",
];

const CA_VOLUMES = [
    { hostPath: { path: "/etc/ca-certificates", type: "DirectoryOrCreate" }, name: "etc-ca-certificates" },
    { hostPath: { path: "/etc/ssl/certs", type: "DirectoryOrCreate" }, name: "ca-certs" },
    { hostPath: { path: "/usr/local/share/ca-certificates", type: "DirectoryOrCreate" }, name: "usr-local-share-ca-certificates" },
    { hostPath: { path: "/usr/share/ca-certificates", type: "DirectoryOrCreate" }, name: "usr-share-ca-certificates" },
];
const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);

describe.each(SUPPORTED_MINORS.map(m => [m]))("control-plane static pods for Kubernetes %s (reference §3)", minor => {
    const namedPorts = Number(minor.split(".")[1]) >= 34;

    test("kube-apiserver: kubeadm's 27 flags, image, probes on the advertise address, 250m, sorted volumes, the endpoint annotation", () => {
        const pod = apiServerPod(input(minor));
        const c = pod.spec.containers[0];
        expect(c.command).toEqual(["kube-apiserver", ...APISERVER_FLAGS]);
        expect(c.image).toBe(`registry.k8s.io/kube-apiserver:v${minor}.2`);
        expect(pod.metadata.annotations).toEqual({ "kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint": "10.0.10.11:6443" });
        const port = namedPorts ? "probe-port" : 6443;
        expect(c.livenessProbe).toEqual({ failureThreshold: 8, httpGet: { host: "10.0.10.11", path: "/livez", port, scheme: "HTTPS" }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15 });
        expect(c.readinessProbe).toEqual({ failureThreshold: 3, httpGet: { host: "10.0.10.11", path: "/readyz", port, scheme: "HTTPS" }, periodSeconds: 1, timeoutSeconds: 15 });
        expect(c.startupProbe).toEqual({ failureThreshold: 24, httpGet: { host: "10.0.10.11", path: "/livez", port, scheme: "HTTPS" }, initialDelaySeconds: 10, periodSeconds: 10, timeoutSeconds: 15 });
        expect(c.ports).toEqual(namedPorts ? [{ containerPort: 6443, name: "probe-port", protocol: "TCP" }] : undefined);
        expect(c.resources).toEqual({ requests: { cpu: "250m" } });
        expect(pod.spec.volumes).toEqual([...CA_VOLUMES, { hostPath: { path: "/etc/kubernetes/pki", type: "DirectoryOrCreate" }, name: "k8s-certs" }].sort(byName));
        expect(c.volumeMounts.every((m: any) => m.readOnly === true)).toBe(true);
        expect(pod.metadata.labels).toEqual({ component: "kube-apiserver", tier: "control-plane" });
    });

    test("kube-controller-manager: kubeadm's flags, 127.0.0.1:10257 /healthz, 200m, kubeconfig and (before 1.36) flexvolume mounts", () => {
        const pod = controllerManagerPod(input(minor));
        const c = pod.spec.containers[0];
        expect(c.command).toEqual(["kube-controller-manager", ...KCM_FLAGS]);
        expect(c.livenessProbe.httpGet).toEqual({ host: "127.0.0.1", path: "/healthz", port: namedPorts ? "probe-port" : 10257, scheme: "HTTPS" });
        expect(c.startupProbe.httpGet.path).toBe("/healthz");
        expect(c.readinessProbe).toBeUndefined();
        expect(c.resources).toEqual({ requests: { cpu: "200m" } });
        expect(pod.spec.volumes).toEqual([...CA_VOLUMES,
            { hostPath: { path: "/etc/kubernetes/pki", type: "DirectoryOrCreate" }, name: "k8s-certs" },
            { hostPath: { path: "/etc/kubernetes/controller-manager.conf", type: "FileOrCreate" }, name: "kubeconfig" },
            ...(Number(minor.split(".")[1]) >= 36 ? [] : [{ hostPath: { path: "/usr/libexec/kubernetes/kubelet-plugins/volume/exec", type: "DirectoryOrCreate" }, name: "flexvolume-dir" }]),
        ].sort(byName));
        if (Number(minor.split(".")[1]) < 36) expect(c.volumeMounts.find((m: any) => m.name === "flexvolume-dir").readOnly).toBeUndefined();
    });

    test("kube-scheduler: kubeadm's flags, 127.0.0.1:10259 /livez and /readyz, 100m, its kubeconfig", () => {
        const pod = schedulerPod(input(minor));
        const c = pod.spec.containers[0];
        expect(c.command).toEqual(["kube-scheduler", ...SCHEDULER_FLAGS]);
        expect(c.livenessProbe.httpGet).toEqual({ host: "127.0.0.1", path: "/livez", port: namedPorts ? "probe-port" : 10259, scheme: "HTTPS" });
        expect(c.startupProbe.httpGet.path).toBe("/livez");
        expect(c.readinessProbe.httpGet).toEqual({ host: "127.0.0.1", path: "/readyz", port: namedPorts ? "probe-port" : 10259, scheme: "HTTPS" });
        expect(c.resources).toEqual({ requests: { cpu: "100m" } });
        expect(pod.spec.volumes).toEqual([{ hostPath: { path: "/etc/kubernetes/scheduler.conf", type: "FileOrCreate" }, name: "kubeconfig" }]);
    });
});

describe("variants (reference §3.2–3.3)", () => {
    test("external etcd: --etcd-servers lists the endpoints", () => {
        const c = apiServerPod(input("1.33", { etcdServers: ["https://10.0.20.11:2379", "https://10.0.20.12:2379"] })).spec.containers[0];
        expect(c.command).toContain("--etcd-servers=https://10.0.20.11:2379,https://10.0.20.12:2379");
    });

    test("without a pod subnet the controller-manager allocates no node CIDRs", () => {
        const flags = controllerManagerPod(input("1.33", { podSubnet: "" })).spec.containers[0].command;
        for (const f of ["--allocate-node-cidrs", "--cluster-cidr", "--service-cluster-ip-range"]) expect(flags.some((a: string) => a.startsWith(f))).toBe(false);
    });

    test("a wildcard bind address leaves the probe host empty (kubeadm's getProbeAddress)", () => {
        const c = schedulerPod(input("1.33", { scheduler: { extraArgs: [{ name: "bind-address", value: "0.0.0.0" }] } })).spec.containers[0];
        expect(c.livenessProbe.httpGet).toEqual({ path: "/livez", port: 10259, scheme: "HTTPS" });
        expect(controllerManagerPod(input("1.33", { controllerManager: { extraArgs: [{ name: "bind-address", value: "10.0.10.11" }] } })).spec.containers[0].livenessProbe.httpGet.host).toBe("10.0.10.11");
    });

    test("external-CA mode: empty signing files", () => {
        const flags = controllerManagerPod(input("1.33", { externalCa: true })).spec.containers[0].command;
        expect(flags).toContain("--cluster-signing-cert-file=");
        expect(flags).toContain("--cluster-signing-key-file=");
    });

    test("a user arg replaces every default of its name; user args follow the sorted defaults in their order; authorization-config drops authorization-mode", () => {
        const c = apiServerPod(input("1.33", { apiServer: { extraArgs: [
            { name: "enable-admission-plugins", value: "NodeRestriction,PodSecurity" }, { name: "audit-log-path", value: "/var/log/audit.log" },
            { name: "authorization-config", value: "/etc/kubernetes/authz.yaml" },
        ] } })).spec.containers[0];
        expect(c.command.filter((a: string) => a.startsWith("--enable-admission-plugins"))).toEqual(["--enable-admission-plugins=NodeRestriction,PodSecurity"]);
        expect(c.command[1]).toBe("--advertise-address=10.0.10.11");
        // As the real kubeadm's ArgumentsToCommand: the defaults sorted, then the user's args as given.
        expect(c.command.slice(-3)).toEqual(["--enable-admission-plugins=NodeRestriction,PodSecurity", "--audit-log-path=/var/log/audit.log", "--authorization-config=/etc/kubernetes/authz.yaml"]);
        expect(c.command.some((a: string) => a.startsWith("--authorization-mode"))).toBe(false);
    });

    test("extraVolumes are added and replace a default of the same name; extraEnvs are set", () => {
        const pod = apiServerPod(input("1.33", { apiServer: {
            extraVolumes: [{ name: "audit", hostPath: "/var/log/kubernetes", mountPath: "/var/log/kubernetes", pathType: "DirectoryOrCreate" },
                { name: "ca-certs", hostPath: "/etc/pki/tls/certs", mountPath: "/etc/ssl/certs", readOnly: true }],
            extraEnvs: [{ name: "GOMAXPROCS", value: "4" }],
        } }));
        expect(pod.spec.volumes.find((v: any) => v.name === "audit")).toEqual({ hostPath: { path: "/var/log/kubernetes", type: "DirectoryOrCreate" }, name: "audit" });
        expect(pod.spec.volumes.filter((v: any) => v.name === "ca-certs")).toEqual([{ hostPath: { path: "/etc/pki/tls/certs", type: "DirectoryOrCreate" }, name: "ca-certs" }]);
        expect(pod.spec.containers[0].env).toEqual([{ name: "GOMAXPROCS", value: "4" }]);
    });

    test("encryption at rest: the flag and a read-only mount of its directory", () => {
        const pod = apiServerPod(input("1.33", { encryptionProviderConfig: "/etc/kubernetes/enc/encryption-config.yaml" }));
        expect(pod.spec.containers[0].command).toContain("--encryption-provider-config=/etc/kubernetes/enc/encryption-config.yaml");
        expect(pod.spec.containers[0].volumeMounts).toContainEqual({ mountPath: "/etc/kubernetes/enc", name: "encryption-config", readOnly: true });
    });

    test("IPv6: local etcd on [::1], bracketed endpoint annotation", () => {
        const pod = apiServerPod(input("1.33", { node: { name: "cp-1", address: "fd00::11" }, serviceSubnet: "fd00:10:96::/112" }));
        expect(pod.spec.containers[0].command).toContain("--etcd-servers=https://[::1]:2379");
        expect(pod.metadata.annotations["kubeadm.kubernetes.io/kube-apiserver.advertise-address.endpoint"]).toBe("[fd00::11]:6443");
    });
});
