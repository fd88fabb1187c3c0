import { spawn } from "node:child_process";
import { peakKib, processGroup, processRole, sampleGroupMemory } from "../../bench/process-memory";

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

    test("peak resident set and process group from /proc texts", () => {
        expect(peakKib("Name:\tnode\nVmPeak:\t  900000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t 100 kB\n")).toBe(123456);
        expect(peakKib("Name:\tkthreadd\n")).toBeUndefined();
        // A name with spaces and parentheses: the fields count from the last ')'.
        expect(processGroup("4242 (node (a) b) S 1 4200 4200 0 -1 4194560")).toBe(4200);
    });

    test("a detached process group's peak memory is sampled by role", async () => {
        // 64 MiB held for a moment by a process that counts as the program.
        const child = spawn(
            process.execPath,
            [
                "-e",
                "const b = Buffer.alloc(64 * 2 ** 20, 1); setTimeout(() => b.length, 1500)",
                "/x/@pulumi/pulumi/cmd/run",
            ],
            { detached: true, stdio: "ignore" },
        );
        const sampler = sampleGroupMemory(child.pid!, 50);
        await new Promise((resolve) => child.on("exit", resolve));
        const peaks = sampler.stop();
        expect([...peaks.keys()]).toEqual(["program (node)"]);
        expect(peaks.get("program (node)")).toBeGreaterThan(64 * 1024);
    });
});
