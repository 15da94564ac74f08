import { spawnSync } from "node:child_process";
import yaml from "js-yaml";
import { Registration } from "./mocks";

/** A Kubernetes object the mock runtime recorded, as the provider would send it, and whose credentials it uses. */
export interface RecordedObject {
    /** The Pulumi resource name. */
    name: string;
    /** The provider resource's name ("r-objects-super-admin"). */
    provider: string;
    /** The objects (one for a typed resource; a ConfigGroup's documents). */
    objects: object[];
}

const TYPED = /^kubernetes:([^:]+):(\w+)$/;

/**
 * The Kubernetes objects of a mock-runtime run, in registration order (which is dependency order),
 * as the Kubernetes provider would apply them: a typed resource's inputs under the apiVersion and
 * kind of its type token, a ConfigGroup's YAML documents. Patches (`...Patch` types) are left out,
 * with the reason in `skipped`: they patch Nodes, which only a kubelet registers.
 */
export function recordedObjects(registrations: Registration[]): { objects: RecordedObject[]; skipped: string[] } {
    const objects: RecordedObject[] = [];
    const skipped: string[] = [];
    for (const r of registrations) {
        // A ConfigGroup is a component the provider serves (not custom); the typed objects are custom resources.
        if (!r.type.startsWith("kubernetes:") || (!r.custom && r.type !== "kubernetes:yaml/v2:ConfigGroup")) continue;
        const { provider: _provider, ...inputs } = r.inputs;
        // "urn:pulumi:<stack>::<project>::pulumi:providers:kubernetes::<name>::<id>"
        const providerName = r.provider.split("::")[3] ?? "";
        if (r.type === "kubernetes:yaml/v2:ConfigGroup") {
            objects.push({ name: r.name, provider: providerName, objects: (yaml.loadAll(String(inputs.yaml ?? "")) as object[]).filter(Boolean) });
            continue;
        }
        const m = TYPED.exec(r.type);
        if (!m) throw new Error(`${r.name}: a Kubernetes type this helper does not apply: ${r.type}`);
        if (m[2].endsWith("Patch")) {
            skipped.push(`${r.name} (${m[2]})`);
            continue;
        }
        const [group, version] = m[1].split("/");
        objects.push({ name: r.name, provider: providerName, objects: [{ apiVersion: group === "core" ? version : `${group}/${version}`, kind: m[2], ...inputs }] });
    }
    return { objects, skipped };
}

/** `kubectl apply --server-side` of OBJECTS with KUBECONFIG, as the provider applies (server-side apply, its field manager): kubectl's output, or throws with it. */
export function serverSideApply(kubectl: string, kubeconfig: string, objects: object[]): string {
    const r = spawnSync(kubectl, ["--kubeconfig", kubeconfig, "apply", "--server-side", "--field-manager=pulumi-kubernetes", "--force-conflicts", "-f", "-"], {
        input: objects.map(o => yaml.dump(o)).join("---\n"), encoding: "utf8", timeout: 120_000,
    });
    if (r.status !== 0) throw new Error(`kubectl apply --server-side failed (exit ${r.status}): ${r.stderr}${r.stdout}`);
    return r.stdout;
}
