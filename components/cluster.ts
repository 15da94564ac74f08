import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { controlPlaneNodeMetadata } from "../render/cluster-objects";
import { clusterConfigurationYaml, controlPlaneAdditions } from "../render/cluster-configuration";
import { joinHostPort } from "../spec/network";
import { ClusterArgs, resolveClusterArgs } from "../spec/cluster-args";
import { etcdChecks } from "../render/host-preflight";
import { ClusterNode, EtcdSnapshot } from "../spec/types";
import { DEFAULTS } from "../spec/validate";
import { AddOns } from "./addons";
import { BootstrapObjects } from "./bootstrap-objects";
import { ControlPlane, controlPlaneSteps } from "./control-plane";
import { EtcdCluster, etcdHealthGate, etcdPreflights, etcdPreparations } from "./etcd";
import { recordHostKeys } from "./host-keys";
import { ClusterPki } from "./pki";
import { etcdSnapshotStep, parseEtcdSnapshot, recordUpgrade, upgradePreflightStep } from "./upgrade";
import { Workers } from "./worker";

export type { ClusterArgs } from "../spec/cluster-args";
export { resolveClusterArgs } from "../spec/cluster-args";
export { upgradePlanOf } from "./upgrade";

/**
 * A kubeadm-style cluster on existing hosts, in kubeadm's order: PKI; every host's preflight (none
 * changes anything); with nodePreparation, every host's preparation once all passed, each followed by
 * the checks of what it installed; etcd on its own hosts (or, stacked, with each control plane); the load
 * balancer and the first control plane; the cluster objects (RBAC, bootstrap token, cluster-info,
 * kubeadm's ConfigMaps); the other control planes one at a time; the add-ons and the workers (in
 * parallel on a new cluster; on a version change with an installer, kubelets in batches of
 * upgrade.maxUnavailable, each drained first).
 */
export class Cluster extends pulumi.ComponentResource {
    /** The cluster's ClusterConfiguration as kubeadm stores it in kube-system/kubeadm-config. */
    public readonly clusterConfiguration: pulumi.Output<string>;
    public readonly kubernetesVersion: pulumi.Output<string>;
    public readonly caCertPem: pulumi.Output<string>;
    /** `sha256:<hex>` for `kubeadm join --discovery-token-ca-cert-hash`. */
    public readonly discoveryTokenCaCertHash: pulumi.Output<string>;
    /** "https://<controlPlaneEndpoint>". */
    public readonly endpoint: pulumi.Output<string>;
    /** admin.conf (group kubeadm:cluster-admins). Secret. @secret */
    public readonly adminKubeconfig: pulumi.Output<string>;
    /** `kubeadm join <endpoint> --token … --discovery-token-ca-cert-hash sha256:…`. Secret. @secret */
    public readonly joinCommand: pulumi.Output<string>;
    /** Every node: name, address and roles. */
    public readonly nodes: pulumi.Output<ClusterNode[]>;
    /** A provider with admin.conf's credentials, for deploying workloads once the cluster is up. */
    public readonly provider: k8s.Provider;
    /** The etcd snapshot taken before the last version change (none on a new cluster, or with upgrade.etcdSnapshot false). */
    public readonly etcdSnapshot: pulumi.Output<EtcdSnapshot | undefined>;

    constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
        const { cluster, warnings } = resolveClusterArgs(args);
        super("kubeadm:index:Cluster", name, {}, opts);
        for (const w of warnings) pulumi.log.warn(w, this);
        const parent = { parent: this };

        const s = cluster.spec;
        // Before any step connects: the host keys that are recorded rather than given (every step pins its host's key).
        recordHostKeys(name, s.hosts, "hosts", this);
        const pki = new ClusterPki(`${name}-pki`, {
            controlPlaneEndpoint: s.controlPlaneEndpoint!,
            networking: s.networking,
            controlPlanes: cluster.controlPlanes.map(h => ({ name: h.name, address: h.address })),
            etcdMembers: cluster.etcdMembers.map(h => ({ name: h.name, address: h.address })),
            externalEtcd: cluster.etcdTopology === "external",
            apiServerCertSANs: s.apiServer?.certSANs,
            etcdServerCertSANs: s.etcd?.serverCertSANs,
            etcdPeerCertSANs: s.etcd?.peerCertSANs,
            certificates: s.certificates,
            kubeconfigs: true,
            // As kubeadm upgrade: a new version renews every leaf certificate.
            renewal: s.upgrade?.renewCertificates === false ? undefined : cluster.version.version,
        }, parent);

