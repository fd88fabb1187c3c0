/**
 * `pulumi up` compiles index.ts with the project's own ts-node and tsconfig (type-checking),
 * not with jest's transformer: load it the same way, under mocks, in a fresh process.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");

const DRIVER = `
require("ts-node").register({ project: ${JSON.stringify(path.join(PROJECT_DIR, "tsconfig.json"))} });
const pulumi = require("@pulumi/pulumi");
pulumi.runtime
    .setMocks(
        {
            newResource: (args) => ({ id: args.name + "-id", state: args.inputs }),
            call: (args) => { throw new Error("unexpected invoke " + args.token); },
        },
        "capt-playground",
        "dev",
        true,
    )
    .then(() => {
        pulumi.runtime.setAllConfig({ "capt-playground:preflight": "false" });
        return require(${JSON.stringify(path.join(PROJECT_DIR, "index.ts"))})();
    })
    .then((outputs) => {
        process.stdout.write(JSON.stringify(Object.keys(outputs).sort()));
    })
    .catch((error) => {
        process.stderr.write(String(error && error.stack || error));
        process.exit(1);
    });
`;

test("index.ts compiles and runs through ts-node with the project's tsconfig", () => {
    const result = spawnSync(process.execPath, ["-e", DRIVER], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        timeout: 120_000,
    });
    expect(result.stderr).not.toMatch(/TSError|error TS|Error:/);
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual(
        expect.arrayContaining(["kindKubeconfig", "machines", "nextSteps", "tinkerbellUi", "vips"]),
    );
});
