import { joinHostPort } from "../spec/network";
import { HostSpec, NodeAddress, Taint } from "../spec/types";
import { DEFAULTS, ResolvedCluster } from "../spec/validate";
import { ENCRYPTION_CONFIG_PATH, encryptionConfigCheck } from "./encryption";
import { APISERVER_MANIFEST, CONTROLLER_MANAGER_MANIFEST, HostFacts, SCHEDULER_MANIFEST } from "./control-plane-scripts";
import { kubeadmFlagsEnv, KUBELET_DROPIN_DIR, kubeletConfig, kubeletInstanceConfig, nodeKubeletInput } from "./kubelet";
import { kubeconfig } from "./kubeconfig";
import { ETCD_MANIFEST } from "./etcd-scripts";
import { apiServerPod, ControlPlaneInput, controllerManagerPod, schedulerPod } from "./manifests/control-plane";
import { etcdPod, EtcdPodInput } from "./manifests/etcd";
import { PlacedFile } from "./scripts";
import { toYaml } from "./yaml";

type FileMap = { [path: string]: string };

/** What ClusterPki (with kubeconfigs) issued, as plain maps. */
export interface ControlPlaneMaterial {
    publicFiles: FileMap;
    privateFiles: FileMap;
    /** This node's own: "apiserver.crt". */
    nodePublicFiles: FileMap;
    nodePrivateFiles: FileMap;
    /** This node's kubeconfig client certificates and keys, by kubeconfig file ("admin.conf"). */
    kubeconfigCerts: FileMap;
    kubeconfigKeys: FileMap;
    /** With an external etcd cluster: its CA and the API server's client certificate and key. */
    externalEtcd?: { caCert: string; clientCert: string; clientKey: string };
    /** The EncryptionConfiguration (secret): always placed; with encryption disabled it writes plaintext but still reads what keys encrypted. */
    encryptionConfig?: string;
}

export interface ControlPlaneFilesInput {
    cluster: ResolvedCluster;
    node: HostSpec;
    /** The first control plane (kubeadm init's node) also gets super-admin.conf. */
    first: boolean;
    facts: HostFacts;
    /** Client URLs of etcd (dedicated or external); ignored for etcd stacked on the control planes. */
    etcdServers: string[];
    material: ControlPlaneMaterial;
}

export interface ControlPlaneFiles {
    /** In kubeadm's order: certificates, kubeconfigs, encryption config, kubelet files, manifests. Secret ones have no content. */
    files: PlacedFile[];
    /** Contents of the secret files, for stdin. */
    secrets: { path: string; content: string }[];
}

/** The default control-plane taint kubeadm applies (nodeRegistration.taints unset). */
export const CONTROL_PLANE_TAINT: Taint = { key: "node-role.kubernetes.io/control-plane", effect: "NoSchedule" };

export function controlPlaneTaints(cluster: ResolvedCluster): Taint[] {
    return cluster.spec.controlPlaneTaints ?? [CONTROL_PLANE_TAINT];
}

export function controlPlaneInput(cluster: ResolvedCluster, node: HostSpec, facts: HostFacts, etcdServers: string[], externalCa: boolean): ControlPlaneInput {
    const s = cluster.spec;
    return {
        minor: cluster.version.minor,
        version: cluster.version.version,
        imageRepository: s.imageRepository ?? DEFAULTS.imageRepository,
        node: { name: node.name, address: node.address },
        bindPort: s.apiServer?.bindPort ?? DEFAULTS.bindPort,
        certificatesDir: s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir,
        clusterName: cluster.clusterName,
        serviceSubnet: cluster.networking.serviceSubnet,
        podSubnet: cluster.networking.podSubnet,
        dnsDomain: cluster.networking.dnsDomain,
        etcdServers: cluster.etcdTopology === "stacked" ? [] : etcdServers,
        caCertDirs: facts.caCertDirs,
        externalCa,
        encryptionProviderConfig: ENCRYPTION_CONFIG_PATH,
        apiServer: s.apiServer,
        controllerManager: s.controllerManager,
        scheduler: s.scheduler,
        startupFailureThreshold: Math.ceil((s.apiServer?.readinessTimeoutSeconds ?? DEFAULTS.readinessTimeoutSeconds) / 10),
    };
}

/** A control plane's stacked etcd member: its data dir, and the members that join before it (the control planes listed before it). */
export function stackedEtcdMember(cluster: ResolvedCluster, node: HostSpec): { dataDir: string; before: NodeAddress[] } {
    const index = cluster.controlPlanes.findIndex(h => h.name === node.name);
    return {
        dataDir: cluster.spec.etcd?.dataDir ?? DEFAULTS.etcdDataDir,
        before: cluster.controlPlanes.slice(0, index).map(h => ({ name: h.name, address: h.address })),
    };
}