        // Every host's preflight comes before any change: the etcd members', the control planes' and the workers'
        // (the etcd members' own installs wait for theirs inside EtcdCluster too). With nodePreparation, every host's
        // preparation comes after all of them (after the upgrade preflight, the one step that waits for every
        // preflight, so no host's preparation names every other host), and before any other change.
        let resolvePreflights!: (r: pulumi.Resource[]) => void;
        const otherPreflights = new Promise<pulumi.Resource[]>(r => { resolvePreflights = r; });
        let resolvePreparations!: (r: pulumi.Resource[]) => void;
        const preparations = new Promise<pulumi.Resource[]>(r => { resolvePreparations = r; });
        // Before a version change touches anything (after every preflight): the cluster's health, then a snapshot of etcd.
        const healthy = upgradePreflightStep(name, cluster, otherPreflights, this);
        const snapshot = etcdSnapshotStep(name, cluster, healthy, this);
        const firstChanges: pulumi.Resource[] = [healthy, ...(snapshot ? [snapshot.step] : [])];
        const workers = new Workers(`${name}-workers`, { caCertPem: pki.caCertPem }, { ...parent, cluster, beforePreparation: firstChanges });
        // Stacked etcd is the control planes' own (each joins the members before it); dedicated etcd hosts come first.
        const etcd = cluster.etcdTopology !== "dedicated" ? undefined : new EtcdCluster(`${name}-etcd`, {
            kubernetesVersion: cluster.version.version, members: cluster.etcdMembers, pki, topology: cluster.etcdTopology,
            certificatesDir: s.certificates?.certificatesDir, ignorePreflightErrors: etcdChecks(s.ignorePreflightErrors, s.etcd?.dataDir ?? DEFAULTS.etcdDataDir), nodePreparation: s.nodePreparation,
            dataDir: s.etcd?.dataDir, imageRepository: s.etcd?.imageRepository ?? s.imageRepository, imageTag: s.etcd?.imageTag,
            extraArgs: s.etcd?.extraArgs, extraEnvs: s.etcd?.extraEnvs,
        }, { ...parent, hostKeysRecorded: true, after: Promise.all([otherPreflights, preparations]).then(([p, q]) => [...p, ...firstChanges, ...q]), beforePreparation: firstChanges });

        let resolveObjects!: (r: pulumi.Resource[]) => void;
        const objectsReady = new Promise<pulumi.Resource[]>(r => { resolveObjects = r; });
        const controlPlane = new ControlPlane(`${name}-control-plane`, { ...args, pki, etcdClientEndpoints: etcd?.clientEndpoints }, {
            ...parent, resolved: cluster, after: [...(etcd ? [etcdHealthGate(etcd), ...etcdPreparations(etcd)] : []), ...workers.preflights, ...workers.preparations, ...firstChanges],
            afterFirst: objectsReady, beforePreparation: firstChanges,
        });
        const cp = controlPlaneSteps(controlPlane);
        resolvePreflights([...cp.preflights, ...workers.preflights, ...(etcd ? etcdPreflights(etcd) : [])]);
        // The etcd members' installs wait for the other hosts' preparations (their own they wait for inside EtcdCluster).
        resolvePreparations([...cp.preparations, ...workers.preparations]);

        const first = cp.nodes[0];
        const objects = new BootstrapObjects(`${name}-objects`, {
            caCertPem: pki.caCertPem, nodeKubeconfigCerts: pki.nodeKubeconfigCerts, nodeKubeconfigKeys: pki.nodeKubeconfigKeys,
        }, { ...parent, cluster, after: first.lastSteps });
        resolveObjects(objects.objects);

        // mark-control-plane: each control plane's labels once it is ready and registered (its kubelet registers the Node meanwhile; no explicit wait for the Node yet).
        const marks = cp.nodes.map((n, i) => new k8s.core.v1.NodePatch(`${name}-mark-control-plane-${n.nodeName}`, {
            metadata: controlPlaneNodeMetadata(n.nodeName, cluster.version.minor, cluster.controlPlanes[i].criSocket ?? DEFAULTS.criSocket),
        }, { parent: objects, provider: objects.provider, dependsOn: [...n.lastSteps, objects.clusterAdmins] }));

        const allControlPlanes = [...cp.nodes.flatMap(n => n.lastSteps), ...cp.etcdGate];
        const joins = workers.join(`${name}-workers`, objects.joinToken, [...allControlPlanes, ...objects.objects]);
        // The add-ons follow the control planes (kubeadm upgrade apply's addon phase), not the workers' kubelets.
        const addons = new AddOns(`${name}-addons`, {}, { ...parent, cluster, kubernetes: objects.provider, after: [...objects.objects, ...marks, ...allControlPlanes] });
        recordUpgrade(this, name, cluster, [...addons.resources, ...objects.objects, ...joins, ...marks, ...allControlPlanes]);

        const endpoint = joinHostPort(cluster.endpoint.host, cluster.endpoint.port);
        this.clusterConfiguration = pulumi.output(clusterConfigurationYaml(cluster, controlPlaneAdditions()));
        this.kubernetesVersion = pulumi.output(cluster.version.version);
        this.caCertPem = pki.caCertPem;
        this.discoveryTokenCaCertHash = pki.discoveryTokenCaCertHash;
        this.endpoint = pulumi.output(`https://${endpoint}`);
        this.adminKubeconfig = objects.adminKubeconfig;
        this.joinCommand = pulumi.secret(pulumi.interpolate`kubeadm join ${endpoint} --token ${objects.joinToken} --discovery-token-ca-cert-hash ${pki.discoveryTokenCaCertHash}`);
        this.nodes = pulumi.output(s.hosts.map(h => ({ name: h.name, address: h.address, roles: h.roles })));
        this.provider = objects.provider;
        this.etcdSnapshot = snapshot ? snapshot.step.stdout.apply(out => parseEtcdSnapshot(out, snapshot.host)) : pulumi.output(undefined);
        this.registerOutputs({
            clusterConfiguration: this.clusterConfiguration, kubernetesVersion: this.kubernetesVersion,
            caCertPem: this.caCertPem, discoveryTokenCaCertHash: this.discoveryTokenCaCertHash,
            endpoint: this.endpoint, adminKubeconfig: this.adminKubeconfig, joinCommand: this.joinCommand, nodes: this.nodes,
            etcdSnapshot: this.etcdSnapshot,
        });
    }
}
