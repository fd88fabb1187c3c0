/** scripts/lab.ts: the environment and arguments `npm run up|preview|destroy` hand to the Pulumi CLI. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
    CliSources,
    CliUnavailableError,
    DEFAULT_PASSPHRASE,
    cliEnvironment,
    fileBackendDir,
    labEnvironment,
    removeTornSidecars,
    resolvePulumiCli,
    stackAndFlags,
} from "../scripts/lab";
import { meetsMinimumVersion, parsePulumiVersion } from "../lib/pulumi-version";
import { PROJECT_DIR } from "./fixtures";

test("a file backend inside the project and the documented default passphrase", () => {
    const env = labEnvironment({ PATH: "/usr/bin" });
    expect(env.PULUMI_BACKEND_URL).toBe(`file://${path.join(PROJECT_DIR, ".pulumi-state")}?metadata=skip`);
    expect(env.PULUMI_CONFIG_PASSPHRASE).toBe(DEFAULT_PASSPHRASE);
    expect(env.PATH).toBe("/usr/bin");
});

test("the user's backend and passphrase (or passphrase file) win", () => {
    const env = labEnvironment({ PULUMI_BACKEND_URL: "s3://bucket", PULUMI_CONFIG_PASSPHRASE: "mine" });
    expect(env.PULUMI_BACKEND_URL).toBe("s3://bucket");
    expect(env.PULUMI_CONFIG_PASSPHRASE).toBe("mine");
    const withFile = labEnvironment({ PULUMI_CONFIG_PASSPHRASE_FILE: "/secret" });
    expect(withFile.PULUMI_CONFIG_PASSPHRASE).toBeUndefined();
    expect(labEnvironment({ PULUMI_CONFIG_PASSPHRASE: "" }).PULUMI_CONFIG_PASSPHRASE).toBe("");
});

test("only the sidecars a killed run tore are removed from the state directory", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-state-"));
    const stacks = path.join(".pulumi", "stacks", "capt-playground");
    fs.mkdirSync(path.join(dir, stacks), { recursive: true });
    const write = (relative: string, text: string) => fs.writeFileSync(path.join(dir, relative), text);
    write(path.join(stacks, "dev.json"), "");
    write(path.join(stacks, "dev.json.attrs"), "");
    write(path.join(stacks, "dev.json.bak.attrs"), '{"user.content_type":"application/octet-stream"}\n');
    write(path.join(stacks, "big.json.attrs"), '{"user.content_type":"appl');
    write(path.join(".pulumi", "meta.yaml.attrs"), "{}\n");
    try {
        expect(removeTornSidecars(dir)).toEqual([
            path.join(stacks, "big.json.attrs"),
            path.join(stacks, "dev.json.attrs"),
        ]);
        expect(fs.readdirSync(path.join(dir, stacks)).sort()).toEqual(["dev.json", "dev.json.bak.attrs"]);
        expect(fs.existsSync(path.join(dir, ".pulumi", "meta.yaml.attrs"))).toBe(true);
        expect(removeTornSidecars(dir)).toEqual([]);
        expect(removeTornSidecars(path.join(dir, "absent"))).toEqual([]);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

test("the directory of a file backend, where a killed run's lock is judged; none for other backends", () => {
    expect(fileBackendDir(`file:///work/my lab/.pulumi-state?metadata=skip`)).toBe("/work/my lab/.pulumi-state");
    expect(fileBackendDir("file:///srv/state")).toBe("/srv/state");
    expect(fileBackendDir("file://~/state")).toBe(path.join(os.homedir(), "state"));
    expect(fileBackendDir("s3://bucket/state")).toBeUndefined();
    expect(fileBackendDir(undefined)).toBeUndefined();
});

test("--stack selects the stack, default dev, STACK from the environment; other flags pass through", () => {
    expect(stackAndFlags([], {})).toEqual({ stack: "dev", flags: [] });
    expect(stackAndFlags(["--stack", "big", "--diff"], {})).toEqual({ stack: "big", flags: ["--diff"] });
    expect(stackAndFlags(["--yes"], { STACK: "other" })).toEqual({ stack: "other", flags: ["--yes"] });
});

describe("which Pulumi CLI runs", () => {
    const offline = () => Promise.reject(new Error("fetch failed"));
    function sources(overrides: Partial<CliSources>): CliSources {
        return {
            env: {},
            pinnedVersion: "3.265.0",
            resolvePinned: () => Promise.resolve("/home/u/.pulumi/versions/3.265.0/bin/pulumi"),
            findOnPath: () => undefined,
            versionOf: () => undefined,
            ...overrides,
        };
    }

    test("the pinned CLI when the launcher has it or can fetch it, without a note", async () => {
        const found = await resolvePulumiCli(sources({ findOnPath: () => "/usr/local/bin/pulumi" }));
        expect(found).toEqual({ path: "/home/u/.pulumi/versions/3.265.0/bin/pulumi" });
    });

    test("a new enough pulumi on PATH when the pinned CLI cannot be fetched, saying which", async () => {
        const found = await resolvePulumiCli(
            sources({ resolvePinned: offline, findOnPath: () => "/usr/local/bin/pulumi", versionOf: () => "3.260.0" }),
        );
        expect(found.path).toBe("/usr/local/bin/pulumi");
        expect(found.note).toBe(
            "the pinned Pulumi CLI v3.265.0 could not be fetched (fetch failed); using pulumi v3.260.0 from PATH (/usr/local/bin/pulumi)",
        );
    });

    test.each([
        ["no pulumi on PATH", undefined, undefined, /there is no pulumi on PATH/],
        [
            "one too old",
            "/usr/bin/pulumi",
            "3.100.0",
            /\/usr\/bin\/pulumi\) is v3\.100\.0, and the lab needs v3\.248\.0/,
        ],
        ["one that does not run", "/usr/bin/pulumi", undefined, /\/usr\/bin\/pulumi\) is not runnable/],
    ])("otherwise one message: what failed and how to install by hand (%s)", async (_case, onPath, version, detail) => {
        const attempt = resolvePulumiCli(
            sources({ resolvePinned: offline, findOnPath: () => onPath, versionOf: () => version }),
        );
        await expect(attempt).rejects.toBeInstanceOf(CliUnavailableError);
        const message = String(await attempt.catch((e: Error) => e.message));
        expect(message).toMatch(
            /^cannot run Pulumi: the pinned Pulumi CLI v3\.265\.0 could not be fetched \(fetch failed\)/,
        );
        expect(message).toMatch(detail);
        expect(message).toMatch(/curl -fsSL https:\/\/get\.pulumi\.com \| sh -s -- --version 3\.265\.0/);
        expect(message).toMatch(/PULUMI_CLI/);
        expect(message.split("\n")).toHaveLength(1);
    });

    test("PULUMI_CLI wins over the pinned CLI, and must be new enough", async () => {
        const env = { PULUMI_CLI: "/cache/pulumi-3.260.0/bin/pulumi" };
        const pinned = jest.fn(() => Promise.resolve("/pinned"));
        const found = await resolvePulumiCli(sources({ env, resolvePinned: pinned, versionOf: () => "3.260.0" }));
        expect(found.path).toBe(env.PULUMI_CLI);
        expect(pinned).not.toHaveBeenCalled();
        await expect(resolvePulumiCli(sources({ env, versionOf: () => "3.1.0" }))).rejects.toThrow(
            /PULUMI_CLI=\/cache\/pulumi-3\.260\.0\/bin\/pulumi is Pulumi v3\.1\.0; the lab needs v3\.248\.0 or newer/,
        );
    });

    test("versions as `pulumi version` prints them", () => {
        expect(parsePulumiVersion("v3.265.0\n")).toBe("3.265.0");
        expect(parsePulumiVersion("v3.274.1-dev.0")).toBe("3.274.1-dev.0");
        expect(parsePulumiVersion("warning: something\nv3.2.0")).toBeUndefined();
        expect(meetsMinimumVersion("3.248.0")).toBe(true);
        expect(meetsMinimumVersion("3.274.1-dev.0")).toBe(true);
        expect(meetsMinimumVersion("3.247.9")).toBe(false);
    });

    test("the CLI's own directory comes first on PATH (its language host sits beside it)", () => {
        expect(cliEnvironment("/opt/pulumi/bin/pulumi", { PATH: "/usr/bin" }).PATH).toBe("/opt/pulumi/bin:/usr/bin");
    });
});

describe("npm run preview as a process, with PULUMI_CLI pointing at a recording stand-in CLI", () => {
    let dir: string;
    beforeAll(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "lab-cli-"));
    });
    afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

    function fakeCli(version: string): string {
        const cli = path.join(dir, `pulumi-${version}`, "pulumi");
        fs.mkdirSync(path.dirname(cli), { recursive: true });
        const script = [
            "#!/bin/sh",
            `if [ "$1" = version ]; then echo v${version}; exit 0; fi`,
            'printf "%s|%s|%s\\n" "$*" "$PULUMI_BACKEND_URL" "${PATH%%:*}" >> "$(dirname "$0")/calls"',
        ].join("\n");
        fs.writeFileSync(cli, `${script}\n`, { mode: 0o755 });
        return cli;
    }

    function lab(args: string[], cli: string) {
        return spawnSync(
            process.execPath,
            [
                require.resolve("ts-node/dist/bin"),
                "--transpile-only",
                path.join(PROJECT_DIR, "scripts", "lab.ts"),
                ...args,
            ],
            {
                encoding: "utf8",
                env: { PATH: process.env.PATH, HOME: dir, PULUMI_CLI: cli, PULUMI_BACKEND_URL: "file:///tmp/x" },
            },
        );
    }

    test("selects the stack, then previews with diffs, on the lab's backend", () => {
        const cli = fakeCli("3.260.0");
        const result = lab(["preview", "--stack", "e2e"], cli);
        expect(result.status).toBe(0);
        expect(result.stderr).toContain(`note: using PULUMI_CLI: pulumi v3.260.0 at ${cli}`);
        const calls = fs
            .readFileSync(path.join(path.dirname(cli), "calls"), "utf8")
            .trim()
            .split("\n");
        expect(calls).toEqual([
            `stack select --create e2e|file:///tmp/x|${path.dirname(cli)}`,
            `preview --diff --stack e2e|file:///tmp/x|${path.dirname(cli)}`,
        ]);
    });

    test("a CLI older than the minimum: exit 1 with one line, nothing run", () => {
        const cli = fakeCli("3.100.0");
        const result = lab(["up"], cli);
        expect(result.status).toBe(1);
        expect(result.stderr.trim().split("\n")).toEqual([
            `PULUMI_CLI=${cli} is Pulumi v3.100.0; the lab needs v3.248.0 or newer.`,
        ]);
        expect(fs.existsSync(path.join(path.dirname(cli), "calls"))).toBe(false);
    });
});
