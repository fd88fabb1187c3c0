/**
 * Random JSON values and hostile strings at every config key, through the public entry points:
 * parseLabConfig, render (plan + every rendered file) and the Helm `--set` parser. Each run either
 * is refused with problems that name the key it set, or yields a config whose every string that
 * reaches a shell, YAML, XML, a path or a URI is in its allowed set. Never an exception without a
 * key, never a polluted prototype.
 *
 * And the same for what surrounds the config: stack files whose secret keys carry YAML tags, aliases
 * and anchors (refused, never shown), keys with control characters (escaped in every message), Helm
 * paths with huge list indices (refused, never filled up to), and render's output folder with
 * symbolic links, folders and files planted anywhere in it (never a write or delete outside it,
 * never a half-way render).
 */
import fc from "fast-check";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { ConfigError, LabConfig, RawConfig, parseLabConfig, projectKeys } from "../lib/config";
import {
    hasControlCharacters,
    isAllowedLibvirtUri,
    isAllowedOutputDir,
    isAllowedStorageDir,
    isChartReference,
    isForbiddenObjectKey,
    isManifestUrl,
} from "../lib/config-formats";
import { CONFIG_KEYS, CONFIG_SCHEMA } from "../lib/config-schema";
import { planLab } from "../lib/plan";
import { renderLabFiles } from "../lib/render/files";
import { applySetValues } from "../lib/render/helm-set";
import { loadStackConfig } from "../lib/stack-config";
import { StackFileError } from "../lib/stack-files";
import { OutDirError, RENDER_MANIFEST, writeRender } from "../lib/render/out-dir";
import { PROJECT_DIR } from "./fixtures";

/** Strings people (and attackers) have put into config: shell, path, URI, YAML and XML tricks. */
const HOSTILE = [
    "",
    " ",
    "__proto__",
    "constructor",
    "prototype",
    "__proto__.polluted=1",
    "constructor.prototype.polluted=1",
    "$(touch /tmp/pwned)",
    "`id`",
    "; rm -rf ~",
    "a\nb",
    "a\u0000b",
    "\u202e",
    "../../../../etc",
    "/",
    "/etc/passwd",
    "/proc/self",
    "qemu+ext:///system?command=/bin/sh",
    "qemu+ssh://h/system?command=/bin/sh",
    "qemu:///system?socket=/tmp/x",
    "file:///etc/passwd",
    "http://169.254.169.254/latest",
    "oci://ghcr.io/../../x",
    "<![CDATA[x]]>",
    "</name><evil/>",
    "&xxe;",
    "key: value\nother: [",
    "{secure: x}",
    "999.999.999.999",
    "10.71.0.017",
    "0.0.0.0",
    "ff:ff:ff:ff:ff:ff",
    "v9.99.99",
    "1e309",
    "NaN",
    "-1",
    "true",
    "null",
    "[]",
    '["a"]',
    "x".repeat(5000),
];

const hostileString = fc.oneof(fc.constantFrom(...HOSTILE), fc.string({ unit: "binary", maxLength: 40 }));
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
    hostileString,
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(Number.POSITIVE_INFINITY, -0, Number.MAX_SAFE_INTEGER + 2, 2.5, { secure: "v1:abc" }),
    fc.array(hostileString, { maxLength: 3 }),
);
const hostileMachine = fc.record(
    {
        name: anyValue,
        mac: fc.oneof(anyValue, fc.constantFrom("0c:c4:7a:00:00:01", "01:00:5e:00:00:01")),
        ip: anyValue,
        role: anyValue,
        disk: fc.oneof(anyValue, fc.constant("/dev/../etc/passwd")),
        bmc: fc.oneof(anyValue, fc.record({ address: anyValue, protocol: fc.constantFrom("ipmi", "redfish") })),
        __proto__: anyValue,
    },
    { requiredKeys: [] },
);

/** Strings of the config that reach a tool, with the check each must pass. */
function checkReachingTools(config: LabConfig): void {
    expect(isAllowedLibvirtUri(config.libvirtUri)).toBe(true);
    expect(isAllowedOutputDir(config.outputDir)).toBe(true);
    expect(isAllowedStorageDir(config.storageDir)).toBe(true);
    expect(isChartReference(config.tinkerbellChart)).toBe(true);
    expect(isManifestUrl(config.kubeRouterManifest)).toBe(true);
    const secrets = new Set<unknown>([config.bmcPassword, config.managementKubeconfig, config.tinkerbellKubeconfig]);
    const walk = (value: unknown, where: string): void => {
        if (typeof value === "string") {
            if (!secrets.has(value)) {
                // Shell environments, YAML, XML and paths: never a control character.
                expect({ where, control: hasControlCharacters(value) }).toEqual({ where, control: false });
            }
        } else if (Array.isArray(value)) {
            value.forEach((item, i) => walk(item, `${where}[${i}]`));
        } else if (typeof value === "object" && value !== null) {
            for (const [key, item] of Object.entries(value)) {
                expect(isForbiddenObjectKey(key)).toBe(false);
                walk(item, `${where}.${key}`);
            }
        }
    };
    walk(config, "config");
}

