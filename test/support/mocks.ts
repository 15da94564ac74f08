import * as pulumi from "@pulumi/pulumi";
import { mockRandomResource } from "./mock-random";
import { mockTlsResource, unwrapSecrets } from "./mock-tls";

const SECRET_SIG = "4dabf18193072939515e22adb298388d";
const SECRET_VALUE = "1b47061264138c4ac30d75fd1eb44270";

/** The engine's state between runs of a program, as MockRuntime keeps it: by "type::name". */
export type EngineState = Map<string, { inputs: string; outputs: Record<string, any>; trigger?: string }>;

/** What the program asked the engine to register, as the mock monitor saw it. */
export interface Registration {
    type: string;
    name: string;
    urn: string;
    parent: string;
    custom: boolean;
    inputs: Record<string, any>;
    state: Record<string, any>;
    dependsOn: string[];
    additionalSecretOutputs: string[];
    /** Inputs that arrived marked secret. */
    secretInputs: string[];
    /** "<provider URN>::<id>" of an explicit provider, else "". */
    provider: string;
    /** The resource's retainOnDelete option: deleting it leaves what it made. */
    retainOnDelete: boolean;
}

/**
 * Pulumi's mock runtime doing real work: tls resources produce real keys and certificates, the
 * engine's additionalSecretOutputs are applied, and every registration is recorded with its
 * dependencies (read from the monitor's registerResource requests).
 */
export class MockRuntime {
    readonly registrations: Registration[] = [];
    private readonly pending = new Map<string, { dependsOn: string[]; parent: string; additionalSecretOutputs: string[]; ignoreChanges: string[]; replacementTrigger?: string; retainOnDelete?: boolean }>();

    /**
     * `extra` computes the outputs of resource types beyond tls (the lab runs remote commands for
     * real). `state`, shared between runs of a program, plays the engine's state: a resource
     * registered again with the same inputs keeps its outputs (the same keys and certificates), as
     * an unchanged resource does in `pulumi up`. Remote commands run again (except those that
     * ignore changes to their create), which proves that their scripts are idempotent.
     */
    constructor(
        private readonly extra?: (type: string, inputs: Record<string, any>, name: string) => Promise<Record<string, any> | undefined>,
        private readonly state?: EngineState,
    ) {
        this.failure.catch(() => undefined);
    }

    private started = false;
    /** A preview changes nothing: the state is read, not written. */
    private preview = false;
    /** Resource registrations that failed (what `pulumi up` would report), in order. */
    readonly failures: Error[] = [];
    private rejectFailure!: (e: Error) => void;
    /**
     * Rejects with the first failed registration. Outputs of a failed resource (and of everything
     * that depends on it) never resolve, so a test races them with this.
     */
    readonly failure: Promise<never> = new Promise<never>((_, reject) => { this.rejectFailure = reject; });

    /**
     * Installs the mocks on first use; later calls only forget earlier registrations (a fresh
     * monitor would orphan components of earlier tests that still register their outputs).
     */
    async start(options: { preview?: boolean; project?: string; stack?: string } = {}): Promise<this> {
        this.registrations.length = 0;
        if (this.started) return this;
        this.started = true;
        this.preview = options.preview ?? false;
        await pulumi.runtime.setMocks({
            newResource: async args => {
                const key = `${args.type}::${args.name}`;
                const meta = this.pending.get(key) ?? { dependsOn: [], parent: "", additionalSecretOutputs: [], ignoreChanges: [] };
                const inputs = unwrapSecrets(args.inputs);
                let computed: Record<string, any> | undefined;
                try {
                    computed = args.custom === false ? undefined : await this.compute(args.type, args.name, inputs, meta.ignoreChanges, meta.replacementTrigger);
                } catch (e) {
                    const error = new Error(`failed to register new resource ${args.name} [${args.type}]: ${(e as Error).message}`);
                    this.failures.push(error);
                    this.rejectFailure(error);
                    // As the engine does after a failed step: what depends on it never runs, what
                    // does not goes on. (Throwing would surface as unhandled rejections in every
                    // output of the resource instead.)
                    return new Promise<never>(() => undefined);
                }
                const state: Record<string, any> = { ...args.inputs, ...(computed ?? {}) };
                for (const out of meta.additionalSecretOutputs) {
                    if (state[out] !== undefined && !isWrappedSecret(state[out])) state[out] = { [SECRET_SIG]: SECRET_VALUE, value: state[out] };
                }
                this.registrations.push({
                    type: args.type, name: args.name, urn: "", parent: meta.parent, custom: args.custom !== false,
                    inputs, state: unwrapSecrets(state), dependsOn: meta.dependsOn, additionalSecretOutputs: meta.additionalSecretOutputs,
                    secretInputs: Object.keys(args.inputs ?? {}).filter(k => isWrappedSecret(args.inputs[k])),
                    provider: args.provider ?? "",
                    retainOnDelete: meta.retainOnDelete ?? false,
                });
                return { id: args.custom === false ? undefined : `${args.name}-id`, state };
            },
            call: args => args.inputs,
        }, options.project ?? "project", options.stack ?? "stack", options.preview ?? false);

        const monitor: any = (pulumi.runtime as any).getMonitor();
        const register = monitor.registerResource.bind(monitor);
        monitor.registerResource = (req: any, callback: any) => {
            this.pending.set(`${req.getType()}::${req.getName()}`, {
                dependsOn: req.getDependenciesList(),
                parent: req.getParent(),
                additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                ignoreChanges: req.getIgnorechangesList(),
                replacementTrigger: req.getReplacementTrigger?.() ? JSON.stringify(req.getReplacementTrigger().toJavaScript()) : undefined,
                retainOnDelete: req.getRetainondelete?.() ?? false,
            });
            return register(req, (err: any, resp: any) => {
                const r = this.registrations.find(x => x.type === req.getType() && x.name === req.getName() && !x.urn);
                if (r && resp) r.urn = resp.getUrn();
                callback(err, resp);
            });
        };
        return this;
    }

