// Validates Kubernetes objects against the API types of one Kubernetes release, strictly (an
// unknown field anywhere is an error), in a separate Node process because @kubernetes/client-node
// 1.x is ES modules only. The types come from the official client generated for that release
// (package.json aliases k8s-api-<minor>: the field names and types of every model, from the
// release's OpenAPI spec); ajv checks the objects against a JSON Schema built from them.
//
// stdin: {"release": "1.33", "objects": [{"type": "V1Pod", "object": {...}}, ...]}
// stdout: [{"errors": ["/spec/containers/0 must NOT have additional properties (foo)", ...]}, ...]
import { createRequire } from "node:module";
import Ajv from "ajv";

const require = createRequire(import.meta.url);

async function models(release) {
    const pkg = `k8s-api-${release.replace(".", "-")}`;
    try {
        return await import(`${pkg}/dist/gen/models/all.js`); // client-node 1.x and later
    } catch {
        return require(`${pkg}/dist/gen/model/models.js`); // client-node 0.x
    }
}

function schemaOf(type, format) {
    let m;
    if (type === "string") return { type: "string" };
    // metav1.Time: Go writes the zero time as null (kubeadm 1.33's creationTimestamp: null) and reads it back.
    if (type === "Date") return { type: ["string", "null"] };
    if (type === "number") return { type: /int/.test(format ?? "") ? "integer" : "number" };
    if (type === "boolean") return { type: "boolean" };
    if (type === "IntOrString") return { type: ["string", "integer"] };
    if (type === "object" || type === "any") return {};
    if ((m = /^Array<(.+)>$/.exec(type))) return { type: "array", items: schemaOf(m[1], format) };
    if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) return { type: "object", additionalProperties: schemaOf(m[1], format) };
    if (/^[A-Za-z0-9]+$/.test(type)) return { $ref: `#/definitions/${type}` };
    throw new Error(`unhandled type ${type}`);
}

const KINDS = { V1Pod: { apiVersion: "v1", kind: "Pod" } };

const input = JSON.parse(await new Promise(resolve => {
    let text = "";
    process.stdin.setEncoding("utf8").on("data", d => (text += d)).on("end", () => resolve(text));
}));
const all = await models(input.release);
const definitions = {};
for (const [name, cls] of Object.entries(all)) {
    if (typeof cls?.getAttributeTypeMap !== "function") continue;
    const properties = {};
    for (const { baseName, type, format } of cls.getAttributeTypeMap()) properties[baseName] = schemaOf(type, format);
    definitions[name] = { type: "object", additionalProperties: false, properties };
}
const ajv = new Ajv({ allErrors: true, strict: false });
const out = input.objects.map(({ type, object }) => {
    if (!definitions[type]) return { errors: [`${type} is not a type of Kubernetes ${input.release}`] };
    const root = structuredClone(definitions[type]);
    const pinned = KINDS[type];
    if (pinned) for (const [k, v] of Object.entries(pinned)) root.properties[k] = { const: v };
    root.required = Object.keys(pinned ?? {});
    const validate = ajv.compile({ ...root, definitions });
    return validate(object) ? { errors: [] } : {
        errors: validate.errors.map(e => `${e.instancePath || "/"} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ""}`),
    };
});
process.stdout.write(JSON.stringify(out));
