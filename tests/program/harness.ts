/**
 * Runs the real program (index.ts) under Pulumi's mocks and records every resource registration,
 * including what mocks do not show: parent, provider, dependencies and deletedWith (read off the
 * RegisterResource request by wrapping the mock monitor).
 */
import * as pulumi from "@pulumi/pulumi";

export const SECRET_SIG = "4dabf18193072939515e22adb298388d";

export interface Registration {
    type: string;
    name: string;
    urn: string;
    parent: string;
    provider: string;
    dependencies: string[];
    deletedWith: string;
    custom: boolean;
    inputs: Record<string, unknown>;
    additionalSecretOutputs: string[];
    deleteBeforeReplace: boolean;
    ignoreChanges: string[];
    /** Per input, the resources its value came from: what the engine reads to plan replacements. */
    propertyDependencies: Record<string, string[]>;
}

export interface ProgramRun {
    registrations: Registration[];
    outputs: Record<string, unknown>;
    invokes: string[];
    /** Version ranges the program asked the engine to check, in order. */
    requiredPulumiVersions: string[];
}

export const UNKNOWN = "<unknown in preview>";

/**
 * How long one run of the program may take: the first run in a worker transpiles the whole graph
 * (index.ts, every component and lib/ module), which on a loaded 2-core machine took over jest's 60 s.
 */
export const PROGRAM_RUN_TIMEOUT_MS = 240_000;

const FAKE_KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n";

/** Values a real provider would compute; absent in preview, as the engine leaves them unknown. */
function computedState(type: string, name: string, preview: boolean): Record<string, unknown> {
    if (preview) {
        return {};
    }
    switch (type) {
        case "command:local:Command":
            return { stdout: `${FAKE_KUBECONFIG}# ${name}\n`, stderr: "" };
        case "docker:index/remoteImage:RemoteImage":
            return { imageId: "sha256:0123456789abcdef" };
        case "tls:index/privateKey:PrivateKey":
            return {
                privateKeyPem: "-----BEGIN PRIVATE KEY-----\nmock\n-----END PRIVATE KEY-----\n",
                privateKeyOpenssh: "-----BEGIN OPENSSH PRIVATE KEY-----\nmock\n-----END OPENSSH PRIVATE KEY-----\n",
                publicKeyOpenssh: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMockMockMockMockMockMockMockMockMockMockMock\n",
            };
        case "tls:index/selfSignedCert:SelfSignedCert":
            return { certPem: "-----BEGIN CERTIFICATE-----\nmock\n-----END CERTIFICATE-----\n" };
        case "random:index/randomPassword:RandomPassword":
            return { result: "RandomMockPassw0rd" };
        default:
            return {};
    }
}

export async function runProgram(
    config: Record<string, string>,
    options: {
        stack: string;
        preview: boolean;
        secretKeys?: string[];
        /** The engine's answer to RequirePulumiVersion: an error message to refuse with. */
        engineRefuses?: string;
    },
): Promise<ProgramRun> {
    const registrations: Registration[] = [];
    const invokes: string[] = [];
    const requiredPulumiVersions: string[] = [];
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                const state = { ...args.inputs, ...computedState(args.type, args.name, options.preview) };
                return { id: options.preview ? undefined : `${args.name}-id`, state };
            },
            call: (args) => {
                invokes.push(args.token);
                throw new Error(`unexpected invoke ${args.token}: the program must not call functions`);
            },
        },
        "capt-playground",
        options.stack,
        options.preview,
    );
    pulumi.runtime.setAllConfig(
        Object.fromEntries(Object.entries(config).map(([k, v]) => [`capt-playground:${k}`, v])),
        (options.secretKeys ?? []).map((k) => `capt-playground:${k}`),
    );
    const recording = recordRegistrations(registrations);
    let outputs: Record<string, unknown> = {};
    await jestIsolated(async () => {
        // Mocks have no engine, so the SDK's RequirePulumiVersion would pass unasked: answer it here,
        // in the module instance the program itself loads.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const settings = require("@pulumi/pulumi/runtime/settings") as {
            requirePulumiVersion: (range: string) => Promise<void>;
        };
        settings.requirePulumiVersion = async (range: string) => {
            requiredPulumiVersions.push(range);
            if (options.engineRefuses !== undefined) {
                throw new Error(options.engineRefuses);
            }
        };
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const main = require("../../index") as () => Promise<Record<string, unknown>>;
        const result = await main();
        outputs = await resolveOutputs(result);
    });
    await settled(recording.inFlight);
    return { registrations, outputs, invokes, requiredPulumiVersions };
}

/**
 * Wraps the mock monitor (set up by `setMocks` just before) so every RegisterResource request is
 * recorded into `registrations`, with what mocks do not show: parent, provider, dependencies,
 * deletedWith and the other options. `inFlight` counts registrations not yet answered.
 */
