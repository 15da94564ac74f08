import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { LocalWorkspace, PulumiCommand } from "@pulumi/pulumi/automation";
import yaml from "js-yaml";
import { pinnedVersions, pulumiTools } from "../../scripts/real-tools";
import { tempDir } from "../support/openssl";

/**
 * The Pulumi CLI, the YAML language host and the Kubernetes provider built by scripts/real-tools.sh
 * run a deployment for real, offline: a local file backend, passphrase secrets, no plugin
 * downloads. The Kubernetes provider renders to a directory (no cluster is needed for that).
 */
const t = tempDir("real-pulumi-");
afterAll(() => t.remove());
const tools = pulumiTools();
const PASSPHRASE = "real-pulumi-test-passphrase";
const env: Record<string, string> = {
    PATH: [...tools.path, process.env.PATH ?? ""].join(path.delimiter),
    HOME: process.env.HOME ?? t.dir,
    PULUMI_HOME: path.join(t.dir, "home"),
    PULUMI_BACKEND_URL: `file://${path.join(t.dir, "state")}`,
    PULUMI_CONFIG_PASSPHRASE: PASSPHRASE,
    PULUMI_SKIP_UPDATE_CHECK: "true",
    PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
    PULUMI_DISABLE_REGISTRY_RESOLVE: "true",
    PULUMI_SKIP_CONFIRMATIONS: "true",
};
fs.mkdirSync(path.join(t.dir, "state"), { recursive: true });
fs.mkdirSync(path.join(t.dir, "inline"), { recursive: true });

function cli(args: string[], cwd = t.dir): string {
    const r = spawnSync(tools.pulumi, [...args, "--non-interactive"], { cwd, env, encoding: "utf8", timeout: 300_000 });
    if (r.status !== 0) throw new Error(`pulumi ${args.join(" ")} exited ${r.status ?? r.signal}:\n${r.stdout}${r.stderr}`);
    return r.stdout;
}

/** The stack's checkpoint as the file backend wrote it. */
function checkpoint(project: string, stack: string): any {
    return JSON.parse(fs.readFileSync(path.join(t.dir, "state", ".pulumi", "stacks", project, `${stack}.json`), "utf8"));
}

describe("the real Pulumi engine (scripts/real-tools.sh's build)", () => {
    test("the CLI reports its pinned version, and the Kubernetes provider registers under the version our npm SDK asks for", () => {
        expect(cli(["version"]).trim()).toBe(pinnedVersions().PULUMI_VERSION);
        const sdk = (require("@pulumi/kubernetes/package.json") as { version: string }).version;
        cli(["plugin", "install", "resource", "kubernetes", sdk, "--file", tools.kubernetesProvider]);
        expect(cli(["plugin", "ls"])).toMatch(new RegExp(`kubernetes\\s+resource\\s+${sdk.replace(/\./g, "\\.")}`));
    });

    test("a YAML program: up renders the ConfigMap, a second up changes nothing, destroy empties the stack", () => {
        const dir = path.join(t.dir, "yaml-program");
        fs.mkdirSync(dir);
        fs.writeFileSync(path.join(dir, "Pulumi.yaml"), yaml.dump({
            name: "real-yaml", runtime: "yaml",
            resources: {
                render: { type: "pulumi:providers:kubernetes", properties: { renderYamlToDirectory: path.join(dir, "rendered") } },
                settings: {
                    type: "kubernetes:core/v1:ConfigMap",
                    properties: { metadata: { name: "settings", namespace: "default" }, data: { mode: "real" } },
                    options: { provider: "${render}" },
                },
            },
            outputs: { name: "${settings.metadata.name}" },
        }));
        cli(["stack", "init", "dev", "--secrets-provider", "passphrase"], dir);
        cli(["up", "--yes", "--skip-preview"], dir);
        const rendered = path.join(dir, "rendered", "1-manifest", "v1-configmap-default-settings.yaml");
        expect(yaml.load(fs.readFileSync(rendered, "utf8"))).toMatchObject({ kind: "ConfigMap", metadata: { name: "settings" }, data: { mode: "real" } });
        expect(JSON.parse(cli(["stack", "output", "--json"], dir))).toEqual({ name: "settings" });
        cli(["up", "--yes", "--skip-preview", "--expect-no-changes"], dir);
        const types = checkpoint("real-yaml", "dev").checkpoint.latest.resources.map((r: any) => r.type);
        expect(types).toEqual(expect.arrayContaining(["pulumi:pulumi:Stack", "pulumi:providers:kubernetes", "kubernetes:core/v1:ConfigMap"]));
        cli(["destroy", "--yes", "--skip-preview"], dir);
        expect(fs.existsSync(rendered)).toBe(false);
    });

    test("a TypeScript program through the Automation API (no Node.js language host): its secret output is ciphertext in the real state file", async () => {
        const stack = await LocalWorkspace.createOrSelectStack({
            projectName: "real-inline", stackName: "dev",
            program: async () => {
                const render = new k8s.Provider("render", { renderYamlToDirectory: path.join(t.dir, "inline-rendered") });
                const cm = new k8s.core.v1.ConfigMap("settings", { metadata: { name: "settings", namespace: "default" }, data: { mode: "inline" } }, { provider: render });
                return { name: cm.metadata.name, token: pulumi.secret("abcdef.0123456789abcdef") };
            },
        }, { pulumiCommand: await PulumiCommand.get({ root: tools.root }), envVars: env, workDir: path.join(t.dir, "inline"), secretsProvider: "passphrase" });
        const up = await stack.up();
        expect(up.summary.result).toBe("succeeded");
        expect(up.outputs.name.value).toBe("settings");
        const text = fs.readFileSync(path.join(t.dir, "state", ".pulumi", "stacks", "real-inline", "dev.json"), "utf8");
        expect(text).not.toContain("0123456789abcdef");
        const outputs = JSON.parse(text).checkpoint.latest.resources.find((r: any) => r.type === "pulumi:pulumi:Stack").outputs;
        expect(outputs.token).toMatchObject({ "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", ciphertext: expect.any(String) });
        const again = await stack.preview();
        expect(again.changeSummary).toEqual({ same: 3 });
    });
});
