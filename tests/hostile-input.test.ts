/**
 * Hostile input through the config library, the Helm `--set` parser, the stack-file reader and the
 * lab's CLI wrappers: each case here was accepted, crashed, hung or leaked on main before the fix
 * named in its describe block.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, RawConfig, parseLabConfig, projectKeys } from "../lib/config";
import { isAllowedLibvirtUri, isIPv4, isStackName } from "../lib/config-formats";
import { applySetValues } from "../lib/render/helm-set";
import { StackFileError, mergeConfig, readStackValues } from "../lib/stack-files";
import { StackNameError, stackAndFlags } from "../scripts/lab";

function problemsOf(raw: RawConfig): { key: string; message: string }[] {
    try {
        parseLabConfig(raw, { stack: "dev", isSecret: () => true });
    } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).problems;
    }
    throw new Error(`expected ${JSON.stringify(raw)} to be rejected`);
}

function keysOf(raw: RawConfig): string[] {
    return problemsOf(raw).map((p) => p.key);
}

describe("1. libvirtUri: only the transports and query parameters the lab supports", () => {
    test.each([
        ["ext runs the program in command=", "qemu+ext:///system?command=/tmp/evil"],
        ["ssh with command= (the ssh binary libvirt runs)", "qemu+ssh://lab@metal/system?command=/tmp/evil"],
        ["ssh with netcat= (runs on the remote host)", "qemu+ssh://metal/system?netcat=/tmp/evil"],
        ["a socket path of the user's choosing", "qemu:///system?socket=/tmp/evil.sock"],
        ["unix transport with socket=", "qemu+unix:///system?socket=/run/other.sock"],
        ["unencrypted tcp", "qemu+tcp://metal/system"],
        ["session daemon (the lab needs system)", "qemu:///session"],
        ["the test driver", "test:///default"],
        ["a fragment", "qemu:///system#x"],
        ["a remote host on the local transport", "qemu://metal/system"],
        ["keyfile with ..", "qemu+ssh://metal/system?keyfile=/root/../etc/shadow"],
        ["a repeated parameter", "qemu+ssh://metal/system?no_tty=1&no_tty=1"],
        ["a space", "qemu+ssh://metal /system"],
        ["a port out of range", "qemu+ssh://metal:70000/system"],
    ])("%s is refused naming libvirtUri: %s", (_name, uri) => {
        const problem = problemsOf({ libvirtUri: uri }).find((p) => p.key === "libvirtUri");
        expect(problem?.message).toContain("qemu+ssh://[user@]host[:port]/system");
        expect(problem?.message).toContain("ext, tcp, command=, socket= and netcat= are refused");
    });

    test.each([
        "qemu:///system",
        "qemu+unix:///system",
        "qemu+ssh://lab@metal/system",
        "qemu+ssh://metal.example.com:2222/system?keyfile=/root/.ssh/id_ed25519&no_verify=1",
        "qemu+libssh2://lab@10.0.0.5/system?known_hosts=/root/.ssh/known_hosts&sshauth=privkey,agent",
        "qemu+tls://metal/system",
    ])("accepted: %s", (uri) => {
        expect(isAllowedLibvirtUri(uri)).toBe(true);
        expect(parseLabConfig({ libvirtUri: uri }, { stack: "dev" }).libvirtUri).toBe(uri);
    });
});

describe("2. no user string becomes an object key without a guard", () => {
    afterEach(() => {
        // Were a test to pollute, the others must not inherit it.
        for (const key of ["username", "polluted"]) delete (Object.prototype as Record<string, unknown>)[key];
    });

    test.each([
        "__proto__.username=pwned",
        "a.__proto__.username=pwned",
        "constructor.prototype.username=pwned",
        "list[0].__proto__.username=pwned",
    ])("the --set parser refuses %s and Object.prototype stays clean", (assignment) => {
        expect(() => applySetValues({ a: { b: 1 } }, [assignment])).toThrow(/__proto__, constructor, prototype/);
        expect(({} as Record<string, unknown>).username).toBeUndefined();
    });

    test("tinkerbellExtraValues with __proto__ is a config problem naming the key, and pollutes nothing", () => {
        const problems = problemsOf({ tinkerbellExtraValues: ["__proto__.username=pwned"] });
        expect(problems.map((p) => p.key)).toEqual(["tinkerbellExtraValues"]);
        expect(problems[0].message).toContain("__proto__, constructor, prototype");
        expect(({} as Record<string, unknown>).username).toBeUndefined();
    });

    test("an ordinary value path still works, including names Object.prototype has", () => {
        const values = applySetValues({}, ["a.toString=x", "a.hasOwnProperty.b=1", "list[1].valueOf=2"]);
        expect(values).toEqual({ a: { toString: "x", hasOwnProperty: { b: 1 } }, list: [null, { valueOf: 2 }] });
    });

    test.each(["__proto__", "constructor", "prototype", "toString", "hasOwnProperty"])(
        "the config key %s is refused, not ignored",
        (key) => {
            const raw = projectKeys(JSON.parse(`{"capt-playground:${key}": {"polluted": true}}`));
            expect(Object.getPrototypeOf(raw)).toBe(Object.prototype);
            expect(keysOf(raw)).toContain(key);
            expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        },
    );

    test("merging config layers keeps __proto__ an own key (then refused)", () => {
        const merged = mergeConfig({ workers: 1 }, JSON.parse('{"__proto__": {"workers": 9}}'));
        expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
        expect(keysOf(merged)).toEqual(["__proto__"]);
    });
});

describe("3. outputDir and storageDir: only folders a user would expect", () => {
    test.each([
        ["outputDir", "../../../../etc"],
        ["outputDir", "/"],
        ["outputDir", "/etc"],
        ["outputDir", "/etc/lab"],
        ["outputDir", "/usr/local/lab"],
        ["outputDir", "/home/ann"],
        ["outputDir", "/tmp"],
        ["outputDir", "lab/../../x"],
        ["outputDir", "."],
        ["outputDir", "lab; rm -rf ~"],
        ["outputDir", "~/lab"],
        ["storageDir", "/"],
        ["storageDir", "/var/lib/libvirt/images"],
        ["storageDir", "/var/lib/libvirt"],
        ["storageDir", "/boot/lab"],
        ["storageDir", "/srv/lab\n"],
        ["storageDir", "/srv/lab\u0007"],
        ["storageDir", "/srv/lab/../../etc"],
        ["storageDir", "/srv/la b"],
    ])("%s %j is refused, naming the key and the allowed folders", (key, value) => {
        const problem = problemsOf({ [key]: value }).find((p) => p.key === key);
        expect(problem?.message).toMatch(/expected empty .*below/);
    });

    test.each([
        ["outputDir", ""],
        ["outputDir", "out/dev"],
        ["outputDir", "/home/ann/lab"],
        ["outputDir", "/tmp/capt-lab"],
        ["storageDir", ""],
        ["storageDir", "/var/lib/libvirt/images/capt-dev"],
        ["storageDir", "/srv/capt/images"],
    ])("%s %j is accepted", (key, value) => {
        expect((parseLabConfig({ [key]: value }, { stack: "dev" }) as unknown as Record<string, string>)[key]).toBe(
            value,
        );
    });
});

describe("4. invalid addresses are problems naming the key, with every other problem kept", () => {
    test.each([
        ["tinkerbellVip", "999.1.1.1"],
        ["networkGateway", "999.0.0.1"],
        ["controlPlaneVip", "10.71.0.017"],
        ["artifactsVip", "10.71.0.1.5"],
    ])("%s %s", (key, value) => {
        const problems = problemsOf({ [key]: value, machines: realMachine(), bootMode: "pxe" });
        expect(problems.map((p) => p.key)).toEqual(expect.arrayContaining([key, "bootMode"]));
        expect(problems.find((p) => p.key === key)?.message).toContain(`got "${value}"`);
    });

    test.each(["10.71.0.017/16", "10.071.0.0/16", "999.71.0.0/16", "10.71.0.0/016"])(
        "networkSubnet %s is refused as a CIDR",
        (cidr) => {
            expect(keysOf({ networkSubnet: cidr })).toContain("networkSubnet");
        },
    );

    test("a machine ip with a leading zero names the machine's field", () => {
        const machines = realMachine();
        (machines[0] as { ip: string }).ip = "10.71.1.010";
        expect(keysOf({ machines, bmcPassword: "secret-pass" })).toContain("machines[0].ip");
    });

    test("isIPv4 is exact: octets 0-255, no leading zeros, four parts", () => {
        expect(["0.0.0.0", "10.71.0.17", "255.255.255.255"].every(isIPv4)).toBe(true);
        expect(["256.0.0.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", " 1.2.3.4", "1.2.3.4\n", "१.2.3.4"].some(isIPv4)).toBe(
            false,
        );
    });
});

describe("6. secrets never reach error text", () => {
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-stack-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    test("a malformed stack file's error names the file and line, never the line's text", () => {
        const password = "Plaintext-Pa55word";
        fs.writeFileSync(
            path.join(dir, "Pulumi.dev.yaml"),
            `config:\n  capt-playground:workers: 1\n  capt-playground:bmcPassword: [${password}\n`,
        );
        let error: unknown;
        try {
            readStackValues(dir, "dev");
        } catch (e) {
            error = e;
        }
        expect(error).toBeInstanceOf(StackFileError);
        const message = (error as Error).message;
        expect(message).toContain(path.join(dir, "Pulumi.dev.yaml"));
        expect(message).toMatch(/not valid YAML at line \d+, column \d+/);
        expect(message).not.toContain(password);
    });

    test("ciphertext on a plain key is shown as [secret], as diff shows it", () => {
        const ciphertext = "v1:AAABBBCCCDDD-ciphertext";
        const problems = problemsOf({ workers: { secure: ciphertext }, machines: [{ bmc: { secure: ciphertext } }] });
        expect(problems.map((p) => p.key)).toContain("workers");
        expect(JSON.stringify(problems)).not.toContain(ciphertext);
        expect(problems.find((p) => p.key === "workers" && p.message.startsWith("got"))?.message).toContain("[secret]");
    });
});

function realMachine(): Record<string, unknown>[] {
    return [
        {
            name: "rack1-a",
            mac: "0c:c4:7a:00:00:01",
            ip: "10.71.1.10",
            bmc: { address: "10.71.2.10", protocol: "ipmi" },
        },
    ];
}

describe("5. values that were accepted although wrong", () => {
    const machine = (overrides: Record<string, unknown>, bmc: Record<string, unknown> = {}) => ({
        name: "rack1-a",
        mac: "0c:c4:7a:00:00:01",
        ip: "10.71.1.10",
        ...overrides,
        bmc: { address: "10.71.2.10", protocol: "ipmi", ...bmc },
    });
    const withMachines = (...machines: Record<string, unknown>[]) => ({ machines, bmcPassword: "secret-pass" });

    test.each([
        ["multicast MAC", withMachines(machine({ mac: "01:00:5e:00:00:01" })), "machines[0].mac"],
        ["broadcast MAC", withMachines(machine({ mac: "ff:ff:ff:ff:ff:ff" })), "machines[0].mac"],
        ["all-zero MAC", withMachines(machine({ mac: "00:00:00:00:00:00" })), "machines[0].mac"],
        ["BMC 0.0.0.0", withMachines(machine({}, { address: "0.0.0.0" })), "machines[0].bmc.address"],
        ["BMC 999.999.999.999", withMachines(machine({}, { address: "999.999.999.999" })), "machines[0].bmc.address"],
        ["BMC on the Tinkerbell VIP", withMachines(machine({}, { address: "10.71.0.17" })), "machines[0].bmc.address"],
        [
            "one BMC twice, in different case",
            withMachines(
                machine({}, { address: "BMC.example.com" }),
                machine(
                    { name: "rack1-b", mac: "0c:c4:7a:00:00:02", ip: "10.71.1.11" },
                    { address: "bmc.example.com" },
                ),
            ),
            "machines[1].bmc",
        ],
        ["disk escaping /dev", withMachines(machine({ disk: "/dev/../etc/passwd" })), "machines[0].disk"],
        [
            "mirror host port 99999",
            { registryMirror: true, registryMirrorHost: "mirror.example.com:99999" },
            "registryMirrorHost",
        ],
        ["name server 0.0.0.0", { nameServers: ["0.0.0.0"] }, "nameServers"],
        ["name server 255.255.255.255", { nameServers: ["255.255.255.255"] }, "nameServers"],
        ["kubernetesVersion v1.20.0", { kubernetesVersion: "v1.20.0" }, "kubernetesVersion"],
        ["kubernetesVersion v9.99.99", { kubernetesVersion: "v9.99.99" }, "kubernetesVersion"],
        ["kubernetesVersion v01.035.002", { kubernetesVersion: "v01.035.002" }, "kubernetesVersion"],
        ["captVersion v0.1.0", { captVersion: "v0.1.0" }, "captVersion"],
        ["clusterctlVersion v1.0.0", { clusterctlVersion: "v1.0.0" }, "clusterctlVersion"],
    ])("%s is refused naming %s", (_name, raw, key) => {
        expect(keysOf(raw as RawConfig)).toContain(key);
    });

    test("a version outside the range names the range and why", () => {
        const problem = problemsOf({ kubernetesVersion: "v9.99.99" }).find((p) => p.key === "kubernetesVersion");
        expect(problem?.message).toMatch(/expected a release from v1\.28\.0 up to \(not including\) v1\.37\.0: /);
    });

    describe("stack files", () => {
        let dir: string;
        beforeEach(() => {
            dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-stack-"));
        });
        afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

        test.each([
            ["a list", "- capt-playground:workers: 1\n", /expected a mapping with a config: section, got a list/],
            ["a string", "just text\n", /expected a mapping with a config: section, got a string/],
            [
                "config: as a list",
                "config:\n  - capt-playground:workers: 1\n",
                /config: expected a mapping of keys to values .*, got a list/,
            ],
        ])("a stack file that is %s is refused naming the file", (_name, text, message) => {
            fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), text);
            expect(() => readStackValues(dir, "dev")).toThrow(message);
            expect(() => readStackValues(dir, "dev")).toThrow(path.join(dir, "Pulumi.dev.yaml"));
        });

        test.each(["x/../../elsewhere", "a;b", "", "two\nlines", "a".repeat(101)])(
            "stack name %j is refused by Pulumi's rule",
            (stack) => {
                expect(() => readStackValues(dir, stack)).toThrow(/Pulumi's stack-name rule/);
            },
        );
    });
});

describe("7. messages a user can act on", () => {
    test("1e309 (YAML reads it as Infinity) is shown as Infinity, not null", () => {
        expect(problemsOf({ workers: Number.POSITIVE_INFINITY }).find((p) => p.key === "workers")?.message).toMatch(
            /^got Infinity;/,
        );
    });

    test("capacity problems with a machine list name the list, not hardwareCount", () => {
        const machines = Array.from({ length: 70 }, (_, i) => ({
            name: `m${i}`,
            mac: `0c:c4:7a:00:01:${i.toString(16).padStart(2, "0")}`,
            bmc: { address: `bmc${i}.example.com`, protocol: "ipmi" },
        }));
        const problem = problemsOf({ machines, bmcPassword: "secret-pass", networkSubnet: "10.71.0.0/26" }).find(
            (p) => p.key === "networkSubnet",
        );
        expect(problem?.message).toContain("but machines lists 70");
        expect(problem?.message).not.toContain("hardwareCount");
    });

    test("an invalid bmcPassword is reported once, not also as missing", () => {
        const problems = problemsOf({ machines: realMachine(), bmcPassword: "short" });
        const password = problems.filter((p) => p.key === "bmcPassword");
        expect(password).toHaveLength(1);
        expect(password[0].message).not.toContain("is required");
    });
});

describe("8. secrets through side doors: YAML tags and aliases, values shaped like encrypted ones", () => {
    const PASSWORD = "Sup3r-S3cret-Pw";
    let dir: string;
    beforeEach(() => {
        dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-yaml-"));
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    /** The stack file's problem as render, doctor and status print it, and whatever yaml printed meanwhile. */
    function readProblem(body: string): { message: string; printed: string } {
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), `config:\n  capt-playground:workers: 1\n${body}`);
        const printed: string[] = [];
        const warn = jest.spyOn(process, "emitWarning").mockImplementation((w) => void printed.push(String(w)));
        const log = jest.spyOn(console, "warn").mockImplementation((...a) => void printed.push(a.join(" ")));
        try {
            readStackValues(dir, "dev");
        } catch (error) {
            expect(error).toBeInstanceOf(StackFileError);
            return { message: (error as Error).message, printed: printed.join("\n") };
        } finally {
            warn.mockRestore();
            log.mockRestore();
        }
        throw new Error(`expected ${JSON.stringify(body)} to be refused`);
    }

    test.each([
        ["an unknown tag on a secret value", `  capt-playground:bmcPassword: !secret ${PASSWORD}\n`, "bmcPassword"],
        [
            "an unknown tag on a kubeconfig",
            `  capt-playground:managementKubeconfig: !kube "${PASSWORD}"\n`,
            "managementKubeconfig",
        ],
        [
            "YAML 1.1's !!binary",
            `  capt-playground:bmcPassword: !!binary ${Buffer.from(PASSWORD).toString("base64")}\n`,
            "bmcPassword",
        ],
        ["YAML 1.1's !!set", `  capt-playground:tinkerbellKubeconfig: !!set {${PASSWORD}}\n`, "tinkerbellKubeconfig"],
        ["an alias named like the password", `  capt-playground:bmcPassword: *${PASSWORD}\n`, "bmcPassword"],
        ["an alias on a plain key", `  capt-playground:hardwareCount: *${PASSWORD}\n`, "hardwareCount"],
        [
            "an anchor that would copy the secret into a plain key's message",
            `  capt-playground:bmcPassword: &copy ${PASSWORD}\n  capt-playground:vmCpus: *copy\n`,
            "bmcPassword",
        ],
        ["an alias inside machines", `  capt-playground:machines: [{name: a, bmc: *${PASSWORD}}]\n`, "machines"],
    ])("%s: the file, line and key are named; the value, tag text and alias name never", (_name, body, key) => {
        const { message, printed } = readProblem(body);
        expect(message).toContain(path.join(dir, "Pulumi.dev.yaml"));
        expect(message).toMatch(/at line 3, column \d+/);
        expect(message).toContain(`(key capt-playground:${key})`);
        for (const leaked of [PASSWORD, Buffer.from(PASSWORD).toString("base64")]) {
            expect(message).not.toContain(leaked);
            expect(printed).not.toContain(leaked);
        }
        expect(printed).toBe("");
    });

    test("a syntax error names the key it is under, never the text", () => {
        const { message } = readProblem(`  capt-playground:bmcPassword: "${PASSWORD}\n  capt-playground:x: [\n`);
        expect(message).toMatch(/not valid YAML at line \d+, column \d+/);
        expect(message).not.toContain(PASSWORD);
    });

    test("aliases that expand too far are refused, not expanded", () => {
        const lol = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
        for (let i = 1; i < 9; i++)
            lol.push(
                `${"abcdefghij"[i]}: &${"abcdefghij"[i]} [${Array(10)
                    .fill(`*${"abcdefghij"[i - 1]}`)
                    .join(", ")}]`,
            );
        fs.writeFileSync(path.join(dir, "Pulumi.dev.yaml"), `${lol.join("\n")}\nconfig: {}\n`);
        expect(() => readStackValues(dir, "dev")).toThrow(StackFileError);
    });

    const LOOKALIKES: [string, unknown][] = [
        ["{value: ...}", { value: PASSWORD }],
        ["a one-element list", [PASSWORD]],
        ["binary data", Buffer.from(PASSWORD)],
        ["{secure: ...} with another key", { secure: "v1:abc", value: PASSWORD }],
        ["{secure: ''}", { secure: "" }],
        ["{secure: a number}", { secure: 12345678 }],
    ];
    describe.each(["bmcPassword", "managementKubeconfig", "tinkerbellKubeconfig", "machineBmcPasswords"])(
        "%s",
        (key) => {
            test.each(LOOKALIKES)(
                "a plaintext shaped like an encrypted value (%s) is refused, not shown",
                (_shape, value) => {
                    const raw: RawConfig = { [key]: value };
                    if (key === "tinkerbellKubeconfig") raw.externalTinkerbell = true;
                    if (key === "machineBmcPasswords")
                        Object.assign(raw, { machines: realMachine(), bmcPassword: "secret-pass" });
                    const problems = problemsOf(raw);
                    const problem = problems.find((p) => p.key === key);
                    expect(problem?.message).toMatch(/not an encrypted value \(the value is not shown\)/);
                    expect(JSON.stringify(problems)).not.toContain(PASSWORD);
                },
            );
        },
    );

    test("the real shape is still read as encrypted: {secure: <ciphertext>}", () => {
        const config = parseLabConfig({ bmcPassword: { secure: "v1:abc" } }, { stack: "dev" });
        expect(config.bmcPassword).toBeUndefined();
        fs.writeFileSync(
            path.join(dir, "Pulumi.dev.yaml"),
            `config:\n  capt-playground:bmcPassword:\n    secure: v1:Y2lwaGVydGV4dA==\n`,
        );
        expect(readStackValues(dir, "dev")).toEqual({ bmcPassword: { secure: "v1:Y2lwaGVydGV4dA==" } });
    });
});