export function recordRegistrations(registrations: Registration[]): { inFlight: () => number } {
    let inFlight = 0;
    const monitor = pulumi.runtime.getMonitor() as unknown as {
        registerResource: (req: RegisterRequest, callback: (err: unknown, resp: { getUrn(): string }) => void) => void;
    };
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        inFlight++;
        register(req, (err, resp) => {
            if (!err) {
                const propertyDependencies: Record<string, string[]> = {};
                req.getPropertydependenciesMap().forEach((deps, key) => {
                    propertyDependencies[key] = deps.getUrnsList();
                });
                registrations.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn: resp.getUrn(),
                    parent: req.getParent(),
                    provider: req.getProvider(),
                    dependencies: req.getDependenciesList(),
                    deletedWith: req.getDeletedwith(),
                    custom: req.getCustom(),
                    inputs: pulumi.runtime.deserializeProperties(req.getObject() as never, true),
                    additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                    ignoreChanges: req.getIgnorechangesList(),
                    propertyDependencies,
                });
            }
            inFlight--;
            callback(err, resp);
        });
    };
    return { inFlight: () => inFlight };
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getParent(): string;
    getProvider(): string;
    getDependenciesList(): string[];
    getDeletedwith(): string;
    getCustom(): boolean;
    getObject(): unknown;
    getAdditionalsecretoutputsList(): string[];
    getDeletebeforereplace(): boolean;
    getIgnorechangesList(): string[];
    getPropertydependenciesMap(): { forEach(cb: (deps: { getUrnsList(): string[] }, key: string) => void): void };
}

async function jestIsolated(run: () => Promise<void>): Promise<void> {
    let done: Promise<void> = Promise.resolve();
    jest.isolateModules(() => {
        done = run();
    });
    await done;
}

/** Stack outputs with secrets kept wrapped, so tests can tell secret from plain. */
async function resolveOutputs(result: Record<string, unknown>): Promise<Record<string, unknown>> {
    const resolved: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(result)) {
        if (pulumi.Output.isInstance(value)) {
            const output = value as pulumi.Output<unknown>;
            const internals = output as unknown as { isSecret: Promise<boolean>; isKnown: Promise<boolean> };
            const secret = await internals.isSecret;
            // In preview an unknown value never reaches apply callbacks.
            const plain = (await internals.isKnown)
                ? await new Promise<unknown>((resolve) => output.apply((v) => resolve(v)))
                : UNKNOWN;
            resolved[key] = secret ? { [SECRET_SIG]: true, value: plain } : plain;
        } else {
            resolved[key] = value;
        }
    }
    return resolved;
}

/** Waits until no registration is in flight for a few event-loop turns. */
async function settled(inFlight: () => number): Promise<void> {
    let quietTurns = 0;
    while (quietTurns < 5) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        quietTurns = inFlight() === 0 ? quietTurns + 1 : 0;
    }
}

export function isSecretValue(value: unknown): boolean {
    return typeof value === "object" && value !== null && SECRET_SIG in value;
}

/** Every string found in a value, with secret-wrapped parts left out. */
export function plainStrings(value: unknown): string[] {
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.flatMap(plainStrings);
    if (typeof value === "object" && value !== null) {
        if (isSecretValue(value)) return [];
        return Object.values(value).flatMap(plainStrings);
    }
    return [];
}

export function byType(run: ProgramRun, type: string): Registration[] {
    return run.registrations.filter((r) => r.type === type);
}

export function one(run: ProgramRun, type: string, name: string): Registration {
    const found = run.registrations.find((r) => r.type === type && r.name === name);
    if (!found) {
        throw new Error(
            `no ${type} named ${name}; have ${run.registrations.map((r) => `${r.type}/${r.name}`).join(", ")}`,
        );
    }
    return found;
}

/** All URNs a resource depends on, following dependencies transitively. */
export function transitiveDependencies(run: ProgramRun, urn: string): Set<string> {
    const byUrn = new Map(run.registrations.map((r) => [r.urn, r]));
    // A resource also waits for its provider, and so for whatever the provider's config needs.
    const directOf = (u: string): string[] => {
        const registration = byUrn.get(u);
        if (!registration) return [];
        const provider = registration.provider ? [providerUrn(registration.provider)] : [];
        return [...registration.dependencies, ...provider];
    };
    const seen = new Set<string>();
    const pending = directOf(urn);
    while (pending.length > 0) {
        const next = pending.pop()!;
        if (seen.has(next)) continue;
        seen.add(next);
        pending.push(...directOf(next));
    }
    return seen;
}

/** A provider reference is `<urn>::<id>`. */
export function providerUrn(reference: string): string {
    return reference.split("::").slice(0, -1).join("::");
}
