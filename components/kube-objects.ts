import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { KubeObject } from "../render/cluster-objects";

type Ctor = new (name: string, args: any, opts?: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/** The typed @pulumi/kubernetes class of each kind we create (typed, so Secrets stay secret). */
const KINDS: { [apiVersionKind: string]: Ctor } = {
    "v1/ConfigMap": k8s.core.v1.ConfigMap,
    "v1/Secret": k8s.core.v1.Secret,
    "v1/Service": k8s.core.v1.Service,
    "v1/ServiceAccount": k8s.core.v1.ServiceAccount,
    "apps/v1/DaemonSet": k8s.apps.v1.DaemonSet,
    "apps/v1/Deployment": k8s.apps.v1.Deployment,
    "rbac.authorization.k8s.io/v1/ClusterRole": k8s.rbac.v1.ClusterRole,
    "rbac.authorization.k8s.io/v1/ClusterRoleBinding": k8s.rbac.v1.ClusterRoleBinding,
    "rbac.authorization.k8s.io/v1/Role": k8s.rbac.v1.Role,
    "rbac.authorization.k8s.io/v1/RoleBinding": k8s.rbac.v1.RoleBinding,
};

/** A Pulumi name for an object: prefix, kind, namespace and name ("c-clusterrolebinding-kubeadm-cluster-admins"). */
export function objectResourceName(prefix: string, o: Pick<KubeObject, "kind" | "metadata">): string {
    const ns = o.metadata.namespace ? `${o.metadata.namespace}-` : "";
    return `${prefix}-${o.kind.toLowerCase()}-${ns}${o.metadata.name.replace(/:/g, "-")}`;
}

/**
 * Creates a Kubernetes object given as data (apiVersion, kind and metadata plain; other fields may
 * be Inputs), with its typed resource class. The object stays in the cluster when its resource is
 * deleted (retainOnDelete): a rename or re-parent creates the new resource, which takes the same
 * object over, before the old one's delete would remove it; and kubeadm's objects (kubeadm-config,
 * cluster-info, its RBAC) are what kubeadm's own tooling reads, possibly made by kubeadm first.
 */
export function kubeObject(prefix: string, o: KubeObject, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
    const ctor = KINDS[`${o.apiVersion}/${o.kind}`];
    if (!ctor) throw new Error(`no resource class for ${o.apiVersion} ${o.kind}`);
    const { apiVersion: _apiVersion, kind: _kind, ...fields } = o;
    return new ctor(objectResourceName(prefix, o), fields, { retainOnDelete: true, ...opts });
}
