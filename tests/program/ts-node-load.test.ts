/**
 * `pulumi up` runs index.ts through the project's own ts-node with the tsconfig Pulumi.yaml names
 * (tsconfig.pulumi.json: swc, no type check), not through jest's transformer: load it the way
 * @pulumi/pulumi's cmd/run registers ts-node, under mocks, in a fresh process. The dynamic
 * providers serialized from that code must then run in a plain node process, as Pulumi's
 * dynamic-provider host runs them.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as ts from "typescript";
import { parse as parseYaml } from "yaml";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/** The runtime options of Pulumi.yaml, as the language host reads them. */
function runtimeOptions(): { typescript?: boolean; tsconfig?: string } {
    const project = parseYaml(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8"));
    return project.runtime.options ?? {};
}

/** A tsconfig file's own compilerOptions (no `extends`), read as @pulumi/pulumi's tsutils reads them. */
function ownCompilerOptions(file: string): Record<string, unknown> {
    const text = fs.readFileSync(path.join(PROJECT_DIR, file), "utf8");
    return ts.parseConfigFileTextToJson(file, text).config.compilerOptions ?? {};
}

/**
 * Mirrors @pulumi/pulumi cmd/run: `transpileOnly` from PULUMI_NODEJS_TRANSPILE_ONLY or else the
 * tsconfig's own `noCheck`; the tsconfig as ts-node's project; its compilerOptions over Pulumi's
 * defaults. Writes the outputs' names and each dynamic provider's serialized code and inputs to `out`.
 */
const LOAD_DRIVER = `
const [tsconfig, out] = process.argv.slice(1);
const fs = require("fs");
const path = require("path");
const own = require("typescript").parseConfigFileTextToJson(tsconfig, fs.readFileSync(tsconfig, "utf8")).config.compilerOptions ?? {};
require("ts-node").register({
    compiler: "typescript",
    transpileOnly: own.noCheck,
    project: tsconfig,
    skipProject: false,
    compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...own },
});
const pulumi = require("@pulumi/pulumi");
const providers = {};
pulumi.runtime
    .setMocks(
        {
            newResource: (args) => {
                if (typeof args.inputs.__provider === "string" && !providers[args.type]) {
                    providers[args.type] = args.inputs;
                }
                return { id: args.name + "-id", state: args.inputs };
            },
            call: (args) => { throw new Error("unexpected invoke " + args.token); },
        },
        "capt-playground",
        "dev",
        true,
    )
    .then(() => {
        pulumi.runtime.setAllConfig({ "capt-playground:preflight": "false" });
        return require(path.resolve("index.ts"))();
    })
    .then((outputs) => {
        // Registrations finish after the program returns: write once the event loop is idle.
        process.once("beforeExit", () =>
            fs.writeFileSync(out, JSON.stringify({ outputs: Object.keys(outputs).sort(), providers })),
        );
    })
    .catch((error) => {
        process.stderr.write(String((error && error.stack) || error));
        process.exit(1);
    });
`;

/** Plain node, like the dynamic-provider host: deserialize each provider and check its inputs. */
const CHECK_DRIVER = `
const requireFromString = require("require-from-string");
const { providers } = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
(async () => {
    const result = {};
    for (const [type, inputs] of Object.entries(providers)) {
        const provider = requireFromString(inputs.__provider).handler();
        const checked = await provider.check({}, inputs);
        result[type] = { methods: Object.keys(provider).sort(), failures: checked.failures };
    }
    process.stdout.write(JSON.stringify(result));
})().catch((error) => {
    process.stderr.write(String((error && error.stack) || error));
    process.exit(1);
});
`;

describe("the program as pulumi runs it", () => {
    test("Pulumi.yaml runs the program through a tsconfig without type checking; tsconfig.json (typecheck) checks", () => {
        const options = runtimeOptions();
        expect(options.typescript).toBe(true);
        expect(options.tsconfig).toBe("tsconfig.pulumi.json");
        expect(ownCompilerOptions("tsconfig.pulumi.json")).toMatchObject({ noCheck: true, module: "commonjs" });
        // `npm run typecheck` (tsc --noEmit) reads tsconfig.json: it must type-check.
        expect(ownCompilerOptions("tsconfig.json").noCheck).toBeUndefined();
        const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8"));
        expect(pkg.scripts.typecheck).toBe("tsc --noEmit");
    });

    test("index.ts runs through ts-node with Pulumi.yaml's tsconfig, and its dynamic providers run in plain node", () => {
        const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "capt-ts-node-load-"));
        try {
            const out = path.join(tmp, "program.json");
            const load = spawnSync(process.execPath, ["-e", LOAD_DRIVER, runtimeOptions().tsconfig!, out], {
                cwd: PROJECT_DIR,
                encoding: "utf8",
                timeout: 120_000,
            });
            expect(load.stderr).not.toMatch(/TSError|error TS|Error:/);
            expect(load.status).toBe(0);
            const program = JSON.parse(fs.readFileSync(out, "utf8"));
            expect(program.outputs).toEqual(
                expect.arrayContaining(["kindKubeconfig", "machines", "nextSteps", "tinkerbellUi", "vips"]),
            );
            expect(Object.keys(program.providers).sort()).toEqual([
                "pulumi-nodejs:dynamic/libvirt:Domain",
                "pulumi-nodejs:dynamic/libvirt:Pool",
                "pulumi-nodejs:dynamic/libvirt:Volume",
            ]);

            const check = spawnSync(process.execPath, ["-e", CHECK_DRIVER, out], {
                cwd: PROJECT_DIR,
                encoding: "utf8",
                timeout: 60_000,
            });
            expect(check.stderr).toBe("");
            expect(check.status).toBe(0);
            for (const result of Object.values(JSON.parse(check.stdout))) {
                expect(result).toEqual({
                    methods: ["check", "create", "delete", "diff", "update"],
                    failures: [],
                });
            }
        } finally {
            fs.rmSync(tmp, { recursive: true, force: true });
        }
    });
});
