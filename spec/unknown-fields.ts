import * as pulumi from "@pulumi/pulumi";
import schema from "../schema.json";
import { Problems, UNKNOWN_FIELD } from "./problems";

/**
 * Unknown fields in a component's args, found by walking them along schema.json: the package
 * schema generated from the interfaces of spec/types.ts by scripts/schema.ts (and checked for
 * staleness by test/provider/schema.test.ts), so the known fields are listed nowhere else.
 */

interface SchemaProperty {
    type?: string;
    $ref?: string;
    items?: SchemaProperty;
    additionalProperties?: SchemaProperty;
}
type Properties = Record<string, SchemaProperty>;

export const COMPONENTS = ["Cluster", "ClusterPki", "EtcdCluster", "ControlPlane", "Preflight", "WorkerJoin"] as const;
export type Component = typeof COMPONENTS[number];

const RESOURCES = schema.resources as unknown as Record<string, { inputProperties: Properties }>;
const TYPES = schema.types as unknown as Record<string, { properties?: Properties }>;
const TYPE_PREFIX = "#/types/kubeadm:index:";
/** Lists whose items are hosts: their fields are reported with the host's name. */
const NAMED_ITEMS = new Set(["HostSpec", "NodeAddress"]);

/** The input fields of a component, as schema.json lists them. */
export function componentFields(component: Component): string[] {
    return Object.keys(RESOURCES[`kubeadm:index:${component}`].inputProperties);
}

/** The fields of a type of spec/types.ts, e.g. "NetworkingSpec". */
export function typeFields(type: string): string[] {
    return Object.keys(TYPES[`kubeadm:index:${type}`]?.properties ?? {});
}

/** `hosts[2] (worker-2)`: an item of a list of hosts, by index and, when it has one, by name. */
export function itemField(list: string, index: number, item: unknown): string {
    const name = (item as { name?: unknown } | null)?.name;
    return typeof name === "string" && name !== "" ? `${list}[${index}] (${name})` : `${list}[${index}]`;
}

/**
 * Reports every field of `args` the component does not have, at any depth, with the closest
 * known name. `omit` takes top-level fields out of what is accepted (kubeadmConfig, when the
 * spec checked is the one already merged with it).
 */
export function checkUnknownFields(p: Problems, args: unknown, component: Component, omit: readonly string[] = []): void {
    const properties = { ...RESOURCES[`kubeadm:index:${component}`].inputProperties };
    for (const k of omit) delete properties[k];
    checkObject(p, args, properties, "");
}

function checkObject(p: Problems, value: unknown, properties: Properties, field: string): void {
    if (!isPlainObject(value)) return;
    const known = Object.keys(properties);
    for (const [key, v] of Object.entries(value)) {
        const f = field === "" ? key : `${field}.${key}`;
        const property = properties[key];
        if (property === undefined) {
            if (v !== undefined) p.add(f, UNKNOWN_FIELD, unknownFieldAdvice(key, known));
            continue;
        }
        checkValue(p, v, property, f);
    }
}

function checkValue(p: Problems, value: unknown, property: SchemaProperty, field: string): void {
    if (value === undefined || value === null || pulumi.Output.isInstance(value)) return;
    if (property.$ref?.startsWith(TYPE_PREFIX)) {
        const type = TYPES[property.$ref.slice("#/types/".length)];
        checkObject(p, value, type?.properties ?? {}, field);
        return;
    }
    if (property.type === "array" && property.items && Array.isArray(value)) {
        const items = property.items;
        const named = NAMED_ITEMS.has(items.$ref?.slice(TYPE_PREFIX.length) ?? "");
        value.forEach((item, i) => checkValue(p, item, items, named ? itemField(field, i, item) : `${field}[${i}]`));
        return;
    }
    if (property.type === "object" && property.additionalProperties && isPlainObject(value)) {
        for (const [k, v] of Object.entries(value)) checkValue(p, v, property.additionalProperties, `${field}.${k}`);
    }
}

/** `did you mean "podSubnet"? (accepted: podSubnet, serviceSubnet, dnsDomain)`. */
export function unknownFieldAdvice(name: string, known: readonly string[], what = "accepted"): string {
    const guess = closest(name, known);
    return `${guess ? `did you mean "${guess}"? ` : ""}(${what}: ${known.length ? known.join(", ") : "no fields"})`;
}

/** The known name a misspelling most likely meant, if one is close enough. */
export function closest(name: string, known: readonly string[]): string | undefined {
    const lower = name.toLowerCase();
    let best: { k: string; d: number } | undefined;
    for (const k of known) {
        const kl = k.toLowerCase();
        const d = kl === lower ? 0 : (kl.startsWith(lower) || lower.startsWith(kl)) && Math.min(kl.length, lower.length) >= 4 ? 1 : editDistance(lower, kl);
        if (!best || d < best.d) best = { k, d };
    }
    return best && best.d <= Math.max(2, Math.floor(name.length / 4)) ? best.k : undefined;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and swaps of neighbours. */
function editDistance(a: string, b: string): number {
    const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
    for (let j = 1; j <= b.length; j++) d[0][j] = j;
    for (let i = 1; i <= a.length; i++) {
        for (let j = 1; j <= b.length; j++) {
            const cost = a[i - 1] === b[j - 1] ? 0 : 1;
            d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
    }
    return d[a.length][b.length];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
    return typeof v === "object" && v !== null && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);
}
