// Marks `"secret": true` in the package schema on every property whose declaration carries the
// `@secret` doc tag (spec/types.ts, spec/*.ts, components/*.ts). The analyzer that infers the schema
// keeps only a doc comment's text, so the tags are read here, from the same sources, by name: a
// schema type `kubeadm:index:X` is the interface or class X, a resource's inputs are its class's
// `args` parameter and its outputs the class's own properties.
import * as path from "node:path";
import type * as TS from "typescript";

// As the analyzer: the project's TypeScript, or the one @pulumi/pulumi vendors when it has none.
const ts: typeof TS = require("@pulumi/pulumi/typescript-shim");

export const SECRET_TAG = "secret";
const PREFIX = "kubeadm:index:";

interface Property { plain?: boolean; secret?: boolean }
interface SchemaLike {
    resources: Record<string, { inputProperties?: Record<string, Property>; properties?: Record<string, Property> }>;
    types: Record<string, { properties?: Record<string, Property> }>;
}

/** The interfaces and classes of the package's own sources, by name. */
function declarations(root: string): { checker: TS.TypeChecker; byName: Map<string, (TS.InterfaceDeclaration | TS.ClassDeclaration)[]> } {
    const configPath = path.join(root, "tsconfig.json");
    const config = ts.readConfigFile(configPath, ts.sys.readFile);
    const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
    const program = ts.createProgram({ rootNames: parsed.fileNames, options: { ...parsed.options, strictNullChecks: true } });
    const byName = new Map<string, (TS.InterfaceDeclaration | TS.ClassDeclaration)[]>();
    for (const file of program.getSourceFiles()) {
        if (file.isDeclarationFile || !path.resolve(file.fileName).startsWith(root + path.sep) || file.fileName.includes("/node_modules/")) continue;
        ts.forEachChild(file, node => {
            if ((ts.isInterfaceDeclaration(node) || ts.isClassDeclaration(node)) && node.name) {
                byName.set(node.name.text, [...(byName.get(node.name.text) ?? []), node]);
            }
        });
    }
    return { checker: program.getTypeChecker(), byName };
}

const isSecret = (symbol: TS.Symbol) => symbol.getJsDocTags().some(t => t.name === SECRET_TAG);

/** Sets `secret: true` on `props` whose symbols in `type` are tagged; every property must be found. */
function mark(where: string, checker: TS.TypeChecker, type: TS.Type, props: Record<string, Property> | undefined): void {
    for (const [name, prop] of Object.entries(props ?? {})) {
        const symbol = checker.getPropertyOfType(type, name);
        if (!symbol) throw new Error(`schema secrets: ${where}.${name} has no declaration in the sources`);
        if (!isSecret(symbol)) continue;
        // A plain value reaches the component as it is: the SDKs cannot wrap it as a secret.
        if (prop.plain) throw new Error(`schema secrets: ${where}.${name} is tagged @${SECRET_TAG} but is a plain value; make it a pulumi.Input`);
        prop.secret = true;
    }
}

function single(byName: ReturnType<typeof declarations>["byName"], name: string) {
    const found = byName.get(name) ?? [];
    if (found.length !== 1) throw new Error(`schema secrets: ${found.length} declarations named ${name} in the sources (expected 1)`);
    return found[0];
}

/** Marks the schema's secret inputs and outputs in place and returns it. */
export function markSecrets<S extends SchemaLike>(schema: S, root: string): S {
    const { checker, byName } = declarations(path.resolve(root));
    for (const [token, resource] of Object.entries(schema.resources)) {
        const name = token.slice(PREFIX.length);
        const cls = single(byName, name);
        if (!ts.isClassDeclaration(cls)) throw new Error(`schema secrets: ${name} is not a class`);
        const ctor = cls.members.find(ts.isConstructorDeclaration);
        const args = ctor?.parameters.find(p => ts.isIdentifier(p.name) && p.name.text === "args");
        if (!args?.type) throw new Error(`schema secrets: ${name}'s constructor has no typed args`);
        mark(`${name} input`, checker, checker.getTypeAtLocation(args.type), resource.inputProperties);
        mark(`${name} output`, checker, checker.getTypeAtLocation(cls), resource.properties);
    }
    for (const [token, type] of Object.entries(schema.types)) {
        const name = token.slice(PREFIX.length);
        mark(name, checker, checker.getTypeAtLocation(single(byName, name)), type.properties);
    }
    return schema;
}
