import * as fs from "node:fs";
import * as path from "node:path";
import * as ts from "typescript";
import { markSecrets } from "../../provider/secrets";

// schema.json's `"secret": true` marks: what Python, Go, C#, Java and YAML programs are told to
// keep secret. They come from the `@secret` doc tags of the sources (provider/secrets.ts).
const root = path.resolve(__dirname, "../..");
const schema = JSON.parse(fs.readFileSync(path.join(root, "schema.json"), "utf8"));
const PREFIX = "kubeadm:index:";
const REF = `#/types/${PREFIX}`;

/** Every property of the schema, "Cluster.in.hosts", "Cluster.out.joinCommand", "SshSpec.privateKey". */
function schemaProperties(s = schema): Map<string, any> {
    const all = new Map<string, any>();
    for (const [token, r] of Object.entries<any>(s.resources)) {
        for (const [k, p] of Object.entries(r.inputProperties ?? {})) all.set(`${token.slice(PREFIX.length)}.in.${k}`, p);
        for (const [k, p] of Object.entries(r.properties ?? {})) all.set(`${token.slice(PREFIX.length)}.out.${k}`, p);
    }
    for (const [token, t] of Object.entries<any>(s.types)) {
        for (const [k, p] of Object.entries(t.properties ?? {})) all.set(`${token.slice(PREFIX.length)}.${k}`, p);
    }
    return all;
}
const secretOnes = () => [...schemaProperties()].filter(([, p]) => p.secret === true).map(([k]) => k).sort();

/** The members of interfaces and classes in spec/*.ts and components/*.ts, with their doc comments' text and tags. */
function documentedMembers() {
    const files = ["spec", "components"].flatMap(d => fs.readdirSync(path.join(root, d)).filter(f => f.endsWith(".ts")).map(f => path.join(root, d, f)));
    const members: { where: string; text: string; tagged: boolean }[] = [];
    for (const file of files) {
        const source = ts.createSourceFile(file, fs.readFileSync(file, "utf8"), ts.ScriptTarget.ES2022, true);
        ts.forEachChild(source, node => {
            if (!(ts.isInterfaceDeclaration(node) || ts.isClassDeclaration(node)) || !node.name) return;
            for (const m of node.members) {
                if (!m.name || !(ts.isPropertySignature(m) || ts.isPropertyDeclaration(m))) continue;
                const docs = ts.getJSDocCommentsAndTags(m).filter(ts.isJSDoc);
                const text = docs.map(d => ts.getTextOfJSDocComment(d.comment) ?? "").join("\n");
                const tagged = ts.getJSDocTags(m).some(t => t.tagName.text === "secret");
                members.push({ where: `${path.relative(root, file)}: ${node.name.text}.${m.name.getText(source)}`, text, tagged });
            }
        });
    }
    return members;
}

