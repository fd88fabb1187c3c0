/**
 * vbmc-register.sh / vbmc-unregister.sh against a fake docker whose `exec … sh -c` runs on this machine
 * (VBMC_CONFIG_DIR points into a temp "container root") and whose `vbmc` follows vbmcd's manager.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { Sandbox, expectSecretKept } from "./harness";

const CONTAINER = "capt-dev-vbmc";
// A % forces the configparser escaping; IPMI passwords are printable ASCII without blanks.
const PASSWORD = "Zq%7-secret!pw";
const ESCAPED = "Zq%%7-secret!pw";

let sandbox: Sandbox;
let configDir: string;
beforeEach(() => {
    sandbox = new Sandbox();
    configDir = path.join(sandbox.root, "container", "root", ".vbmc");
    sandbox.writeState(`containers/${CONTAINER}`, "true");
});
afterEach(() => sandbox.cleanup());

function registerEnv(domain: string, overrides: Record<string, string> = {}): Record<string, string> {
    return {
        VBMC_CONTAINER: CONTAINER,
        VBMC_DOMAIN: domain,
        VBMC_PORT: "6231",
        VBMC_USERNAME: "root",
        VBMC_PASSWORD: PASSWORD,
        VBMC_CONFIG_DIR: configDir,
        VBMC_WAIT_SECONDS: "5",
        FAKE_VBMC_DIR: configDir,
        ...overrides,
    };
}

function unregisterEnv(domain: string): Record<string, string> {
    return { VBMC_CONTAINER: CONTAINER, VBMC_DOMAIN: domain, VBMC_CONFIG_DIR: configDir, FAKE_VBMC_DIR: configDir };
}

const configFile = (domain: string) => path.join(configDir, domain, "config");

/** Minimal reader for the one-section INI vbmcd reads, with configparser's %% unescaping. */
function readIni(text: string): { section: string; values: Record<string, string> } {
    const lines = text.split("\n").filter((line) => line.trim() !== "");
    const values: Record<string, string> = {};
    for (const line of lines.slice(1)) {
        const at = line.indexOf(" = ");
        values[line.slice(0, at)] = line.slice(at + 3).replace(/%%/g, "%");
    }
    return { section: lines[0], values };
}

