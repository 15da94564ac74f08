import { ControlPlane } from "../../components/control-plane";
import { ClusterPki } from "../../components/pki";
import { ClusterSpec } from "../../spec/types";

/** A ControlPlane named "cp" on ClusterPki's ECDSA-P256 certificates, for the spec's control planes and etcd hosts, given three etcd client endpoints. */
export function controlPlaneProgram(spec: ClusterSpec): ControlPlane {
    const pki = new ClusterPki("pki", {
        controlPlaneEndpoint: spec.controlPlaneEndpoint!, networking: spec.networking, kubeconfigs: true, certificates: { encryptionAlgorithm: "ECDSA-P256" },
        // ClusterPki takes names and addresses only (it rejects a host's other fields).
        controlPlanes: spec.hosts.filter(h => h.roles.includes("control-plane")).map(({ name, address }) => ({ name, address })),
        etcdMembers: spec.hosts.filter(h => h.roles.includes("etcd")).map(({ name, address }) => ({ name, address })),
    });
    return new ControlPlane("cp", { ...spec, certificates: { encryptionAlgorithm: "ECDSA-P256" }, pki, etcdClientEndpoints: ["https://10.0.20.11:2379", "https://10.0.20.12:2379", "https://10.0.20.13:2379"] });
}