/**
 * kubeadm's local etcd on a control plane: the first one starts a one-member cluster (kubeadm
 * init); each next one joins the members before it (kubeadm join --control-plane), so its
 * initial cluster lists them and itself, with initial-cluster-state "existing".
 */
export function stackedEtcdPodInput(cluster: ResolvedCluster, node: HostSpec): EtcdPodInput {
    const s = cluster.spec;
    const { dataDir, before } = stackedEtcdMember(cluster, node);
    return {
        minor: cluster.version.minor,
        imageRepository: s.etcd?.imageRepository ?? s.imageRepository ?? DEFAULTS.imageRepository,
        imageTag: s.etcd?.imageTag ?? cluster.version.etcd,
        member: { name: node.name, address: node.address },
        initialCluster: [...before, { name: node.name, address: node.address }],
        initialClusterState: before.length === 0 ? "new" : "existing",
        topology: "stacked",
        dataDir,
        certificatesDir: s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir,
        extraArgs: s.etcd?.extraArgs,
        extraEnvs: s.etcd?.extraEnvs,
        startupFailureThreshold: Math.ceil((s.apiServer?.readinessTimeoutSeconds ?? DEFAULTS.readinessTimeoutSeconds) / 10),
    };
}

/**
 * Every file kubeadm init (first node) or kubeadm join --control-plane leaves on a control plane,
 * with kubeadm's paths and modes: shared CAs and keys, the node's own apiserver certificate, its
 * kubeconfigs (super-admin.conf on the first only), the encryption config, the kubelet's files and
 * the user's kubelet drop-ins, then the three static pod manifests.
 */
