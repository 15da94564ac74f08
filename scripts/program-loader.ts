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

/**
 * `pulumi preview`'s type check of a TypeScript program (its nodejs host compiles with ts-node,
 * type-checking): the program's tsconfig.json when its directory has one, else the compiler
 * options of `pulumi new typescript`'s; `pulumi-kubeadm` is this checkout's types (`library`'s
 * .d.ts) and `@pulumi/*` this checkout's copy, as at run time. The errors, as file:line:col.
 */
export function typeCheckProgram(entry: string, library: string): string[] {
    const dir = path.dirname(entry);
    const root = path.resolve(path.dirname(library), "..");
    const problems: string[] = [];
    let options: ts.CompilerOptions = { ...PULUMI_TYPESCRIPT_TEMPLATE };
    const tsconfig = path.join(dir, "tsconfig.json");
    if (require("node:fs").existsSync(tsconfig)) {
        const read = ts.readConfigFile(tsconfig, ts.sys.readFile);
        const parsed = ts.parseJsonConfigFileContent(read.config ?? {}, ts.sys, dir, undefined, tsconfig);
        problems.push(...[read.error, ...parsed.errors].filter((d): d is ts.Diagnostic => d !== undefined).map(format));
        options = parsed.options;
    }
    // The runtime (useTypeScriptPrograms) loads default imports as esModuleInterop does; the types come from this checkout.
    options = { ...options, esModuleInterop: true, noEmit: true, skipLibCheck: true, typeRoots: [path.join(root, "node_modules/@types")], types: options.types ?? ["node"] };
    const host = ts.createCompilerHost(options);
    const types = library.replace(/\.js$/, ".d.ts");
    host.resolveModuleNameLiterals = (literals, containingFile, _redirect, opts) => literals.map(literal => {
        const name = literal.text;
        if (name === "pulumi-kubeadm") return { resolvedModule: { resolvedFileName: types, extension: ts.Extension.Dts, isExternalLibraryImport: true } };
        return ts.resolveModuleName(name, name.startsWith("@pulumi/") ? path.join(root, "index.ts") : containingFile, opts, host);
    });
    const program = ts.createProgram({ rootNames: [entry], options, host });
    const diagnostics = ts.getPreEmitDiagnostics(program).filter(d => d.category === ts.DiagnosticCategory.Error);
    return [...problems, ...diagnostics.map(format)];
}

/** The compiler options of the tsconfig.json `pulumi new typescript` writes. */
const PULUMI_TYPESCRIPT_TEMPLATE: ts.CompilerOptions = {
    strict: true, target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, moduleResolution: ts.ModuleResolutionKind.Node10,
    experimentalDecorators: true, noFallthroughCasesInSwitch: true, noImplicitReturns: true, forceConsistentCasingInFileNames: true,
};

function format(d: ts.Diagnostic): string {
    const message = ts.flattenDiagnosticMessageText(d.messageText, "\n");
    if (!d.file || d.start === undefined) return `error TS${d.code}: ${message}`;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${d.file.fileName}:${line + 1}:${character + 1} - error TS${d.code}: ${message}`;
}