/**
 * Whether a problem points at what the user set: its key is one of `keys` (or a path below one, such
 * as machines[1].mac), or it is a cross-key rule under another key whose message names the set key
 * ("tinkerbellKubeconfig: is required with externalTinkerbell: true").
 */
function namesSetKey(problems: { key: string; message: string }[], keys: string[]): boolean {
    return problems.some((p) =>
        keys.some((key) => p.key === key || p.key.startsWith(`${key}[`) || p.message.includes(key)),
    );
}

/** Characters of `text` that would steer a terminal (line breaks are the message's own). */
function terminalUnsafe(text: string): string[] {
    return [...text].filter((char) => {
        const code = char.codePointAt(0)!;
        return (code < 0x20 && char !== "\n") || (code >= 0x7f && code <= 0x9f) || /\p{Cf}/u.test(char);
    });
}

function prototypeIsClean(): boolean {
    const probe = {} as Record<string, unknown>;
    return probe.polluted === undefined && Object.keys(Object.prototype).length === 0;
}

/** parseLabConfig, then (accepted) the plan and every rendered file, as `npm run render` runs them. */
function throughEntryPoints(raw: RawConfig, setKeys: string[]): void {
    let config: LabConfig;
    try {
        config = parseLabConfig(raw, { stack: "prop", isSecret: () => true });
    } catch (error) {
        if (!(error instanceof ConfigError)) {
            throw new Error(`not a ConfigError for ${JSON.stringify(raw)}: ${String(error)}`, { cause: error });
        }
        expect(error.problems.length).toBeGreaterThan(0);
        expect({ raw, named: namesSetKey(error.problems, setKeys) }).toEqual({ raw, named: true });
        // What a terminal shows: no control character, escape sequence or bidirectional override.
        expect({ raw, unsafe: terminalUnsafe(error.message) }).toEqual({ raw, unsafe: [] });
        return;
    }
    checkReachingTools(config);
    const plan = planLab(config, { project: "capt-playground", stack: "prop", projectDir: PROJECT_DIR });
    const files = renderLabFiles(config, plan, true);
    expect(files.size).toBeGreaterThan(0);
}

afterEach(() => {
    expect(prototypeIsClean()).toBe(true);
});

describe("property: every key, random JSON and hostile strings", () => {
    test.each(CONFIG_KEYS.filter((key) => key !== "machines"))("%s", (key) => {
        fc.assert(
            fc.property(anyValue, (value) => {
                throughEntryPoints({ [key]: value }, [key]);
                expect(prototypeIsClean()).toBe(true);
            }),
            { numRuns: 60 },
        );
    });

    test("machines: random items and fields", () => {
        fc.assert(
            fc.property(fc.array(hostileMachine, { maxLength: 3 }), (machines) => {
                throughEntryPoints({ machines, bmcPassword: "secret-pass" }, ["machines"]);
                expect(prototypeIsClean()).toBe(true);
            }),
            { numRuns: 150 },
        );
    });

    test("keys: random and hostile names are refused by name, through projectKeys", () => {
        fc.assert(
            fc.property(
                fc.oneof(hostileString, fc.constantFrom("__proto__", "constructor")),
                anyValue,
                (key, value) => {
                    fc.pre(!Object.hasOwn(CONFIG_SCHEMA, key) && !key.includes(":"));
                    const raw = projectKeys(JSON.parse(JSON.stringify({ [`capt-playground:${key}`]: value ?? null })));
                    throughEntryPoints(raw, [key]);
                },
            ),
            { numRuns: 150 },
        );
    });

    test("several keys at once: every problem is reported, each naming a key that was set", () => {
        const keys = CONFIG_KEYS.filter((key) => key !== "machines");
        fc.assert(
            fc.property(fc.dictionary(fc.constantFrom(...keys), anyValue, { maxKeys: 6 }), (raw) => {
                throughEntryPoints(raw, Object.keys(raw));
            }),
            { numRuns: 150 },
        );
    });
});

