import { CommandRun, LabCommandRunner } from "../lab/runtime";
import { EngineState, MockRuntime, settle } from "./mocks";

/**
 * `pulumi up` of a program against lab hosts, sharing `state` with earlier runs: `build` declares
 * the resources; it returns once `last` has registered (or a step failed) and no step has started
 * for 5 s (what does not depend on a failed step still runs). The runs it made, and the failures,
 * each cut to its head and the host's output.
 */
export async function deployInLab(runner: LabCommandRunner, state: EngineState, last: string, build: () => void): Promise<{ runs: CommandRun[]; failures: Error[] }> {
    const runtime = await new MockRuntime(runner.handle, state).start();
    const first = runner.runs.length;
    build();
    await Promise.race([runtime.registered(last), runtime.failure.catch(() => undefined)]);
    for (let quiet = 0, count = -1; quiet < 20; quiet = runner.runs.length === count ? quiet + 1 : 0) {
        count = runner.runs.length;
        await new Promise(r => setTimeout(r, 250));
        await settle();
    }
    return { runs: runner.runs.slice(first), failures: runtime.failures.map(f => new Error(f.message.length > 1500 ? `${f.message.slice(0, 200)} … ${f.message.slice(-1200)}` : f.message)) };
}