    private async compute(type: string, name: string, inputs: Record<string, any>, ignoreChanges: string[] = [], trigger?: string): Promise<Record<string, any> | undefined> {
        const key = `${type}::${name}`;
        // As the engine: a changed replacementTrigger replaces the resource (nothing is kept).
        const stored = this.state?.get(key);
        const kept = stored && (trigger === undefined || stored.trigger === undefined || stored.trigger === trigger) ? stored : undefined;
        // As the engine: an ignored input keeps its value from the state (once there is one).
        if (kept) for (const k of ignoreChanges) inputs = { ...inputs, [k]: JSON.parse(kept.inputs)[k] };
        const inputsJson = JSON.stringify(inputs);
        // Remote commands run again (their idempotence is proven so), except one that ignores changes to its create:
        // the engine runs it again only when its other inputs (triggers) change, as the host-key recording relies on.
        const rerun = type.startsWith("command:") && !ignoreChanges.includes("create");
        if (kept && kept.inputs === inputsJson && !rerun) return kept.outputs;
        // A Stash keeps the value it was created with; only its input follows the program.
        if (type === "pulumi:index:Stash") {
            const outputs = { input: inputs.input, output: kept ? kept.outputs.output : inputs.input };
            if (!this.preview) this.state?.set(key, { inputs: inputsJson, outputs, trigger });
            return outputs;
        }
        const outputs = (await mockTlsResource(type, inputs)) ?? mockRandomResource(type, inputs) ?? (await this.extra?.(type, inputs, name));
        if (outputs && !this.preview) this.state?.set(key, { inputs: inputsJson, outputs, trigger });
        return outputs;
    }

    ofType(type: string): Registration[] {
        return this.registrations.filter(r => r.type === type);
    }

    /** Registrations whose name starts with `prefix` (tests name their components apart). */
    named(prefix: string): Registration[] {
        return this.registrations.filter(r => r.name === prefix || r.name.startsWith(`${prefix}-`));
    }

    /** Resources (not components) registered so far. */
    get resources(): Registration[] {
        return this.registrations.filter(r => r.custom);
    }

    /** Resolves once a resource of this name has registered (a Cluster's last: `<name>-deployed-versions`, after every other step); rejects on the first failure. */
    async registered(name: string): Promise<void> {
        const seen = (async () => {
            while (!this.registrations.some(r => r.name === name)) await new Promise(r => setTimeout(r, 10));
        })();
        await Promise.race([seen, this.failure]);
        await settle();
    }
}

function isWrappedSecret(v: unknown): boolean {
    return typeof v === "object" && v !== null && (v as any)[SECRET_SIG] === SECRET_VALUE;
}

/** The value of an Output, once known (the helper pulumi-eks and pulumi-awsx use). */
export function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise<T>(resolve => o.apply(v => {
        resolve(v);
        return v;
    }));
}

/** Lets every pending registration reach the mock monitor. */
export async function settle(rounds = 5): Promise<void> {
    for (let i = 0; i < rounds; i++) await new Promise(r => setImmediate(r));
}
