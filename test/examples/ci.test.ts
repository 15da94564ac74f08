import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import yaml from "js-yaml";

// examples/ci/pulumi.yml: preview on pull requests (plan as a comment), up on main; secrets never in a command line.
const workflow = yaml.load(fs.readFileSync(path.join(__dirname, "../../examples/ci/pulumi.yml"), "utf8")) as any;

test("preview comments on pull requests; up runs on pushes to main only", () => {
    expect(Object.keys(workflow.on).sort()).toEqual(["pull_request", "push"]);
    expect(workflow.on.push.branches).toEqual(["main"]);
    const pulumiStep = (job: string) => workflow.jobs[job].steps.find((s: any) => s.uses?.startsWith("pulumi/actions") && s.with?.command);
    expect(workflow.jobs.preview.if).toBe("github.event_name == 'pull_request'");
    expect(pulumiStep("preview").with).toMatchObject({ command: "preview", "comment-on-pr": true });
    expect(workflow.jobs.up.if).toContain("refs/heads/main");
    expect(pulumiStep("up").with.command).toBe("up");
    expect(workflow.permissions["pull-requests"]).toBe("write");
    expect(workflow.concurrency["cancel-in-progress"]).toBe(false);
});

test("secrets reach steps through env and stdin, never in a run line; tokens only through protected environments", () => {
    expect(workflow.env).toBeUndefined();
    for (const [name, job] of Object.entries<any>(workflow.jobs)) {
        for (const step of job.steps) {
            if (step.run) expect(step.run).not.toMatch(/secrets\./);
        }
        expect([name, job.environment, job.env.PULUMI_ACCESS_TOKEN]).toEqual([name, expect.any(String), "${{ secrets.PULUMI_ACCESS_TOKEN }}"]);
    }
    expect(workflow.jobs.up.environment).toBe("production");
    expect(workflow.jobs.preview.environment).not.toBe("production");
});

test("the preview job has no SSH key; the up job loads it into the agent the program's sshAgentSocket names, from stdin", () => {
    expect(JSON.stringify(workflow.jobs.preview)).not.toMatch(/SSH|ssh-add|sshPrivateKey/);
    const keyStep = workflow.jobs.up.steps.find((s: any) => s.run?.includes("ssh-add"));
    expect(keyStep.run).toContain("ssh-agent -s -a /tmp/pulumi-kubeadm-agent.sock");
    expect(keyStep.run).toContain(`printf '%s\\n' "$SSH_PRIVATE_KEY" | ssh-add -q -`);
    expect(keyStep.env.SSH_PRIVATE_KEY).toBe("${{ secrets.SSH_PRIVATE_KEY }}");
    // The socket is the one the example stack config names.
    expect(fs.readFileSync(path.join(__dirname, "../../examples/ha-cluster/Pulumi.example.yaml"), "utf8")).toContain("sshAgentSocket: /tmp/pulumi-kubeadm-agent.sock");
});

test("the key step works: ssh-agent and ssh-add take a real key from stdin, and the agent then lists it", () => {
    const keyStep = workflow.jobs.up.steps.find((s: any) => s.run?.includes("ssh-add"));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ci-agent-"));
    try {
        execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", "ci-test", "-f", path.join(dir, "k")]);
        const run = keyStep.run.replace(/\/tmp\/pulumi-kubeadm-agent\.sock/g, path.join(dir, "agent.sock"));
        // The agent this shell started is stopped by it (ssh-agent -k reads its SSH_AGENT_PID).
        const out = execFileSync("bash", ["-euo", "pipefail", "-c", `trap 'ssh-agent -k >/dev/null 2>&1 || true' EXIT\n${run}\nssh-add -l`], {
            encoding: "utf8", env: { ...process.env, SSH_PRIVATE_KEY: fs.readFileSync(path.join(dir, "k"), "utf8") },
        });
        expect(out).toMatch(/ED25519/);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