describe("secret inputs and outputs in the package schema", () => {
    test("hosts[].ssh's credentials (and the bastion's) are secret: the path from Cluster's hosts to them", () => {
        const hostSpec = schema.types[schema.resources[`${PREFIX}Cluster`].inputProperties.hosts.items.$ref.replace(REF, PREFIX)];
        const ssh = schema.types[hostSpec.properties.ssh.$ref.replace(REF, PREFIX)];
        const bastion = schema.types[ssh.properties.bastion.$ref.replace(REF, PREFIX)];
        for (const k of ["privateKey", "privateKeyPassword", "password"]) {
            expect([`ssh.${k}`, ssh.properties[k].secret]).toEqual([`ssh.${k}`, true]);
            expect([`bastion.${k}`, bastion.properties[k].secret]).toEqual([`bastion.${k}`, true]);
        }
        // Public: the pinned host key, the user, the address.
        for (const k of ["hostKey", "user", "host", "port"]) expect([k, ssh.properties[k].secret]).toEqual([k, undefined]);
    });

    test("Cluster's adminKubeconfig and joinCommand outputs, and WorkerJoin's token input, are secret", () => {
        const cluster = schema.resources[`${PREFIX}Cluster`].properties;
        expect(cluster.adminKubeconfig.secret).toBe(true);
        expect(cluster.joinCommand.secret).toBe(true);
        for (const k of ["caCertPem", "discoveryTokenCaCertHash", "endpoint", "clusterConfiguration"]) expect([k, cluster[k].secret]).toEqual([k, undefined]);
        expect(schema.resources[`${PREFIX}WorkerJoin`].inputProperties.token.secret).toBe(true);
    });

    test("exactly these properties are secret", () => {
        expect(secretOnes()).toEqual([
            "BastionSpec.password", "BastionSpec.privateKey", "BastionSpec.privateKeyPassword",
            "BootstrapTokenSpec.token",
            "CaInput.keyPem",
            "CertificatesSpec.serviceAccountKey",
            "Cluster.out.adminKubeconfig", "Cluster.out.joinCommand",
            "ClusterPki.out.nodeKubeconfigKeys", "ClusterPki.out.nodePrivateFiles", "ClusterPki.out.privateFiles",
            "ControlPlanePki.nodeKubeconfigKeys", "ControlPlanePki.nodePrivateFiles", "ControlPlanePki.privateFiles",
            "EncryptionAtRestSpec.key", "EncryptionAtRestSpec.previousKey",
            "EtcdCluster.out.apiserverEtcdClientKeyPem",
            "EtcdPki.nodePrivateFiles", "EtcdPki.privateFiles",
            "ExternalEtcdSpec.clientKey",
            "PreSignedCert.keyPem",
            "SshSpec.password", "SshSpec.privateKey", "SshSpec.privateKeyPassword",
            "WorkerJoin.in.token",
        ].sort());
    });

    test("every property whose name says it holds key material, a password or a token is secret", () => {
        const looksSecret = /privateKey|password|keyPem|clientKey|^key$|previousKey|serviceAccountKey|token$|kubeconfig$|privatefiles$|kubeconfigKeys$|joinCommand/i;
        // Public despite their names: the service-account public key, a taint's key.
        const notSecret = ["ClusterPki.out.serviceAccountPublicKeyPem", "Taint.key"];
        const named = [...schemaProperties()].filter(([k]) => looksSecret.test(k.split(".").pop()!) && !notSecret.includes(k));
        expect(named.length).toBeGreaterThan(20);
        expect(named.filter(([, p]) => p.secret !== true).map(([k]) => k)).toEqual([]);
    });

    test("a doc comment says \"Secret.\" exactly where its field is tagged @secret (the SDKs' docs say it too)", () => {
        const says = /(^|\s)Secret\.(\s|$)|\(secret\)|keep it (a )?secret/i;
        const members = documentedMembers();
        expect(members.filter(m => m.tagged).length).toBeGreaterThan(20);
        expect(members.filter(m => says.test(m.text) !== m.tagged).map(m => m.where)).toEqual([]);
    });

    test("every property the sources tag @secret is secret in the schema wherever the schema serves it", () => {
        // By declaring interface or class: each schema type is its TypeScript namesake; a resource's
        // inputs are its args interface (and what it extends), its outputs the class's properties.
        const program = ts.createProgram([path.join(root, "provider/components.ts")], { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, resolveJsonModule: true, esModuleInterop: true, skipLibCheck: true });
        const checker = program.getTypeChecker();
        const owners = new Map<string, ts.Type>();
        for (const file of program.getSourceFiles().filter(f => !f.isDeclarationFile && !f.fileName.includes("node_modules"))) {
            ts.forEachChild(file, node => {
                if (!(ts.isInterfaceDeclaration(node) || ts.isClassDeclaration(node)) || !node.name) return;
                const name = node.name.text;
                if (schema.types[`${PREFIX}${name}`]) owners.set(name, checker.getTypeAtLocation(node));
                if (ts.isClassDeclaration(node) && schema.resources[`${PREFIX}${name}`]) {
                    owners.set(`${name}.out`, checker.getTypeAtLocation(node));
                    const args = node.members.find(ts.isConstructorDeclaration)!.parameters.find(p => p.name.getText() === "args")!;
                    owners.set(`${name}.in`, checker.getTypeAtLocation(args.type!));
                }
            });
        }
        const tagged = new Set<string>();
        for (const [owner, type] of owners) {
            for (const symbol of checker.getPropertiesOfType(type)) {
                const decl = symbol.valueDeclaration;
                if (!decl || !ts.getJSDocTags(decl).some(t => t.tagName.text === "secret")) continue;
                tagged.add(`${owner}.${symbol.name}`);
            }
        }
        expect(owners.size).toBe(Object.keys(schema.types).length + 2 * Object.keys(schema.resources).length);
        expect([...tagged].sort()).toEqual(secretOnes());
    }, 60_000);

    test("a field tagged @secret that is a plain value is refused: an SDK cannot keep it secret", () => {
        const s = JSON.parse(fs.readFileSync(path.join(root, "schema.json"), "utf8"));
        s.types[`${PREFIX}SshSpec`].properties.privateKey.plain = true;
        expect(() => markSecrets(s, root)).toThrow("SshSpec.privateKey is tagged @secret but is a plain value");
        const t = JSON.parse(fs.readFileSync(path.join(root, "schema.json"), "utf8"));
        t.types[`${PREFIX}SshSpec`].properties.noSuchField = { type: "string" };
        expect(() => markSecrets(t, root)).toThrow("SshSpec.noSuchField has no declaration in the sources");
    }, 60_000);
});