describe("property: the Helm --set parser", () => {
    const segment = fc.oneof(
        fc.constantFrom("__proto__", "constructor", "prototype", "toString", "a", "b", "list[0]", "x[3]"),
        fc.string({ maxLength: 6 }),
        // Indices around and far beyond helm's limit (65536): never filled up to.
        fc
            .tuple(fc.constantFrom("a", "list"), fc.oneof(fc.nat(70_000), fc.bigInt(0n, 10n ** 30n)))
            .map(([key, index]) => `${key}[${index}]`),
    );
    test("assignments either apply as own values or are refused with a message; Object.prototype stays clean", () => {
        fc.assert(
            fc.property(
                fc.array(
                    fc.tuple(
                        fc.oneof(
                            fc.array(segment, { minLength: 1, maxLength: 4 }),
                            fc.array(fc.constant("a"), { minLength: 29, maxLength: 40 }),
                        ),
                        hostileString,
                    ),
                    { maxLength: 4 },
                ),
                (assignments) => {
                    const texts = assignments.map(([path, value]) => `${path.join(".")}=${value}`);
                    try {
                        const values = applySetValues({ a: { b: 1 } }, texts);
                        // Within helm's limits: no list longer than 65537, no path deeper than 30.
                        const longest = (node: unknown): number =>
                            Array.isArray(node)
                                ? Math.max(node.length, ...node.map(longest))
                                : typeof node === "object" && node !== null
                                  ? Math.max(0, ...Object.values(node).map(longest))
                                  : 0;
                        expect(longest(values)).toBeLessThanOrEqual(65537);
                        expect(JSON.parse(JSON.stringify(values))).toBeDefined();
                    } catch (error) {
                        expect((error as Error).message).toMatch(/^invalid value( path)? /);
                    }
                    expect(prototypeIsClean()).toBe(true);
                },
            ),
            { numRuns: 300 },
        );
    });
});

describe("property: render into a folder with links, folders and files planted anywhere", () => {
    const ENTRIES = [
        "plan.json",
        "kind-config.yaml",
        "manifests",
        "manifests/a.yaml",
        "manifests/b.yaml",
        "domains",
        "domains/vm1.xml",
        "domains/keep",
        "domains/keep/x.xml",
        RENDER_MANIFEST,
    ];
    const NEXT = ["plan.json", "kind-config.yaml", "manifests/a.yaml", "manifests/b.yaml", "domains/vm1.xml"];
    const KINDS = ["file", "folder", "link to a file outside", "link to a folder outside", "fifo"] as const;
    const planted = fc.array(fc.tuple(fc.constantFrom(...ENTRIES), fc.constantFrom(...KINDS)), { maxLength: 8 });
    const manifest = fc.option(
        fc.array(fc.constantFrom(...NEXT, "domains/keep/x.xml", "../outside/precious.txt", "manifests"), {
            maxLength: 6,
        }),
    );
    const next = fc.subarray(NEXT, { minLength: 1 });

    /** Every entry below `dir` with its kind (and a file's content, a link's target). */
    function snapshot(dir: string): string[] {
        if (!fs.existsSync(dir)) return [];
        return (fs.readdirSync(dir, { recursive: true }) as string[]).sort().map((entry) => {
            const full = path.join(dir, entry);
            const stats = fs.lstatSync(full);
            if (stats.isSymbolicLink()) return `${entry} -> ${fs.readlinkSync(full)}`;
            if (stats.isFile()) return `${entry}: ${fs.readFileSync(full, "utf8")}`;
            return stats.isDirectory() ? `${entry}/` : `${entry} (special)`;
        });
    }

    /** lstat, undefined when nothing is there (also below a file). */
    function lstatOrNothing(file: string): fs.Stats | undefined {
        try {
            return fs.lstatSync(file);
        } catch {
            return undefined;
        }
    }

    function plant(out: string, outside: string, entries: [string, (typeof KINDS)[number]][]): void {
        fs.mkdirSync(out);
        for (const [entry, kind] of entries) {
            const full = path.join(out, entry);
            // Only where the folders above are real folders and nothing is there yet.
            const folders = path.relative(out, path.dirname(full)).split(path.sep).filter(Boolean);
            const walkable = folders.every((_, i) =>
                lstatOrNothing(path.join(out, ...folders.slice(0, i + 1)))?.isDirectory(),
            );
            if (!walkable || lstatOrNothing(full)) continue;
            if (kind === "file") fs.writeFileSync(full, `planted ${entry}`);
            else if (kind === "folder") fs.mkdirSync(full);
            else if (kind === "fifo") spawnSync("mkfifo", [full]);
            else fs.symlinkSync(path.join(outside, kind === "link to a file outside" ? "precious.txt" : "dir"), full);
        }
    }

    test("either every new file is written as a regular file, or nothing changes; outside never changes", () => {
        fc.assert(
            fc.property(planted, manifest, next, (entries, listed, files) => {
                const root = fs.mkdtempSync(path.join(os.tmpdir(), "render-links-"));
                try {
                    const out = path.join(root, "out");
                    const outside = path.join(root, "outside");
                    fs.mkdirSync(path.join(outside, "dir", "manifests"), { recursive: true });
                    fs.writeFileSync(path.join(outside, "precious.txt"), "precious");
                    fs.writeFileSync(path.join(outside, "dir", "plan.json"), "outside plan");
                    fs.writeFileSync(path.join(outside, "dir", "manifests", "a.yaml"), "outside a");
                    plant(out, outside, entries);
                    if (listed && !fs.lstatSync(path.join(out, RENDER_MANIFEST), { throwIfNoEntry: false })) {
                        fs.writeFileSync(path.join(out, RENDER_MANIFEST), listed.map((f) => `${f}\n`).join(""));
                    }
                    const before = { out: snapshot(out), outside: snapshot(outside) };
                    const rendered = new Map(files.map((f) => [f, `rendered ${f}`]));
                    try {
                        writeRender(out, rendered);
                    } catch (error) {
                        expect(error).toBeInstanceOf(OutDirError);
                        expect({ out: snapshot(out), outside: snapshot(outside) }).toEqual(before);
                        return;
                    }
                    expect(snapshot(outside)).toEqual(before.outside);
                    for (const [file, content] of rendered) {
                        const stats = fs.lstatSync(path.join(out, file));
                        expect({ file, regular: stats.isFile() }).toEqual({ file, regular: true });
                        expect(fs.readFileSync(path.join(out, file), "utf8")).toBe(content);
                    }
                    expect(fs.readFileSync(path.join(out, RENDER_MANIFEST), "utf8")).toBe(
                        files.map((f) => `${f}\n`).join(""),
                    );
                } finally {
                    fs.rmSync(root, { recursive: true, force: true });
                }
            }),
            { numRuns: 200 },
        );
    });
});

