/**
 * Config changes that remove resources, judged by the engine's delete rule: a resource whose
 * `deletedWith` target is removed in the same update is dropped from state without a provider call;
 * any other removed resource is deleted through its provider, which must still be there to do it.
 */
import { ProgramRun, Registration, one, providerUrn, runProgram } from "./harness";

interface Removal {
    name: string;
    /** True when the engine calls the provider's Delete; false when deletedWith skips it. */
    providerDeletes: boolean;
    /** For a provider delete: the provider still exists after the change. */
    providerRemains?: boolean;
}

function removals(before: ProgramRun, after: ProgramRun): Removal[] {
    const remaining = new Set(after.registrations.map((r) => r.urn));
    const removed = before.registrations.filter((r) => r.custom && !remaining.has(r.urn));
    const removedUrns = new Set(removed.map((r) => r.urn));
    return removed.map((r: Registration) => {
        const skipped = r.deletedWith !== "" && removedUrns.has(r.deletedWith);
        if (skipped || r.type.startsWith("pulumi:providers:")) {
            return { name: r.name, providerDeletes: false };
        }
        return { name: r.name, providerDeletes: true, providerRemains: remaining.has(providerUrn(r.provider)) };
    });
}

const BASE = { preflight: "false" };

describe.each([false, true])("preview=%s", (preview) => {
    const run = (config: Record<string, string>) => runProgram({ ...BASE, ...config }, { stack: "dev", preview });

    test("cni cilium -> none uninstalls cilium through the workload provider, which stays", async () => {
        const before = await run({ cni: "cilium" });
        const after = await run({ cni: "none" });
        expect(removals(before, after)).toEqual([
            { name: "workload-cilium", providerDeletes: true, providerRemains: true },
        ]);
    });

    test("cni cilium -> kube-router replaces one CNI by the other on the same cluster", async () => {
        const before = await run({ cni: "cilium" });
        const after = await run({ cni: "kube-router" });
        expect(removals(before, after)).toEqual([
            { name: "workload-cilium", providerDeletes: true, providerRemains: true },
        ]);
        const kubeRouter = one(after, "kubernetes:yaml/v2:ConfigFile", "workload-kube-router");
        expect(providerUrn(kubeRouter.provider)).toBe(
            one(after, "pulumi:providers:kubernetes", "workload-provider").urn,
        );
    });

    test("waitForWorkload true -> false lets go of the workload cluster without calling it", async () => {
        const before = await run({ cni: "cilium" });
        const after = await run({ waitForWorkload: "false" });
        const gone = removals(before, after);
        // The workload cluster keeps running on the VMs; the lab stops managing what is inside it.
        expect(gone.map((r) => r.name).sort()).toEqual([
            "workload-cilium",
            "workload-kubeconfig",
            "workload-kubeconfig-file-write",
            "workload-provider",
        ]);
        // Only local commands are deleted (the kubeconfig file goes; the wait has no delete step);
        // nothing reaches the workload API.
        const calls = gone.filter((r) => r.providerDeletes);
        expect(calls.map((r) => r.name).sort()).toEqual(["workload-kubeconfig", "workload-kubeconfig-file-write"]);
        for (const call of calls) {
            expect(one(before, "command:local:Command", call.name).type).toBe("command:local:Command");
        }
        expect(gone.find((r) => r.name === "workload-cilium")?.providerDeletes).toBe(false);
    });
});

test("an engine older than the minimum stops the program with one message saying what to do", async () => {
    const refusal = "Pulumi CLI version 3.200.0 does not satisfy the version range >=3.248.0";
    await expect(runProgram(BASE, { stack: "dev", preview: true, engineRefuses: refusal })).rejects.toThrow(
        /needs Pulumi CLI v3\.248\.0 or newer \(Pulumi CLI version 3\.200\.0 .*\); `npm run up` runs the pinned CLI/,
    );
});