describe("vbmc-register", () => {
    test("writes vbmcd's per-domain config and starts the BMC", () => {
        const result = sandbox.run("vbmc-register", registerEnv("capt-dev-node-1"));
        expect(result.status).toBe(0);
        expect(result.stdout).toBe("");
        const text = fs.readFileSync(configFile("capt-dev-node-1"), "utf8");
        // Exactly the layout configparser writes for vbmcd, so vbmcd's own rewrites change nothing else.
        expect(text).toBe(
            "[VirtualBMC]\nusername = root\npassword = " +
                ESCAPED +
                "\naddress = 0.0.0.0\nport = 6231\ndomain_name = capt-dev-node-1\n" +
                "libvirt_uri = qemu:///system\nactive = True\n\n",
        );
        expect(readIni(text)).toEqual({
            section: "[VirtualBMC]",
            values: {
                username: "root",
                password: PASSWORD,
                address: "0.0.0.0",
                port: "6231",
                domain_name: "capt-dev-node-1",
                libvirt_uri: "qemu:///system",
                active: "True",
            },
        });
        expect(fs.statSync(configFile("capt-dev-node-1")).mode & 0o777).toBe(0o600);
        expect(fs.readdirSync(path.join(configDir, "capt-dev-node-1"))).toEqual(["config"]);
        expect(sandbox.readState("vbmc-running/capt-dev-node-1")).toBe(text);
        expect(sandbox.calls("docker", "exec", CONTAINER, "vbmc")).toEqual([
            `docker exec ${CONTAINER} vbmc start capt-dev-node-1`,
        ]);
        expect(sandbox.argvLines().some((line) => / vbmc add /.test(line))).toBe(false);
        // The file content went over stdin; the sh -c argv holds the config dir and domain only.
        const upload = sandbox.calls("docker", "exec", "-i", CONTAINER, "sh", "-c");
        expect(upload).toHaveLength(1);
        expect(upload[0].endsWith(` sh ${configDir} capt-dev-node-1`)).toBe(true);
    });

    const python = spawnSync("python3", ["-c", "import configparser"]).status === 0;
    const pythonTest = `Python's configparser reads the password back unchanged${python ? "" : " (skipped: python3 is not installed)"}`;
    (python ? test : test.skip)(pythonTest, () => {
        expect(sandbox.run("vbmc-register", registerEnv("capt-dev-node-1")).status).toBe(0);
        const read = spawnSync(
            "python3",
            [
                "-c",
                "import configparser,sys\n" +
                    "c=configparser.ConfigParser(); c.read(sys.argv[1])\n" +
                    "print(c.get('VirtualBMC','password')==sys.stdin.read(), c.getint('VirtualBMC','port'))",
                configFile("capt-dev-node-1"),
            ],
            { input: PASSWORD, encoding: "utf8" },
        );
        expect(read.stdout.trim()).toBe("True 6231");
    });

    test("a second run with the same settings changes nothing and does not restart the BMC", () => {
        expect(sandbox.run("vbmc-register", registerEnv("capt-dev-node-1")).status).toBe(0);
        const before = fs.statSync(configFile("capt-dev-node-1"));
        const again = sandbox.run("vbmc-register", registerEnv("capt-dev-node-1"));
        expect(again.status).toBe(0);
        expect(again.stderr).toContain("up to date");
        expect(fs.statSync(configFile("capt-dev-node-1")).ino).toBe(before.ino);
        expect(sandbox.calls("docker", "exec", CONTAINER, "vbmc", "stop")).toEqual([]);
        expect(sandbox.readState("vbmc-running/capt-dev-node-1")).toContain("port = 6231");
    });

    test("changed settings converge: the running BMC is restarted with the new port and password", () => {
        expect(sandbox.run("vbmc-register", registerEnv("capt-dev-node-1")).status).toBe(0);
        const changed = sandbox.run(
            "vbmc-register",
            registerEnv("capt-dev-node-1", { VBMC_PORT: "6240", VBMC_PASSWORD: "new%pass-9" }),
        );
        expect(changed.status).toBe(0);
        expect(sandbox.calls("docker", "exec", CONTAINER, "vbmc", "stop")).toHaveLength(1);
        const running = readIni(sandbox.readState("vbmc-running/capt-dev-node-1") ?? "").values;
        expect(running).toMatchObject({ port: "6240", password: "new%pass-9", active: "True" });
        expect(readIni(fs.readFileSync(configFile("capt-dev-node-1"), "utf8")).values.active).toBe("True");
        expect(fs.readdirSync(path.join(configDir, "capt-dev-node-1"))).toEqual(["config"]);
        expectSecretKept(sandbox, "new%pass-9", [changed]);
    });

    test("a run that stopped half-way converges on the next run", () => {
        // Left behind by an interrupted "changed" run: the new settings written inactive, old BMC stopped.
        expect(sandbox.run("vbmc-register", registerEnv("capt-dev-node-1")).status).toBe(0);
        const file = configFile("capt-dev-node-1");
        fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace("active = True", "active = False"));
        fs.writeFileSync(path.join(configDir, "capt-dev-node-1", "config.new"), "stale");
        fs.rmSync(sandbox.stateFile("vbmc-running/capt-dev-node-1"));
        expect(sandbox.run("vbmc-register", registerEnv("capt-dev-node-1")).status).toBe(0);
        expect(readIni(fs.readFileSync(file, "utf8")).values.active).toBe("True");
        expect(sandbox.readState("vbmc-running/capt-dev-node-1")).toContain("active = True");
        expect(fs.readdirSync(path.join(configDir, "capt-dev-node-1"))).toEqual(["config"]);
    });

    test("waits for a container that does not accept exec yet and for vbmcd", () => {
        sandbox.writeState(`exec-not-ready.${CONTAINER}`, "1");
        sandbox.writeState("vbmcd-not-ready", "1");
        const result = sandbox.run("vbmc-register", registerEnv("capt-dev-node-1"));
        expect(result.status).toBe(0);
        expect(sandbox.calls("docker", "exec", CONTAINER, "true")).toHaveLength(2);
        expect(sandbox.calls("docker", "exec", CONTAINER, "vbmc", "start")).toHaveLength(2);
        expect(sandbox.readState("vbmc-running/capt-dev-node-1")).toBeDefined();
    });

    test("gives up on a missing container after VBMC_WAIT_SECONDS", () => {
        const started = Date.now();
        const result = sandbox.run(
            "vbmc-register",
            registerEnv("capt-dev-node-1", { VBMC_CONTAINER: "nope", VBMC_WAIT_SECONDS: "1" }),
        );
        expect(result.status).toBe(1);
        expect(result.stderr).toContain("No such container: nope");
        expect(Date.now() - started).toBeLessThan(8000);
    });

    test("rejects a domain name that is not a plain name before touching docker", () => {
        const result = sandbox.run("vbmc-register", registerEnv("../etc"));
        expect(result.status).toBe(2);
        expect(sandbox.argvLines()).toEqual([]);
    });

    test("rejects a multi-line password without echoing it", () => {
        const result = sandbox.run("vbmc-register", registerEnv("capt-dev-node-1", { VBMC_PASSWORD: "abc\nactive-x" }));
        expect(result.status).toBe(2);
        expect(result.stderr).toContain("VBMC_PASSWORD must be one line");
        expect(result.stderr).not.toContain("active-x");
        expect(sandbox.argvLines()).toEqual([]);
    });

    test("the password never reaches an argv, stderr or a child's environment", () => {
        const first = sandbox.run("vbmc-register", registerEnv("capt-dev-node-1"));
        const again = sandbox.run("vbmc-register", registerEnv("capt-dev-node-1", { VBMC_PORT: "6299" }));
        expectSecretKept(sandbox, "secret!pw", [first, again]);
    });
});

