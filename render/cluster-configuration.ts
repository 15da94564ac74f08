import { toYaml } from "./yaml";
import { formatGoDuration } from "../spec/duration";
import { defined } from "../spec/merge";
import { joinHostPort } from "../spec/network";
import { Arg, ControlPlaneComponentSpec } from "../spec/types";
import { DEFAULTS, ResolvedCluster } from "../spec/validate";
import { ENCRYPTION_CONFIG_PATH } from "./encryption";
import { encryptionConfigVolume } from "./manifests/control-plane";

/** Flags and volumes pulumi-kubeadm adds itself (e.g. encryption at rest), recorded so kubeadm can regenerate the same manifests. */
export interface ComponentAdditions {
    apiServer?: ControlPlaneComponentSpec;
    controllerManager?: ControlPlaneComponentSpec;
    scheduler?: ControlPlaneComponentSpec;
}

/**
 * What every control plane pulumi-kubeadm places adds to kubeadm's defaults: the encryption config
 * (always placed; with encryption disabled it still reads what the keys encrypted).
 */
export function controlPlaneAdditions(): ComponentAdditions {
    return { apiServer: { extraArgs: [{ name: "encryption-provider-config", value: ENCRYPTION_CONFIG_PATH }], extraVolumes: [encryptionConfigVolume(ENCRYPTION_CONFIG_PATH)] } };
}

/**
 * The ClusterConfiguration kubeadm stores in `kube-system/kubeadm-config`: v1beta4, what kubeadm
 * 1.33 to 1.37 upload (1.37 also reads v1, and no longer v1beta3). Keys come out sorted, as Go's
 * sigs.k8s.io/yaml writes them.
 */
export function clusterConfiguration(c: ResolvedCluster, additions: ComponentAdditions = {}): Record<string, unknown> {
    const s = c.spec;
    const certsDir = s.certificates?.certificatesDir ?? DEFAULTS.certificatesDir;
    const args = (list: Arg[]) => list.map(a => ({ name: a.name, value: a.value }));
    const component = (own: ControlPlaneComponentSpec | undefined, added: ControlPlaneComponentSpec | undefined) => {
        const extraArgs = [...(own?.extraArgs ?? []), ...(added?.extraArgs ?? [])];
        const extraVolumes = [...(own?.extraVolumes ?? []), ...(added?.extraVolumes ?? [])];
        const extraEnvs = [...(own?.extraEnvs ?? []), ...(added?.extraEnvs ?? [])];
        return defined({
            extraArgs: extraArgs.length ? args(extraArgs) : undefined,
            extraVolumes: extraVolumes.length ? extraVolumes.map(v => defined({ ...v })) : undefined,
            extraEnvs: extraEnvs.length ? extraEnvs : undefined,
        });
    };
    const apiServer = defined({
        ...component(s.apiServer, additions.apiServer),
        certSANs: s.apiServer?.certSANs?.length ? s.apiServer.certSANs : undefined,
    });

    const etcdSpec = s.etcd ?? {};
    const etcd = c.etcdTopology === "stacked"
        ? { local: defined({
            dataDir: etcdSpec.dataDir ?? DEFAULTS.etcdDataDir,
            extraArgs: etcdSpec.extraArgs?.length ? args(etcdSpec.extraArgs) : undefined,
            extraEnvs: etcdSpec.extraEnvs?.length ? etcdSpec.extraEnvs : undefined,
            imageRepository: etcdSpec.imageRepository,
            imageTag: etcdSpec.imageTag,
            serverCertSANs: etcdSpec.serverCertSANs?.length ? etcdSpec.serverCertSANs : undefined,
            peerCertSANs: etcdSpec.peerCertSANs?.length ? etcdSpec.peerCertSANs : undefined,
        }) }
        : { external: {
            endpoints: c.etcdTopology === "external"
                ? etcdSpec.external!.endpoints
                : c.etcdMembers.map(m => `https://${joinHostPort(m.address, 2379)}`),
            caFile: `${certsDir}/etcd/ca.crt`,
            certFile: `${certsDir}/apiserver-etcd-client.crt`,
            keyFile: `${certsDir}/apiserver-etcd-client.key`,
        } };

    const addon = (a: typeof s.dns) => defined({ disabled: a?.disabled ? true : undefined, imageRepository: a?.imageRepository, imageTag: a?.imageTag });
    const featureGates = { ...(s.featureGates ?? {}) };

    return defined({
        apiServer,
        apiVersion: "kubeadm.k8s.io/v1beta4",
        caCertificateValidityPeriod: formatGoDuration((s.certificates?.caValidityHours ?? DEFAULTS.caValidityHours) * 3600),
        certificateValidityPeriod: formatGoDuration((s.certificates?.validityHours ?? DEFAULTS.validityHours) * 3600),
        certificatesDir: certsDir,
        clusterName: c.clusterName,
        controlPlaneEndpoint: joinHostPort(c.endpoint.host, c.endpoint.port),
        controllerManager: component(s.controllerManager, additions.controllerManager),
        dns: addon(s.dns),
        encryptionAlgorithm: s.certificates?.encryptionAlgorithm ?? DEFAULTS.encryptionAlgorithm,
        etcd,
        featureGates: Object.keys(featureGates).length ? featureGates : undefined,
        imageRepository: s.imageRepository ?? DEFAULTS.imageRepository,
        kind: "ClusterConfiguration",
        kubernetesVersion: c.version.version,
        networking: defined({
            dnsDomain: c.networking.dnsDomain,
            podSubnet: c.networking.podSubnet || undefined,
            serviceSubnet: c.networking.serviceSubnet,
        }),
        // kubeadm's v1beta4 Proxy has only "disabled" (the kube-proxy image follows imageRepository and the version).
        proxy: defined({ disabled: s.proxy?.disabled ? true : undefined }),
        scheduler: component(s.scheduler, additions.scheduler),
    });
}

export function clusterConfigurationYaml(c: ResolvedCluster, additions?: ComponentAdditions): string {
    return toYaml(clusterConfiguration(c, additions));
}