describe("9. inputs that still broke things", () => {
    test("a huge list index in tinkerbellExtraValues is refused at once, not filled up to", () => {
        const started = Date.now();
        const problem = problemsOf({ tinkerbellExtraValues: ["a[999999999]=x"] }).find(
            (p) => p.key === "tinkerbellExtraValues",
        );
        expect(problem?.message).toContain("list indices up to 65536");
        expect(() => applySetValues({}, ["a[999999999]=x"])).toThrow(/above 65536, helm's own limit/);
        expect(() => applySetValues({}, [`${Array(31).fill("a").join(".")}=x`])).toThrow(/at most 30/);
        expect(Date.now() - started).toBeLessThan(2000);
        expect(applySetValues({}, ["a[2]=x"])).toEqual({ a: [null, null, "x"] });
    });

    test.each([
        [
            "an SSH key with a 20 MB comment",
            { sshPublicKey: `ssh-ed25519 AAAAC3Nz ${"c".repeat(20 * 1024 * 1024)}` },
            "sshPublicKey",
            16384,
        ],
        [
            "an image reference of 10000 characters",
            { vbmcImage: `ghcr.io/${"a".repeat(10_000)}:v1.0.0` },
            "vbmcImage",
            4096,
        ],
        [
            "an extra value of 20000 characters",
            { tinkerbellExtraValues: [`a=${"x".repeat(20_000)}`] },
            "tinkerbellExtraValues",
            16384,
        ],
        ["300 extra values", { tinkerbellExtraValues: Array(300).fill("a=b") }, "tinkerbellExtraValues", 256],
        [
            "a machine's disk of 5000 characters",
            { machines: [{ ...realMachine()[0], disk: `/dev/${"a".repeat(5000)}` }], bmcPassword: "secret-pass" },
            "machines[0].disk",
            1024,
        ],
        [
            "2000 machines",
            { machines: Array(2000).fill(realMachine()[0]), bmcPassword: "secret-pass" },
            "machines",
            1000,
        ],
    ])("%s is refused with one short line naming the key and the bound", (_name, raw, key, bound) => {
        const problems = problemsOf(raw as RawConfig);
        const problem = problems.find((p) => p.key === key);
        expect(problem?.message).toContain(`at most ${bound}`);
        expect(JSON.stringify(problems).length).toBeLessThan(2000);
    });

    test.each([
        ["an escape sequence", "x\u001b]0;pwned\u0007\u001b[31m"],
        ["NUL", "a\u0000b"],
        ["a C1 control sequence introducer", "a\u009b31m"],
        ["a bidirectional override", "\u202eyek"],
        ["DEL", "a\u007f"],
    ])("a key with %s is echoed escaped, never raw", (_name, key) => {
        let error: unknown;
        try {
            parseLabConfig(projectKeys({ [`capt-playground:${key}`]: 1 }), { stack: "dev" });
        } catch (e) {
            error = e;
        }
        expect(error).toBeInstanceOf(ConfigError);
        const message = (error as Error).message;
        expect(message).toMatch(/\\u00(1b|00|9b|7f)|\\u202e/);
        const raw = [...message].filter((char) => {
            const code = char.codePointAt(0)!;
            return (code < 0x20 && char !== "\n") || (code >= 0x7f && code <= 0x9f) || code === 0x202e;
        });
        expect(raw).toEqual([]);
        // The problem keeps the key as given, for callers that match on it.
        expect((error as ConfigError).problems.map((p) => p.key)).toContain(key);
    });

    test.each(["constructor", "prototype"])(
        "a machine named %s with its own password is a config problem, not an uncaught throw",
        (name) => {
            const machines = [{ ...realMachine()[0], name }];
            const problems = problemsOf({ machines, machineBmcPasswords: JSON.stringify({ [name]: "pw-12345" }) });
            expect(problems.map((p) => p.key)).toContain("machines[0].name");
            expect(JSON.stringify(problems)).not.toContain("pw-12345");
        },
    );

    test.each([".", "..", "-C..", "--cwd", "-s"])("stack name %j is refused everywhere it is read", (stack) => {
        expect(isStackName(stack)).toBe(false);
        expect(() => readStackValues(os.tmpdir(), stack)).toThrow(/not starting with '-' and not \. or \.\./);
    });

    test.each([[["--stack", "-C.."]], [["--stack=.."]], [["-s", "."]], [["--yes", "--stack"]]])(
        "npm run up/preview/destroy refuse %j before anything reaches the CLI",
        (args) => {
            expect(() => stackAndFlags(args, {})).toThrow(StackNameError);
        },
    );

    test("npm run up/preview/destroy refuse a STACK from the environment that is no stack name", () => {
        expect(() => stackAndFlags([], { STACK: ".." })).toThrow(StackNameError);
        expect(stackAndFlags(["--stack=lab2", "--diff"], {})).toEqual({ stack: "lab2", flags: ["--diff"] });
        expect(stackAndFlags(["-s", "lab3"], { STACK: "x" })).toEqual({ stack: "lab3", flags: [] });
    });

    test("a FIFO (or any non-regular file) as a stack file is refused at once instead of hanging", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-fifo-"));
        try {
            expect(spawnSync("mkfifo", [path.join(dir, "Pulumi.dev.yaml")]).status).toBe(0);
            expect(() => readStackValues(dir, "dev")).toThrow(/is a FIFO; expected a regular YAML file/);
            fs.mkdirSync(path.join(dir, "Pulumi.other.yaml"));
            expect(() => readStackValues(dir, "other")).toThrow(/is a directory/);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test.each([
        [["127.0.0.53"], /loopback/],
        [["8.8.8.8", "224.0.0.251"], /multicast/],
        [["1.1.1.1", "1.1.1.1"], /listed twice/],
        [["0.1.2.3"], /this network/],
        [["240.0.0.1"], /reserved or broadcast/],
        [["8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1"], /1 to 3 distinct/],
    ])("name servers %j are refused naming nameServers and the address", (nameServers, why) => {
        const problem = problemsOf({ nameServers }).find((p) => p.key === "nameServers");
        expect(problem?.message).toMatch(why);
    });

    test.each([
        ["kubeVipVersion", "v9.9.9"],
        ["kubeVipVersion", "v0.6.4"],
        ["kubeVipVersion", "v1.3.0"],
        ["ciliumVersion", "1.19.0"],
        ["ciliumVersion", "1.14.9"],
        ["ciliumVersion", "v1.17.3"],
        ["captainosKernelVersion", "6.20.0"],
        ["captainosKernelVersion", "7.0.1"],
        ["captainosKernelVersion", "5.10.0"],
        ["clusterApiOperatorVersion", "0.30.0"],
        ["clusterApiOperatorVersion", "0.24.0"],
        ["clusterApiOperatorVersion", "9.99.99"],
    ])("%s %s is outside its range, which the message names", (key, value) => {
        const problem = problemsOf({ [key]: value }).find((p) => p.key === key);
        expect(problem?.message).toMatch(/expected (a release from|a .*like)/);
    });

    test.each([
        ["kubeVipVersion", "v1.2.3"],
        ["ciliumVersion", "1.18.2"],
        ["captainosKernelVersion", "6.19.4"],
        // Debian trixie's kernel, which an artifacts image built offline from Debian carries.
        ["captainosKernelVersion", "6.12.118"],
        ["clusterApiOperatorVersion", "0.29.1"],
        ["nameServers", ["10.0.0.2", "169.254.169.253"]],
    ])("%s %j is accepted", (key, value) => {
        expect(() => parseLabConfig({ [key]: value }, { stack: "dev" })).not.toThrow();
    });
});
