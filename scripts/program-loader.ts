import * as path from "node:path";
import ts from "typescript";

/**
 * Lets `require` load a Pulumi program written in TypeScript, as the Pulumi CLI's nodejs host does:
 * `.ts` files are transpiled on load, `pulumi-kubeadm` is this checkout (`library`, its compiled
 * index), and `@pulumi/*` is this checkout's copy, so the program meets the same runtime (and mocks).
 */
export function useTypeScriptPrograms(library: string): void {
    const Module = require("node:module");
    const resolve = Module._resolveFilename;
    const root = path.resolve(path.dirname(library), "..");
    Module._resolveFilename = function (request: string, parent: unknown, ...rest: unknown[]) {
        if (request === "pulumi-kubeadm") return library;
        if (request.startsWith("@pulumi/")) return resolve.call(this, request, { id: root, filename: path.join(root, "index.js"), paths: [path.join(root, "node_modules")] }, ...rest);
        return resolve.call(this, request, parent, ...rest);
    };
    require.extensions[".ts"] = (module: any, filename: string) => {
        const source = require("node:fs").readFileSync(filename, "utf8");
        const out = ts.transpileModule(source, {
            fileName: filename,
            compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
        });
        module._compile(out.outputText, filename);
    };
}
