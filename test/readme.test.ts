import * as fs from "node:fs";
import * as path from "node:path";

// The README's claims that can be checked: every command, path, field and import it names exists.
const root = path.resolve(__dirname, "..");
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
const read = (p: string) => fs.readFileSync(path.join(root, p), "utf8");
const unique = (xs: string[]) => [...new Set(xs)];

test("every `npm run` command it names is a script of package.json", () => {
    const scripts = Object.keys(JSON.parse(read("package.json")).scripts);
    const named = unique([...readme.matchAll(/npm run ([a-z][a-z:-]*)/g)].map(m => m[1]));
    expect(named.length).toBeGreaterThan(3);
    expect(named.filter(n => !scripts.includes(n))).toEqual([]);
});

test("every path of the repository it names exists (docs/api is what npm run docs writes)", () => {
    const generated = [JSON.parse(read("typedoc.json")).out];
    const named = unique([...readme.matchAll(/[`(]((?:examples|docs|test|scripts|spec|render|components|provider|bench|\.ci)\/[^`)\s]*)[`)]/g)].map(m => m[1]));
    expect(named.length).toBeGreaterThan(10);
    const missing = named.filter(p => !fs.existsSync(path.join(root, p)) && !generated.some(g => p.replace(/\/$/, "") === g));
    expect(missing).toEqual([]);
});

test("every cluster field it names (`upgrade.maxUnavailable`) is a row of docs/configuration.md", () => {
    const rows = new Set([...read("docs/configuration.md").matchAll(/^\| `([^`]+)` \|/gm)].map(m => m[1].replace(/\[\]/g, "")));
    const topLevel = new Set([...rows].filter(r => !r.includes(".")));
    const named = unique([...readme.matchAll(/`([a-z][A-Za-z]*(?:\.[a-z][A-Za-z]*)+)`/g)].map(m => m[1]))
        .filter(f => topLevel.has(f.split(".")[0]) && !/\.(conf|ya?ml|crt|key|pub|ts|json|sh)$/.test(f));
    expect(named.length).toBeGreaterThan(20);
    // Below a component's configuration (`kubelet.config.failSwapOn`) the keys are the component's own.
    const known = (f: string) => rows.has(f) || f.split(".").some((_, i, s) => i > 0 && s[i - 1] === "config" && rows.has(s.slice(0, i).join(".")));
    expect(named.filter(f => !known(f))).toEqual([]);
});

test("every name its programs import from pulumi-kubeadm is exported by the package", () => {
    const exported = new Set([...read("index.ts").matchAll(/export (?:type )?\{([^}]*)\}/g)].flatMap(m => m[1].split(",").map(s => s.trim().split(/\s+as\s+/).pop()!)).filter(Boolean));
    for (const star of [...read("index.ts").matchAll(/export \* from "\.\/([^"]+)"/g)].map(m => m[1])) {
        for (const m of read(`${star}.ts`).matchAll(/^export (?:interface|type|const|function|class) (\w+)/gm)) exported.add(m[1]);
    }
    const imported = unique([...readme.matchAll(/import \{([^}]*)\} from "pulumi-kubeadm"/g)].flatMap(m => m[1].split(",").map(s => s.trim())).filter(Boolean));
    expect(imported.length).toBeGreaterThan(3);
    expect(imported.filter(n => !exported.has(n))).toEqual([]);
});

test("every component it names as kubeadm:index:<Name> is in the provider's schema", () => {
    const resources = Object.keys(JSON.parse(read("schema.json")).resources);
    const named = unique([...readme.matchAll(/`(kubeadm:index:\w+)`/g)].map(m => m[1]));
    expect(named.length).toBeGreaterThan(0);
    expect(named.filter(n => !resources.includes(n))).toEqual([]);
});

test("every file the example stack config names is in the repository, or the README says where to get it", () => {
    const config = read("examples/ha-cluster/Pulumi.example.yaml");
    for (const file of [...config.matchAll(/manifestFile: ([^,}\s]+)/g)].map(m => m[1])) {
        const there = fs.existsSync(path.join(root, "examples/ha-cluster", file)) || fs.existsSync(path.join(root, file));
        expect([file, there || new RegExp(`https://\\S+/${file.replace(/\./g, "\\.")}`).test(readme)]).toEqual([file, true]);
    }
});

test("every rehearsal option it names is one the rehearsal accepts", () => {
    const section = readme.slice(readme.indexOf("## Rehearse a cluster on this machine"), readme.indexOf("## Quick start on real hosts"));
    const accepted = new Set([...read("scripts/rehearse.ts").matchAll(/a === "(--[a-z-]+)"/g)].map(m => m[1]));
    const named = unique([...section.matchAll(/(?<![\w-])(--[a-z][a-z-]+)/g)].map(m => m[1]));
    expect(named.length).toBeGreaterThan(4);
    expect(named.filter(o => !accepted.has(o))).toEqual([]);
});