export function controlPlaneFiles(i: ControlPlaneFilesInput): ControlPlaneFiles {
    const { cluster, node, material: m } = i;
    const s = cluster.spec;
    const pki = s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir;
    const files: PlacedFile[] = [];
    const secrets: { path: string; content: string }[] = [];
    const need = (map: FileMap, key: string, where: string) => {
        if (map[key] === undefined) throw new Error(`control plane ${node.name}: ${where} has no "${key}"; pass ClusterPki's outputs (with kubeconfigs: true) for this cluster`);
        return map[key];
    };
    const pub = (path: string, content: string, mode = "0644") => files.push({ path, mode, content });
    const secret = (path: string, content: string, mode = "0600", check?: PlacedFile["check"]) => {
        files.push({ path, mode, secret: true, ...(check ? { check } : {}) });
        secrets.push({ path, content });
    };

    const externalCa = m.privateFiles["ca.key"] === undefined;
    for (const name of ["ca", "front-proxy-ca"]) {
        pub(`${pki}/${name}.crt`, need(m.publicFiles, `${name}.crt`, "publicFiles"));
        if (m.privateFiles[`${name}.key`] !== undefined) secret(`${pki}/${name}.key`, m.privateFiles[`${name}.key`]);
    }
    pub(`${pki}/apiserver.crt`, need(m.nodePublicFiles, "apiserver.crt", `nodePublicFiles["${node.name}"]`));
    secret(`${pki}/apiserver.key`, need(m.nodePrivateFiles, "apiserver.key", `nodePrivateFiles["${node.name}"]`));
    for (const name of ["apiserver-kubelet-client", "front-proxy-client"]) {
        pub(`${pki}/${name}.crt`, need(m.publicFiles, `${name}.crt`, "publicFiles"));
        secret(`${pki}/${name}.key`, need(m.privateFiles, `${name}.key`, "privateFiles"));
    }
    if (cluster.etcdTopology === "external") {
        const x = m.externalEtcd;
        if (!x) throw new Error(`control plane ${node.name}: etcd.external's certificates are missing`);
        pub(`${pki}/etcd/ca.crt`, x.caCert);
        pub(`${pki}/apiserver-etcd-client.crt`, x.clientCert);
        secret(`${pki}/apiserver-etcd-client.key`, x.clientKey);
    } else {
        pub(`${pki}/etcd/ca.crt`, need(m.publicFiles, "etcd/ca.crt", "publicFiles"));
        // Stacked members' control planes keep the etcd CA key, as kubeadm copies it (kubeadm certs renew uses it).
        if (cluster.etcdTopology === "stacked" && m.privateFiles["etcd/ca.key"] !== undefined) secret(`${pki}/etcd/ca.key`, m.privateFiles["etcd/ca.key"]);
        pub(`${pki}/apiserver-etcd-client.crt`, need(m.publicFiles, "apiserver-etcd-client.crt", "publicFiles"));
        secret(`${pki}/apiserver-etcd-client.key`, need(m.privateFiles, "apiserver-etcd-client.key", "privateFiles"));
    }
    // kubeadm writes sa.pub with keyutil.WriteKey, as a key: 0600.
    pub(`${pki}/sa.pub`, need(m.publicFiles, "sa.pub", "publicFiles"), "0600");
    secret(`${pki}/sa.key`, need(m.privateFiles, "sa.key", "privateFiles"));

    const bindPort = s.apiServer?.bindPort ?? DEFAULTS.bindPort;
    const endpoint = `https://${joinHostPort(cluster.endpoint.host, cluster.endpoint.port)}`;
    const local = `https://${joinHostPort(node.address, bindPort)}`;
    // ControlPlaneKubeletLocalMode (on by default from 1.33, or as featureGates says): the kubelet talks to its own API server.
    const localMode = s.featureGates?.ControlPlaneKubeletLocalMode ?? Number(cluster.version.minor.split(".")[1]) >= 33;
    const kubeletServer = localMode ? local : endpoint;
    const kubeconfigs: [string, string, string][] = [
        ["admin.conf", "kubernetes-admin", endpoint],
        ...(i.first ? [["super-admin.conf", "kubernetes-super-admin", endpoint] as [string, string, string]] : []),
        ["controller-manager.conf", "system:kube-controller-manager", local],
        ["scheduler.conf", "system:kube-scheduler", local],
        ["kubelet.conf", `system:node:${node.name}`, kubeletServer],
    ];
    const caCertPem = need(m.publicFiles, "ca.crt", "publicFiles");
    for (const [file, user, server] of kubeconfigs) {
        secret(`/etc/kubernetes/${file}`, kubeconfig({
            clusterName: cluster.clusterName, server, caCertPem, user, minor: cluster.version.minor,
            clientCertPem: need(m.kubeconfigCerts, file, `nodeKubeconfigCerts["${node.name}"]`),
            clientKeyPem: need(m.kubeconfigKeys, file, `nodeKubeconfigKeys["${node.name}"]`),
        }));
    }
    if (m.encryptionConfig === undefined) throw new Error(`control plane ${node.name}: no EncryptionConfiguration was given`);
    secret(ENCRYPTION_CONFIG_PATH, m.encryptionConfig, "0600", encryptionConfigCheck());

    const kubelet = nodeKubeletInput(cluster, node, i.facts, controlPlaneTaints(cluster));
    pub("/var/lib/kubelet/config.yaml", kubeletConfig(kubelet));
    pub("/var/lib/kubelet/kubeadm-flags.env", kubeadmFlagsEnv(kubelet));
    const instance = kubeletInstanceConfig(kubelet);
    if (instance) pub("/var/lib/kubelet/instance-config.yaml", instance);
    for (const d of s.kubelet?.dropIns ?? []) pub(`${KUBELET_DROPIN_DIR}/${d.name}`, d.content.endsWith("\n") ? d.content : `${d.content}\n`);

    const pods = controlPlaneInput(cluster, node, i.facts, i.etcdServers, externalCa);
    if (cluster.etcdTopology === "stacked") {
        for (const name of ["server", "peer"]) {
            pub(`${pki}/etcd/${name}.crt`, need(m.nodePublicFiles, `etcd/${name}.crt`, `nodePublicFiles["${node.name}"]`));
            secret(`${pki}/etcd/${name}.key`, need(m.nodePrivateFiles, `etcd/${name}.key`, `nodePrivateFiles["${node.name}"]`));
        }
        pub(`${pki}/etcd/healthcheck-client.crt`, need(m.publicFiles, "etcd/healthcheck-client.crt", "publicFiles"));
        secret(`${pki}/etcd/healthcheck-client.key`, need(m.privateFiles, "etcd/healthcheck-client.key", "privateFiles"));
        pub(ETCD_MANIFEST, toYaml(etcdPod(stackedEtcdPodInput(cluster, node))), "0600");
    }
    pub(APISERVER_MANIFEST, toYaml(apiServerPod(pods)), "0600");
    pub(CONTROLLER_MANAGER_MANIFEST, toYaml(controllerManagerPod(pods)), "0600");
    pub(SCHEDULER_MANIFEST, toYaml(schedulerPod(pods)), "0600");
    return { files, secrets };
}
