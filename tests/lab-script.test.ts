/** scripts/lab.ts: the environment and arguments `npm run up|preview|destroy` hand to the Pulumi CLI. */
import * as path from "node:path";
import { DEFAULT_PASSPHRASE, labEnvironment, stackAndFlags } from "../scripts/lab";
import { PROJECT_DIR } from "./fixtures";

test("a file backend inside the project and the documented default passphrase", () => {
    const env = labEnvironment({ PATH: "/usr/bin" });
    expect(env.PULUMI_BACKEND_URL).toBe(`file://${path.join(PROJECT_DIR, ".pulumi-state")}`);
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

test("--stack selects the stack, default dev, STACK from the environment; other flags pass through", () => {
    expect(stackAndFlags([], {})).toEqual({ stack: "dev", flags: [] });
    expect(stackAndFlags(["--stack", "big", "--diff"], {})).toEqual({ stack: "big", flags: ["--diff"] });
    expect(stackAndFlags(["--yes"], { STACK: "other" })).toEqual({ stack: "other", flags: ["--yes"] });
});
