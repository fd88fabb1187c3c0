/**
 * `domainType: auto` must not depend on whether the program probed the host: the whole program
 * under mocks, with the preflight on (its host checks stubbed to pass) and off, on a host whose
 * libvirt cannot run KVM guests, registers the same domains.
 */
import { ProgramRun, byType, runProgram } from "../program/harness";

const mockRunPreflight = jest.fn(async () => []);
jest.mock("../../lib/host-facts", () => ({
    ...jest.requireActual("../../lib/host-facts"),
    runPreflight: mockRunPreflight,
}));
jest.mock("../../providers/libvirt/host", () => ({
    ...jest.requireActual("../../providers/libvirt/host"),
    // A host without usable KVM: a program that resolved `auto` itself would pick qemu here.
    kvmUsable: jest.fn(async () => false),
}));

const DOMAIN = "pulumi-nodejs:dynamic/libvirt:Domain";

function domainInputs(run: ProgramRun): Record<string, unknown>[] {
    return byType(run, DOMAIN)
        .map(({ inputs }) => {
            const { __provider: _serialized, ...rest } = inputs;
            return rest;
        })
        .sort((a, b) => String(a.name).localeCompare(String(b.name)));
}

test.each([false, true])("preflight true and false register the same domains (preview=%s)", async (preview) => {
    mockRunPreflight.mockClear();
    const withPreflight = await runProgram({ preflight: "true" }, { stack: "dev", preview });
    expect(mockRunPreflight).toHaveBeenCalledTimes(1);
    const without = await runProgram({ preflight: "false" }, { stack: "dev", preview });
    expect(domainInputs(withPreflight).length).toBeGreaterThan(0);
    expect(domainInputs(withPreflight)).toEqual(domainInputs(without));
    // The choice reaches the provider unresolved; it resolves it when it creates the domain.
    for (const inputs of domainInputs(without)) {
        expect(inputs.domainType).toBe("auto");
    }
});
