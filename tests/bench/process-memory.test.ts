import { spawn } from "node:child_process";
import { descendants, parentPid, peakKib, processRole, sampleTreeMemory } from "../../bench/process-memory";

describe("process roles of a CLI run", () => {
    test.each([
        [["/usr/bin/node", "/p/node_modules/@pulumi/pulumi/cmd/run", "/p", "index.ts"], "program (node)"],
        [["node", "/p/node_modules/@pulumi/pulumi/cmd/run/index.js"], "program (node)"],
        [["node", "/p/node_modules/@pulumi/pulumi/cmd/dynamic-provider", "127.0.0.1:1"], "dynamic providers (node)"],
        [
            ["/cache/pulumi-home/plugins/resource-kubernetes-v4.32.0/pulumi-resource-kubernetes", "127.0.0.1:1"],
            "kubernetes",
        ],
        [["/cache/bin/pulumi-language-nodejs", "127.0.0.1:1"], "language host"],
        [["/cache/bin/pulumi", "preview"], "pulumi (engine)"],
        [["/bin/sh", "/cache/bin/pulumi-resource-pulumi-nodejs"], undefined],
        [["virsh", "-c", "qemu:///system", "dumpxml", "x"], undefined],
        [["node", "/p/node_modules/@pulumi/pulumi/cmd/run-plugin"], undefined],
    ])("%j is %s", (argv, role) => {
        expect(processRole(argv)).toBe(role);
    });

    test("peak resident set and parent pid from /proc texts; a process tree", () => {
        expect(peakKib("Name:\tnode\nVmPeak:\t  900000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 100 kB\n")).toBe(123456);
        expect(peakKib("Name:\tkthreadd\n")).toBeUndefined();
        // A name with spaces and parentheses: the fields count from the last ')'.
        expect(parentPid("4242 (node (a) b) S 17 4200 4200 0 -1 4194560")).toBe(17);
        const parents = new Map([
            [2, 1],
            [3, 2],
            [4, 3],
            [5, 1],
            [6, 99],
        ]);
        expect([...descendants(2, parents)].sort()).toEqual([2, 3, 4]);
    });

    test("the peak memory of a process tree is sampled by role, a child in its own process group too", async () => {
        // A shell whose child, in a process group of its own (as the CLI starts its plugins), counts
        // as the program and holds 64 MiB for a moment.
        const program = [
            JSON.stringify(process.execPath),
            "-e",
            '"const b = Buffer.alloc(64 * 2 ** 20, 1); setTimeout(() => b.length, 1500)"',
            "/x/@pulumi/pulumi/cmd/run",
        ].join(" ");
        const child = spawn("bash", ["-c", `set -m; ${program} & wait`], { stdio: "ignore" });
        const sampler = sampleTreeMemory(child.pid!, 50);
        await new Promise((resolve) => child.on("exit", resolve));
        const peaks = sampler.stop();
        expect([...peaks.keys()]).toEqual(["program (node)"]);
        expect(peaks.get("program (node)")).toBeGreaterThan(64 * 1024);
    });
});