describe("vbmc-unregister", () => {
    beforeEach(() => {
        for (const [domain, port] of [
            ["capt-dev-node-1", "6231"],
            ["capt-dev-node-2", "6232"],
        ]) {
            expect(sandbox.run("vbmc-register", registerEnv(domain, { VBMC_PORT: port })).status).toBe(0);
        }
    });

    test("stops and removes one registration and leaves the others alone", () => {
        const other = fs.readFileSync(configFile("capt-dev-node-2"), "utf8");
        const result = sandbox.run("vbmc-unregister", unregisterEnv("capt-dev-node-1"));
        expect(result.status).toBe(0);
        expect(fs.existsSync(path.join(configDir, "capt-dev-node-1"))).toBe(false);
        // Gone for real: a BMC whose directory was removed while it kept running would still serve IPMI.
        expect(sandbox.readState("vbmc-running/capt-dev-node-1")).toBeUndefined();
        expect(fs.readFileSync(configFile("capt-dev-node-2"), "utf8")).toBe(other);
        expect(sandbox.readState("vbmc-running/capt-dev-node-2")).toBe(other);
        expect(sandbox.calls("docker", "exec", CONTAINER, "vbmc", "delete")).toEqual([
            `docker exec ${CONTAINER} vbmc delete capt-dev-node-1`,
        ]);
    });

    test("a domain that is not registered is fine", () => {
        const result = sandbox.run("vbmc-unregister", unregisterEnv("capt-dev-node-9"));
        expect(result.status).toBe(0);
        expect(result.stderr).toContain("not registered");
        expect(sandbox.calls("docker", "exec", CONTAINER, "vbmc", "delete")).toEqual([]);
        expect(fs.readdirSync(configDir).sort()).toEqual(["capt-dev-node-1", "capt-dev-node-2"]);
    });

    test("running twice is fine", () => {
        expect(sandbox.run("vbmc-unregister", unregisterEnv("capt-dev-node-1")).status).toBe(0);
        expect(sandbox.run("vbmc-unregister", unregisterEnv("capt-dev-node-1")).status).toBe(0);
        expect(fs.readdirSync(configDir)).toEqual(["capt-dev-node-2"]);
    });

    test("a missing or stopped container is fine", () => {
        fs.writeFileSync(sandbox.stateFile(`containers/${CONTAINER}`), "false");
        const stopped = sandbox.run("vbmc-unregister", unregisterEnv("capt-dev-node-1"));
        expect(stopped.status).toBe(0);
        expect(stopped.stderr).toContain("not running");
        fs.rmSync(sandbox.stateFile(`containers/${CONTAINER}`));
        const gone = sandbox.run("vbmc-unregister", unregisterEnv("capt-dev-node-1"));
        expect(gone.status).toBe(0);
        expect(gone.stderr).toContain("is gone");
        expect(sandbox.calls("docker", "exec", CONTAINER, "vbmc", "delete")).toEqual([]);
    });

    test("does not leak the password it finds in the config", () => {
        const result = sandbox.run("vbmc-unregister", unregisterEnv("capt-dev-node-2"));
        expect(result.status).toBe(0);
        expectSecretKept(sandbox, "secret!pw", [result]);
    });
});
