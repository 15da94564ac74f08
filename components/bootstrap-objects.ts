import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
    BootstrapToken, bootstrapTokenSecretData, clusterInfoSignature, DEFAULT_TOKEN_DESCRIPTION, DEFAULT_TOKEN_GROUP,
    DEFAULT_TOKEN_TTL, DEFAULT_TOKEN_USAGES, rfc3339, splitToken,
} from "../render/bootstrap-token";
import { clusterConfigurationYaml, controlPlaneAdditions } from "../render/cluster-configuration";
import { bootstrapRbac, bootstrapTokenSecret, clusterAdminsBinding, clusterInfoConfigMap, kubeadmConfigMap, kubeletConfigMap } from "../render/cluster-objects";
import { clusterInfoKubeconfig, kubeconfig } from "../render/kubeconfig";
import { clusterKubeletInput, kubeletConfig } from "../render/kubelet";
import { digest } from "../render/scripts";
import { joinHostPort } from "../spec/network";
import { ResolvedCluster } from "../spec/validate";
import { kubeObject } from "./kube-objects";

type FileMap = { [path: string]: string };

export interface BootstrapObjectsArgs {
    caCertPem: pulumi.Input<string>;
    /** ClusterPki's nodeKubeconfigCerts / nodeKubeconfigKeys: the first control plane's admin.conf and super-admin.conf credentials. */
    nodeKubeconfigCerts: pulumi.Input<{ [node: string]: FileMap }>;
    nodeKubeconfigKeys: pulumi.Input<{ [node: string]: FileMap }>;
}

export interface BootstrapObjectsOptions extends pulumi.ComponentResourceOptions {
    cluster: ResolvedCluster;
    /** What must be up before any object is created: the first control plane, ready and registered. */
    after: pulumi.Resource[];
}

/**
 * What kubeadm init's upload-config, bootstrap-token and (first half of) mark-control-plane
 * phases create through the API, at the control-plane endpoint: the kubeadm:cluster-admins binding
 * (through super-admin.conf, as kubeadm), then with admin.conf the bootstrap token's Secret, the
 * bootstrapping RBAC, cluster-info with its JWS, and the kubeadm-config and kubelet-config
 * ConfigMaps. Objects that already exist (a cluster kubeadm made) are taken over, not failed on.
 */
export class BootstrapObjects extends pulumi.ComponentResource {
    /** A provider with admin.conf's credentials (group kubeadm:cluster-admins) at the control-plane endpoint. */
    public readonly provider: k8s.Provider;
    /** The admin kubeconfig (admin.conf of the first control plane). Secret. @secret */
    public readonly adminKubeconfig: pulumi.Output<string>;
    /** The token workers join with ("id.secret"). Secret. @secret */
    public readonly joinToken: pulumi.Output<string>;
    /** The binding that lets admin.conf act: what anything using `provider` waits for. */
    public readonly clusterAdmins: pulumi.Resource;
    /** Every object created, for what must come after them. */
    public readonly objects: pulumi.Resource[];