describe("property: stack files with YAML tags, aliases and anchors on secret keys", () => {
    const SECRET_KEYS = ["bmcPassword", "managementKubeconfig", "tinkerbellKubeconfig", "machineBmcPasswords"];
    const secret = fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{9,20}$/);
    /** One way of writing `secret` as the value of a key, and whether it defines the anchor `secret`. */
    const writing = fc.constantFrom(
        (s: string) => `!secret ${s}`,
        (s: string) => `!${s} x`,
        (s: string) => `*${s}`,
        (s: string) => `&${s} ${s}`,
        (s: string) => `!!binary ${Buffer.from(s).toString("base64")}`,
        (s: string) => `!!set {${s}}`,
        (s: string) => `!!timestamp ${s}`,
        (s: string) => `{value: ${s}}`,
        (s: string) => `[${s}]`,
        (s: string) => `{secure: ${s}, value: x}`,
        (s: string) => `"${s}`,
        (s: string) => `${s}`,
    );

    test("refused naming the file or key; the value, tag, alias or anchor name is never shown or printed", () => {
        const project = fs.mkdtempSync(path.join(os.tmpdir(), "yaml-doors-"));
        fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
        const printed: string[] = [];
        const warn = jest.spyOn(process, "emitWarning").mockImplementation((w) => void printed.push(String(w)));
        try {
            fc.assert(
                fc.property(
                    fc.constantFrom(...SECRET_KEYS),
                    secret,
                    writing,
                    fc.constantFrom("", "  capt-playground:workers: *ALIAS\n", "  capt-playground:hardwareCount: 3\n"),
                    (key, value, write, other) => {
                        const text = `config:\n  capt-playground:${key}: ${write(value)}\n${other.replace("ALIAS", value)}`;
                        fs.writeFileSync(path.join(project, "Pulumi.prop.yaml"), text);
                        let message: string | undefined;
                        try {
                            loadStackConfig(project, "prop");
                        } catch (error) {
                            expect(error instanceof ConfigError || error instanceof StackFileError).toBe(true);
                            message = (error as Error).message;
                        }
                        // A plaintext on a secret key is never accepted, however it is dressed.
                        expect({ text, refused: message !== undefined }).toEqual({ text, refused: true });
                        expect(message!.includes("Pulumi.prop.yaml") || message!.includes(key)).toBe(true);
                        for (const leak of [value, Buffer.from(value).toString("base64")]) {
                            expect({ text, leaked: message!.includes(leak) }).toEqual({ text, leaked: false });
                        }
                        expect(terminalUnsafe(message!)).toEqual([]);
                        expect(printed).toEqual([]);
                    },
                ),
                { numRuns: 200 },
            );
        } finally {
            warn.mockRestore();
            fs.rmSync(project, { recursive: true, force: true });
        }
    });
});
