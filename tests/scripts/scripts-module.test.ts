/**
 * The script catalogue: every script the components can ask for exists, has the required shape,
 * documents every environment variable it reads, and passes shellcheck; and the Command args that
 * run a script from its file.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
    COMMAND_SCRIPTS_DIR,
    COMMAND_SCRIPT_NAMES,
    CommandScriptName,
    commandScript,
    commandScriptLibraries,
    commandScriptPath,
    commandScriptRunPath,
    commandScriptSha256,
    scriptCommandArgs,
} from "../../components/scripts";
import { sha256 } from "./harness";

// Set or cleared by the scripts themselves, or bash's own.
const NOT_INPUTS = new Set([
    "BASH_SOURCE",
    "BASH_REMATCH",
    "PIPESTATUS",
    "SECONDS",
    "TMPDIR",
    "CLUSTERCTL_DISABLE_VERSIONCHECK",
]);

function headerAndBody(text: string): { header: string; body: string } {
    const lines = text.split("\n");
    const end = lines.findIndex((line) => !line.startsWith("#"));
    return { header: lines.slice(0, end).join("\n"), body: lines.slice(end).join("\n") };
}

describe("command script catalogue", () => {
    test("the names match the files in components/scripts, both ways", () => {
        const files = fs
            .readdirSync(COMMAND_SCRIPTS_DIR)
            .filter((file) => file.endsWith(".sh"))
            .map((file) => file.replace(/\.sh$/, ""))
            .sort();
        expect([...COMMAND_SCRIPT_NAMES].sort()).toEqual(files);
    });

    test("a script's hash covers the libraries it sources, so editing shared code updates its Commands", () => {
        expect(commandScriptLibraries("pivot-move")).toEqual(["lib/clusterctl-providers.sh"]);
        expect(commandScriptLibraries("kind-create")).toEqual([]);
        expect(commandScriptSha256("kind-create")).toBe(sha256(commandScript("kind-create")));
        expect(commandScriptSha256("pivot-move")).not.toBe(sha256(commandScript("pivot-move")));
        const library = fs.readFileSync(path.join(COMMAND_SCRIPTS_DIR, "lib", "clusterctl-providers.sh"), "utf8");
        const expected = createHash("sha256")
            .update(commandScript("pivot-move"))
            .update("\0lib/clusterctl-providers.sh\0")
            .update(library)
            .digest("hex");
        expect(commandScriptSha256("pivot-move")).toBe(expected);
    });

    test("commandScript returns the file's text and rejects unknown names", () => {
        for (const name of COMMAND_SCRIPT_NAMES) {
            expect(commandScript(name)).toBe(fs.readFileSync(commandScriptPath(name), "utf8"));
        }
        expect(() => commandScript("rm-rf" as CommandScriptName)).toThrow(/unknown command script/);
        expect(() => commandScriptRunPath("rm-rf" as CommandScriptName)).toThrow(/unknown command script/);
    });

    test("a Command runs a script by its path relative to the project directory", () => {
        const projectDir = path.resolve(__dirname, "..", "..");
        for (const name of COMMAND_SCRIPT_NAMES) {
            const runPath = commandScriptRunPath(name, projectDir);
            expect(runPath).toBe(`components/scripts/${name}.sh`);
            expect(path.resolve(projectDir, runPath)).toBe(commandScriptPath(name));
        }
        // Never a bare name, which bash would look up on PATH.
        expect(commandScriptRunPath("kind-create", COMMAND_SCRIPTS_DIR)).toBe("./kind-create.sh");
    });

    test("scriptCommandArgs: the script's path (not its text), its hash, the env, no previous output", () => {
        const args = scriptCommandArgs({
            create: "kind-create",
            delete: "kind-delete",
            environment: { KIND_CLUSTER_NAME: "lab" },
        });
        expect(args).toEqual({
            interpreter: ["/bin/bash"],
            create: commandScriptRunPath("kind-create"),
            delete: commandScriptRunPath("kind-delete"),
            environment: {
                KIND_CLUSTER_NAME: "lab",
                SCRIPT_SHA256: sha256(commandScript("kind-create")),
                DELETE_SCRIPT_SHA256: sha256(commandScript("kind-delete")),
            },
            addPreviousOutputInEnv: false,
        });
        const createOnly = scriptCommandArgs({ create: "vbmc-register", environment: {} });
        expect(createOnly).not.toHaveProperty("delete");
        expect(createOnly.environment).toEqual({ SCRIPT_SHA256: sha256(commandScript("vbmc-register")) });
    });

    test.each([...COMMAND_SCRIPT_NAMES])("%s starts with the bash shebang and strict mode", (name) => {
        const text = commandScript(name);
        expect(text.startsWith("#!/usr/bin/env bash\n")).toBe(true);
        expect(text.split("\n")).toContain("set -euo pipefail");
    });

    test.each([...COMMAND_SCRIPT_NAMES])("%s documents every environment variable it reads", (name) => {
        const { header, body } = headerAndBody(commandScript(name));
        const exported = new Set([...body.matchAll(/\b(XDG_[A-Z_]+)=/g)].map((m) => m[1]));
        const read = new Set(
            [...body.matchAll(/\$\{?([A-Z][A-Z0-9_]+)/g)]
                .map((m) => m[1])
                .filter((v) => !NOT_INPUTS.has(v) && !exported.has(v)),
        );
        expect(read.size).toBeGreaterThan(0);
        for (const variable of read) {
            expect(header).toMatch(new RegExp(`^#\\s+${variable}\\s`, "m"));
        }
        expect(header).toMatch(/^# stdout: /m);
    });
});

const shellcheckFound = spawnSync("shellcheck", ["--version"]).status === 0;
const inCi = process.env.CI === "true";

describe("shellcheck", () => {
    if (!shellcheckFound && !inCi) {
        console.warn("shellcheck is not installed: skipping the shellcheck tests (they fail in CI)");
        test.skip("shellcheck (skipped: shellcheck is not installed)", () => undefined);
        return;
    }

    test.each([...COMMAND_SCRIPT_NAMES])("%s is shellcheck-clean", (name) => {
        if (!shellcheckFound) {
            throw new Error("shellcheck is required when CI=true (apt-get install shellcheck)");
        }
        // --external-sources: a script is checked together with the libraries it sources.
        const result = spawnSync(
            "shellcheck",
            ["--shell=bash", "--severity=style", "--external-sources", commandScriptPath(name)],
            { encoding: "utf8" },
        );
        expect(result.stdout + result.stderr).toBe("");
        expect(result.status).toBe(0);
    });

    test.each(fs.readdirSync(path.join(COMMAND_SCRIPTS_DIR, "lib")))("lib/%s is shellcheck-clean", (file) => {
        if (!shellcheckFound) {
            throw new Error("shellcheck is required when CI=true (apt-get install shellcheck)");
        }
        const result = spawnSync(
            "shellcheck",
            ["--shell=bash", "--severity=style", path.join(COMMAND_SCRIPTS_DIR, "lib", file)],
            { encoding: "utf8" },
        );
        expect(result.stdout + result.stderr).toBe("");
        expect(result.status).toBe(0);
    });

    // The e2e rig's scripts and bash stand-ins run in CI too: held to the same standard.
    const e2eDir = path.join(__dirname, "..", "e2e");
    const e2eScripts = [
        ...fs
            .readdirSync(path.join(e2eDir, "toolchain"))
            .filter((f) => f.endsWith(".sh"))
            .map((f) => path.join(e2eDir, "toolchain", f)),
        path.join(e2eDir, "run.sh"),
        ...fs
            .readdirSync(path.join(e2eDir, "stand-ins"))
            .map((f) => path.join(e2eDir, "stand-ins", f))
            .filter((f) => fs.readFileSync(f, "utf8").startsWith("#!/usr/bin/env bash")),
    ];
    test.each(e2eScripts.map((f) => path.relative(e2eDir, f)))("e2e %s is shellcheck-clean", (relative) => {
        if (!shellcheckFound) {
            throw new Error("shellcheck is required when CI=true (apt-get install shellcheck)");
        }
        const result = spawnSync("shellcheck", ["-x", "--severity=style", path.join(e2eDir, relative)], {
            encoding: "utf8",
        });
        expect(result.stdout + result.stderr).toBe("");
        expect(result.status).toBe(0);
    });
});
