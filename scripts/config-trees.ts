/**
 * Field trees of Kubernetes configuration files, as the argument checks read them
 * (spec/config-keys.ts): a struct is an object of its fields, a field whose value is free
 * (a scalar, a list of scalars, a map of scalars) is 1, and a map whose values are structs is
 * {"*": tree}. Lists are transparent: a list of structs has the struct's tree.
 */
export type FieldTree = 1 | { [field: string]: FieldTree };

/** From a strict JSON Schema (test/fixtures/config-schemas/), following $ref, nullable anyOf and arrays. */
export function treeFromJsonSchema(root: any): FieldTree {
    const resolve = (s: any): any => (s?.$ref ? resolve(root.definitions[s.$ref.replace("#/definitions/", "")]) : s);
    const walk = (schema: any, seen: string[]): FieldTree => {
        const s = resolve(schema);
        if (!s) return 1;
        const branches = (s.anyOf ?? s.oneOf ?? []).map(resolve).filter((b: any) => b && b.type !== "null");
        if (branches.length === 1) return walk(branches[0], seen);
        if (s.type === "array" || (Array.isArray(s.type) && s.type.includes("array"))) return walk(s.items, seen);
        if (s.properties) {
            const out: { [k: string]: FieldTree } = {};
            for (const [k, v] of Object.entries<any>(s.properties)) out[k] = walk(v, seen);
            return out;
        }
        if (s.additionalProperties && typeof s.additionalProperties === "object") {
            const values = walk(s.additionalProperties, seen);
            return values === 1 ? 1 : { "*": values };
        }
        return 1;
    };
    return walk(root, []);
}

interface GoField { json: string; type: string; inline: boolean; map: boolean }

/** The structs of Go source files: name -> fields with their json names and element types. */
export function goStructs(sources: string[]): Map<string, GoField[]> {
    const structs = new Map<string, GoField[]>();
    for (const text of sources) {
        for (const m of text.matchAll(/^type (\w+) struct \{\n([\s\S]*?)^\}/gm)) {
            const fields: GoField[] = [];
            for (const line of m[2].split("\n")) {
                const f = /^\s*(?:(\w+)\s+)?([\w.*[\]]+)\s+`json:"([^"]*)"/.exec(line);
                if (!f) continue;
                const [name, ...options] = f[3].split(",");
                if (name === "-") continue;
                fields.push({
                    json: name, type: f[2].replace(/^(\*|\[\]|map\[string\])+/, "").replace(/^.*\./, ""), map: /^\*?map\[/.test(f[2]),
                    inline: options.includes("inline") || (f[1] === undefined && name === ""),
                });
            }
            structs.set(m[1], fields);
        }
    }
    return structs;
}

/** A Go struct's field tree; TypeMeta inlined as apiVersion and kind. */
export function treeFromGo(structs: Map<string, GoField[]>, root: string): FieldTree {
    const walk = (type: string, seen: string[]): FieldTree => {
        const fields = structs.get(type);
        if (!fields || seen.includes(type)) return 1;
        const out: { [k: string]: FieldTree } = {};
        for (const f of fields) {
            if (f.inline) {
                if (f.type === "TypeMeta") Object.assign(out, { apiVersion: 1, kind: 1 });
                else Object.assign(out, walk(f.type, [...seen, type]));
            } else {
                const tree = walk(f.type, [...seen, type]);
                out[f.json] = f.map && tree !== 1 ? { "*": tree } : tree;
            }
        }
        // A struct without json fields decodes itself (TimeOrMetaDuration's UnmarshalJSON): a free value.
        return Object.keys(out).length ? out : 1;
    };
    return walk(root, []);
}
