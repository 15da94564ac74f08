import * as fs from "node:fs";
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

test("secrets reach steps through env and stdin, never in a run line", () => {
    for (const job of Object.values<any>(workflow.jobs)) {
        for (const step of job.steps) {
            if (step.run) expect(step.run).not.toMatch(/secrets\./);
        }
        const keyStep = job.steps.find((s: any) => s.run?.includes("config set --secret sshPrivateKey"));
        expect(keyStep.run).toMatch(/^printf '%s' "\$SSH_PRIVATE_KEY" \| pulumi config set --secret sshPrivateKey/);
        expect(keyStep.env.SSH_PRIVATE_KEY).toBe("${{ secrets.SSH_PRIVATE_KEY }}");
    }
    expect(workflow.env.PULUMI_ACCESS_TOKEN).toBe("${{ secrets.PULUMI_ACCESS_TOKEN }}");
});
