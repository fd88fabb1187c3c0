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
import { Registration, recordRegistrations } from "../program/harness";

/** What the engine receives for one resource (a program registration, see tests/program/harness). */
export type RecordedResource = Registration;

export async function machinesUnderMocks(config: LabConfig, plan: LabPlan): Promise<RecordedResource[]> {
    const recorded: RecordedResource[] = [];
    await pulumi.runtime.setMocks(
        {
            // Outputs are the inputs, as the dynamic providers return them.
            newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
            call: (args) => {
                throw new Error(`unexpected invoke ${args.token}: the machines must not call functions`);
            },
        },
        plan.project,
        plan.stack,
        false,
    );
    const recording = recordRegistrations(recorded);
    new Machines("machines", { config, plan });
    // Registrations finish over later turns of the event loop (a volume waits for the pool's name, a
    // domain for its volume): wait for all of them — the component, the pool, a volume and a domain
    // per machine — and for nothing to be in flight.
    const expected = 2 + 2 * plan.machines.length;
    for (let quiet = 0, turns = 0; (quiet < 5 || recorded.length < expected) && turns < 500; turns++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        quiet = recording.inFlight() === 0 ? quiet + 1 : 0;
    }
    return recorded;
}