    constructor(name: string, args: BootstrapObjectsArgs, opts: BootstrapObjectsOptions) {
        const { cluster, after, ...componentOpts } = opts;
        super("kubeadm:index:BootstrapObjects", name, {}, componentOpts);
        const endpoint = `https://${joinHostPort(cluster.endpoint.host, cluster.endpoint.port)}`;
        const first = cluster.controlPlanes[0].name;
        const kubeconfigOf = (file: string, user: string) => pulumi.secret(pulumi.all([args.caCertPem, args.nodeKubeconfigCerts, args.nodeKubeconfigKeys])
            .apply(([ca, certs, keys]) => {
                const cert = certs[first]?.[file];
                const key = keys[first]?.[file];
                if (!cert || !key) throw new Error(`BootstrapObjects ${name}: no ${file} credentials for ${first}; issue ClusterPki with kubeconfigs: true`);
                return kubeconfig({ clusterName: cluster.clusterName, server: endpoint, caCertPem: ca, user, clientCertPem: cert, clientKeyPem: key, minor: cluster.version.minor });
            }));
        this.adminKubeconfig = kubeconfigOf("admin.conf", "kubernetes-admin");
        // The cluster's identity, not its credentials: a kubeconfig unknown at preview updates the provider instead of replacing every object.
        const clusterIdentifier = `${cluster.clusterName}@${joinHostPort(cluster.endpoint.host, cluster.endpoint.port)}`;
        const providerArgs = { clusterIdentifier, upsertExistingObjects: true, enableServerSideApply: true };
        const superAdmin = new k8s.Provider(`${name}-super-admin`, { ...providerArgs, kubeconfig: kubeconfigOf("super-admin.conf", "kubernetes-super-admin") }, { parent: this });
        this.provider = new k8s.Provider(`${name}-admin`, { ...providerArgs, kubeconfig: this.adminKubeconfig }, { parent: this });

        this.clusterAdmins = kubeObject(name, clusterAdminsBinding(), { parent: this, provider: superAdmin, dependsOn: after });
        // Plain arrays of resources, never an Output of them (an Output would walk every resource it reaches).
        const opt: pulumi.CustomResourceOptions = { parent: this, provider: this.provider, dependsOn: [...after, this.clusterAdmins] };

        const tokens = bootstrapTokens(name, cluster, this);
        this.joinToken = pulumi.secret(pulumi.all([tokens[0].id, tokens[0].secret]).apply(([id, secret]) => `${id}.${secret}`));
        const secrets = tokens.map((t, i) => {
            const secret = pulumi.all([t.id, t.secret, t.issuedAt]).apply(([id, token, issued]) => bootstrapTokenSecret(id, bootstrapTokenSecretData({ ...t.spec, id, secret: token }, issued)));
            return new k8s.core.v1.Secret(`${name}-bootstrap-token-${i}`, {
                type: "bootstrap.kubernetes.io/token",
                metadata: pulumi.unsecret(secret.apply(o => o.metadata)),
                stringData: pulumi.secret(secret.apply(o => o.stringData as { [key: string]: string })),
            }, opt);
        });

        const info = pulumi.output(args.caCertPem).apply(ca => clusterInfoKubeconfig(endpoint, ca, cluster.version.minor));
        const signing = tokens.filter(t => t.spec.usages.includes("signing"));
        // The JWS is public by design (anonymous users read cluster-info); only the token secret is not.
        const signatures = pulumi.unsecret(pulumi.all([info, pulumi.all(signing.map(t => t.id)), pulumi.all(signing.map(t => t.secret))])
            .apply(([kc, ids, secrets]) => Object.fromEntries(ids.map((id, i) => [id, clusterInfoSignature(kc, id, secrets[i])]))));
        const clusterInfoMap = new k8s.core.v1.ConfigMap(`${name}-configmap-kube-public-cluster-info`, {
            metadata: clusterInfoConfigMap("", {}).metadata,
            data: pulumi.all([info, signatures]).apply(([kc, sigs]) => clusterInfoConfigMap(kc, sigs).data as { [k: string]: string }),
        }, { ...opt, retainOnDelete: true });

        const plain = [
            ...bootstrapRbac(),
            kubeadmConfigMap(clusterConfigurationYaml(cluster, controlPlaneAdditions())),
            kubeletConfigMap(kubeletConfig(clusterKubeletInput(cluster))),
        ].map(o => kubeObject(name, o, opt));

        this.objects = [this.clusterAdmins, ...secrets, clusterInfoMap, ...plain];
        this.registerOutputs({ adminKubeconfig: this.adminKubeconfig, joinToken: this.joinToken });
    }
}

interface IssuedToken {
    spec: Omit<BootstrapToken, "id" | "secret">;
    id: pulumi.Output<string>;
    secret: pulumi.Output<string>;
    /** When it was first created (RFC 3339), kept in the state: its expiration is fixed from then. */
    issuedAt: pulumi.Output<string>;
}

/**
 * kubeadm's bootstrap tokens: the user's, or generated. A generated token is minted again whenever
 * the set of workers changes (new workers join with a fresh token; joined ones no longer need
 * one); `pulumi up --replace` on its RandomString mints one at any time.
 */
function bootstrapTokens(name: string, cluster: ResolvedCluster, parent: pulumi.Resource): IssuedToken[] {
    const specs = cluster.spec.bootstrapTokens?.length ? cluster.spec.bootstrapTokens : [{}];
    const keepers = { workers: digest(cluster.workers.map(w => w.name).sort().join(",")).slice(0, 16) };
    return specs.map((t, i) => {
        const spec = {
            description: t.description ?? (i === 0 ? DEFAULT_TOKEN_DESCRIPTION : undefined),
            ttl: t.ttl ?? DEFAULT_TOKEN_TTL,
            usages: t.usages ?? DEFAULT_TOKEN_USAGES,
            groups: t.groups ?? [DEFAULT_TOKEN_GROUP],
        };
        let id: pulumi.Output<string>;
        let secret: pulumi.Output<string>;
        if (t.token !== undefined) {
            const parts = pulumi.secret(t.token).apply(splitToken);
            id = pulumi.unsecret(parts.apply(p => p.id));
            secret = pulumi.secret(parts.apply(p => p.secret));
        } else {
            const chars = { upper: false, lower: true, numeric: true, special: false, keepers };
            id = new random.RandomString(`${name}-token-${i}-id`, { length: 6, ...chars }, { parent }).result;
            secret = pulumi.secret(new random.RandomString(`${name}-token-${i}-secret`, { length: 16, ...chars }, { parent, additionalSecretOutputs: ["result"] }).result);
        }
        const issued = new pulumi.Stash(`${name}-token-${i}-issued`, { input: rfc3339(new Date()) }, { parent, replacementTrigger: id });
        return { spec, id, secret, issuedAt: issued.output as pulumi.Output<string> };
    });
}
