/**
 * The Machines component (pool, volumes, domains) constructed under Pulumi's mocks, recording what
 * the engine receives for each resource: its inputs and, per input, the resources that input's
 * value came from (property dependencies). Those are what the engine reads when it decides which
 * dependents a replacement takes along (calculateDependentReplacements in its step generator).
 */
import * as pulumi from "@pulumi/pulumi";
import { Machines } from "../../components/machines";
import { LabConfig } from "../../lib/config";
import { LabPlan } from "../../lib/plan";

export interface RecordedResource {
    type: string;
    name: string;
    urn: string;
    inputs: Record<string, unknown>;
    propertyDependencies: Record<string, string[]>;
    deleteBeforeReplace: boolean;
}

interface RegisterRequest {
    getType(): string;
    getName(): string;
    getObject(): unknown;
    getDeletebeforereplace(): boolean;
    getPropertydependenciesMap(): { forEach(cb: (deps: { getUrnsList(): string[] }, key: string) => void): void };
}

export async function machinesUnderMocks(config: LabConfig, plan: LabPlan): Promise<RecordedResource[]> {
    const recorded: RecordedResource[] = [];
    let inFlight = 0;
    await pulumi.runtime.setMocks(
        {
            // Outputs are the inputs, as the dynamic providers return them.
            newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
            call: () => ({}),
        },
        plan.project,
        plan.stack,
        false,
    );
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
                recorded.push({
                    type: req.getType(),
                    name: req.getName(),
                    urn: resp.getUrn(),
                    inputs: pulumi.runtime.deserializeProperties(req.getObject() as never, true),
                    propertyDependencies,
                    deleteBeforeReplace: req.getDeletebeforereplace(),
                });
            }
            inFlight--;
            callback(err, resp);
        });
    };
    new Machines("machines", { config, plan });
    // Registrations finish over later turns of the event loop (a volume waits for the pool's name, a
    // domain for its volume): wait for all of them — the component, the pool, a volume and a domain
    // per machine — and for nothing to be in flight.
    const expected = 2 + 2 * plan.machines.length;
    for (let quiet = 0, turns = 0; (quiet < 5 || recorded.length < expected) && turns < 500; turns++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        quiet = inFlight === 0 ? quiet + 1 : 0;
    }
    return recorded;
}
