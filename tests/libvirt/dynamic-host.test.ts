/**
 * The code path `pulumi up` really uses: the Pool, Volume and Domain resources are constructed under
 * `pulumi.runtime.setMocks`, which serializes their providers (`__provider`) as Pulumi does; the
 * serialized code then runs inside Pulumi's own dynamic-provider host (a separate plain-node
 * process), driven over gRPC with the engine's Configure/Check/Create/Diff/Update/Delete calls
 * against the real libvirtd.
 */
import { ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { OWNERSHIP_NAMESPACE } from "../../lib/libvirt/ownership";
import { Domain } from "../../providers/libvirt/domain";
import { domainFacts } from "../../providers/libvirt/domain-facts";
import { Pool } from "../../providers/libvirt/pool";
import { Volume } from "../../providers/libvirt/volume";
import { PROJECT_DIR } from "../fixtures";
import { TEST_URI, describeWithLibvirt, nvramFile, virshOk, virshSync } from "./gate";
import { TestLab, createTestLab } from "./lab";

/* eslint-disable @typescript-eslint/no-require-imports -- generated gRPC stubs without ES exports */
const grpc = require("@grpc/grpc-js");
const providerRpc = require("@pulumi/pulumi/proto/provider_grpc_pb");
const providerProto = require("@pulumi/pulumi/proto/provider_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
/* eslint-enable @typescript-eslint/no-require-imports */

type Props = Record<string, unknown>;
type Unary = (request: unknown, callback: (error: Error | null, response: unknown) => void) => void;
type ProviderClient = Record<string, Unary> & { close(): void };
interface ProtoStruct {
    toJavaScript(): Props;
}
interface CheckResponse {
    getInputs(): ProtoStruct;
    getFailuresList(): { getProperty(): string; getReason(): string }[];
}
interface CreateResponse {
    getId(): string;
    getProperties(): ProtoStruct;
}
interface DiffResponse {
    getChanges(): number;
    getReplacesList(): string[];
    getDeletebeforereplace(): boolean;
}
interface Registered {
    type: string;
    name: string;
    inputs: Props;
}

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const DIFF_NONE = 1;
const DIFF_SOME = 2;

/**
 * The provider code an older version would have stored: the current code, but with a delete that
 * only reports that it ran, so a test can tell which code the host ran.
 */
function olderCode(current: string): string {
    return (
        `${current}\n;{ const current = exports.handler; exports.handler = () => ` +
        '({ ...current(), delete: async () => { throw new Error("the stored, older delete ran"); } }); }\n'
    );
}

/** Plain JSON for protobuf Structs (no undefined values). */
function struct(props: Props): unknown {
    return Struct.fromJavaScript(JSON.parse(JSON.stringify(props)));
}

/** Promise-returning wrapper of one unary call on the provider client. */
function call<T>(client: ProviderClient, method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) =>
        client[method](request, (error, response) => (error ? reject(error) : resolve(response as T))),
    );
}

/** Spawn `@pulumi/pulumi/cmd/dynamic-provider` as the engine does, and return its port. */
async function startProviderHost(): Promise<{ host: ChildProcess; port: number; stderr: () => string }> {
    const entry = require.resolve("@pulumi/pulumi/cmd/dynamic-provider");
    // cwd is the project, as under `pulumi up`: the serialized code requires packages from its node_modules.
    const host = spawn(process.execPath, [entry, "127.0.0.1:1"], {
        cwd: PROJECT_DIR,
        stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    host.stderr!.on("data", (chunk) => (stderr += chunk));
    const port = await new Promise<number>((resolve, reject) => {
        let stdout = "";
        host.stdout!.on("data", (chunk) => {
            stdout += chunk;
            const line = stdout.split("\n")[0];
            if (stdout.includes("\n") && /^\d+$/.test(line.trim())) {
                resolve(Number(line.trim()));
            }
        });
        host.on("exit", (code) => reject(new Error(`dynamic-provider host exited (${code}): ${stderr}`)));
    });
    return { host, port, stderr: () => stderr };
}

/** Construct the resources under mocks and return what the engine would receive for each. */
async function registerUnderMocks(lab: TestLab, domainName: string): Promise<Map<string, Registered>> {
    const registered = new Map<string, Registered>();
    await pulumi.runtime.setMocks(
        {
            newResource: (args) => {
                registered.set(args.name, { type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: args.inputs };
            },
            call: () => ({}),
        },
        "capt-playground",
        "test",
        false,
    );
    const pool = new Pool("pool", lab.pool);
    // A secret input arrives wrapped in Pulumi's secret envelope; check() must unwrap it.
    const volume = new Volume("volume", { ...lab.volume(`${domainName}.qcow2`, 2), uri: pulumi.secret(TEST_URI) });
    const domain = new Domain("domain", { uri: TEST_URI, spec: lab.spec(domainName), running: false });
    await Promise.all([pool, volume, domain].map((r) => new Promise<void>((resolve) => r.urn.apply(() => resolve()))));
    // Registration completes after the urn resolves on the next turns of the event loop.
    for (let i = 0; i < 50 && registered.size < 3; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return registered;
}

describeWithLibvirt("libvirt resources through Pulumi's dynamic-provider host", () => {
    let lab: TestLab;
    let registered: Map<string, Registered>;
    let host: Awaited<ReturnType<typeof startProviderHost>>;
    let client: ProviderClient;
    let domainName: string;

    beforeAll(async () => {
        lab = createTestLab();
        domainName = lab.objectName("grpc");
        registered = await registerUnderMocks(lab, domainName);
        host = await startProviderHost();
        client = new providerRpc.ResourceProviderClient(`127.0.0.1:${host.port}`, grpc.credentials.createInsecure());
        // The engine configures every provider before using it.
        const configure = new providerProto.ConfigureRequest();
        configure.setArgs(struct({}));
        configure.setAcceptsecrets(true);
        await call(client, "configure", configure);
    }, 120_000);

    afterAll(() => {
        client?.close();
        host?.host.kill();
        lab?.cleanup();
    });

    const urn = (kind: string, name: string) =>
        `urn:pulumi:test::capt-playground::pulumi-nodejs:dynamic/libvirt:${kind}::${name}`;

    async function check(kind: string, name: string, olds: Props, news: Props) {
        const request = new providerProto.CheckRequest();
        request.setUrn(urn(kind, name));
        request.setOlds(struct(olds));
        request.setNews(struct(news));
        const response = await call<CheckResponse>(client, "check", request).catch((error) => {
            throw new Error(`${error.message}\nhost stderr: ${host.stderr()}`);
        });
        return {
            inputs: response.getInputs().toJavaScript(),
            failures: response.getFailuresList().map((f) => ({ property: f.getProperty(), reason: f.getReason() })),
        };
    }

    async function create(kind: string, name: string, inputs: Props) {
        const request = new providerProto.CreateRequest();
        request.setUrn(urn(kind, name));
        request.setProperties(struct(inputs));
        const response = await call<CreateResponse>(client, "create", request);
        return { id: response.getId(), outs: response.getProperties().toJavaScript() };
    }

    async function diff(kind: string, name: string, id: string, olds: Props, news: Props) {
        const request = new providerProto.DiffRequest();
        request.setUrn(urn(kind, name));
        request.setId(id);
        request.setOlds(struct(olds));
        request.setNews(struct(news));
        const response = await call<DiffResponse>(client, "diff", request);
        return {
            changes: response.getChanges(),
            replaces: response.getReplacesList(),
            deleteBeforeReplace: response.getDeletebeforereplace(),
        };
    }

    async function update(kind: string, name: string, id: string, olds: Props, news: Props) {
        const request = new providerProto.UpdateRequest();
        request.setUrn(urn(kind, name));
        request.setId(id);
        request.setOlds(struct(olds));
        request.setNews(struct(news));
        const response = await call<CreateResponse>(client, "update", request);
        return response.getProperties().toJavaScript();
    }

    async function destroy(kind: string, name: string, id: string, props: Props) {
        const request = new providerProto.DeleteRequest();
        request.setUrn(urn(kind, name));
        request.setId(id);
        request.setProperties(struct(props));
        await call(client, "delete", request);
    }

    test("registers the resources with the libvirt module tokens and a serialized provider", () => {
        expect([...registered.values()].map((r) => r.type).sort()).toEqual([
            "pulumi-nodejs:dynamic/libvirt:Domain",
            "pulumi-nodejs:dynamic/libvirt:Pool",
            "pulumi-nodejs:dynamic/libvirt:Volume",
        ]);
        for (const r of registered.values()) {
            expect(typeof r.inputs.__provider).toBe("string");
            expect(r.inputs.__provider).toContain("exports.handler");
            // The provider's code, not whole modules: npm packages are required at run time.
            expect((r.inputs.__provider as string).length).toBeLessThan(200_000);
        }
        expect(registered.get("volume")!.inputs.uri).toMatchObject({
            [SECRET_SIG_KEY]: expect.any(String),
            value: TEST_URI,
        });
    });

    test("pool, volume and domain: check, create, diff, update, out-of-band deletion and delete", async () => {
        // Pool
        const poolIn = await check("Pool", "pool", {}, registered.get("pool")!.inputs);
        expect(poolIn.failures).toEqual([]);
        const pool = await create("Pool", "pool", poolIn.inputs);
        expect(pool.outs.uuid).toMatch(/^[0-9a-f-]{36}$/);
        expect(virshOk("pool-info", lab.pool.name)).toMatch(/State:\s+running/);
        expect((await diff("Pool", "pool", pool.id, pool.outs, poolIn.inputs)).changes).toBe(DIFF_NONE);

        // Volume (its uri was a secret)
        const volumeIn = await check("Volume", "volume", {}, registered.get("volume")!.inputs);
        expect(volumeIn.failures).toEqual([]);
        expect(volumeIn.inputs.uri).toBe(TEST_URI);
        const volume = await create("Volume", "volume", volumeIn.inputs);
        expect(virshOk("vol-info", "--pool", lab.pool.name, `${domainName}.qcow2`)).toMatch(/Capacity:\s+2\.00 GiB/);
        const shrink = await check("Volume", "volume", volumeIn.inputs, { ...volumeIn.inputs, capacityGiB: 1 });
        expect(shrink.failures).toEqual([
            { property: "capacityGiB", reason: expect.stringMatching(/is 2 GiB; shrinking a disk would destroy data/) },
        ]);

        // Domain
        const domainIn = await check("Domain", "domain", {}, registered.get("domain")!.inputs);
        expect(domainIn.failures).toEqual([]);
        const domain = await create("Domain", "domain", domainIn.inputs);
        expect(domain.id).toBe(domainName);
        const live = domainFacts(virshOk("dumpxml", "--inactive", domainName), OWNERSHIP_NAMESPACE);
        const desired = domainFacts(domainIn.inputs.xml as string, OWNERSHIP_NAMESPACE);
        expect(live.interfaces).toEqual(desired.interfaces);
        expect(live.owner).toEqual(lab.owner);
        expect(virshOk("domstate", domainName).trim()).toBe("shut off");
        expect(await diff("Domain", "domain", domain.id, domain.outs, domainIn.inputs)).toMatchObject({
            changes: DIFF_NONE,
        });

        const mac = desired.interfaces[0].mac!;
        const biggerXml = lab.domain(domainName, { memoryMiB: 1024, network: { mac, bridge: lab.bridge } }).xml;
        const biggerIn = await check("Domain", "domain", domainIn.inputs, { ...domainIn.inputs, xml: biggerXml });
        expect(await diff("Domain", "domain", domain.id, domain.outs, biggerIn.inputs)).toMatchObject({
            changes: DIFF_SOME,
            replaces: [],
        });
        const updated = await update("Domain", "domain", domain.id, domain.outs, biggerIn.inputs);
        expect(domainFacts(virshOk("dumpxml", "--inactive", domainName), OWNERSHIP_NAMESPACE).memoryKiB).toBe(
            1024 * 1024,
        );

        virshOk("undefine", "--nvram", domainName);
        expect(await diff("Domain", "domain", domain.id, updated, biggerIn.inputs)).toEqual({
            changes: DIFF_SOME,
            replaces: ["xml"],
            deleteBeforeReplace: true,
        });
        await create("Domain", "domain", biggerIn.inputs);
        expect(virshSync("domuuid", domainName).stdout.trim()).toBe(updated.uuid);

        // `domainType: auto` resolves inside the host (the probe's code travels with the provider) and
        // is recorded; the same inputs are then no change.
        const autoName = lab.objectName("grpc-auto");
        const autoInputs = { ...lab.domain(autoName, { type: "auto" }), __provider: domainIn.inputs.__provider };
        const autoIn = await check("Domain", "auto", {}, autoInputs);
        expect(autoIn.failures).toEqual([]);
        const auto = await create("Domain", "auto", autoIn.inputs);
        expect(auto.outs.resolvedType).toMatch(/^(kvm|qemu)$/);
        expect(domainFacts(virshOk("dumpxml", "--inactive", autoName), OWNERSHIP_NAMESPACE).type).toBe(
            auto.outs.resolvedType,
        );
        expect(await diff("Domain", "auto", auto.id, auto.outs, autoIn.inputs)).toMatchObject({ changes: DIFF_NONE });
        await destroy("Domain", "auto", auto.id, auto.outs);

        // Errors from the provider reach the engine with the provider's message.
        const foreign = { ...biggerIn.inputs, name: lab.objectName("no-such"), xml: "<domain/>" };
        const foreignCheck = await check("Domain", "bad", {}, foreign);
        expect(foreignCheck.failures.map((f: { property: string }) => f.property)).toContain("xml");

        // Delete everything, twice: the second round finds nothing and still succeeds.
        for (let round = 0; round < 2; round++) {
            await destroy("Domain", "domain", domain.id, updated);
            await destroy("Volume", "volume", volume.id, volume.outs);
            await destroy("Pool", "pool", pool.id, pool.outs);
        }
        expect(virshSync("domuuid", domainName).status).not.toBe(0);
        expect(fs.existsSync(nvramFile(domainName))).toBe(false);
        expect(fs.existsSync(lab.pool.path)).toBe(false);
        expect(host.stderr()).not.toMatch(/Error serializing|Cannot find module/);
    }, 120_000);

    test("stale code in state: delete runs the stored code until one in-place update stores the current", async () => {
        const kinds = [
            ["Pool", "pool"],
            ["Volume", "volume"],
            ["Domain", "domain"],
        ] as const;
        const states: Record<string, { id: string; inputs: Props; stored: Props }> = {};
        for (const [kind, name] of kinds) {
            const checked = await check(kind, name, {}, registered.get(name)!.inputs);
            const current = checked.inputs.__provider as string;
            // A resource created by an older version: its outputs hold that code, and no revision.
            const created = await create(kind, name, { ...checked.inputs, __provider: olderCode(current) });
            const { providerRevision: _absent, ...legacy } = created.outs;
            await expect(destroy(kind, name, created.id, legacy)).rejects.toThrow(/the stored, older delete ran/);

            expect(await diff(kind, name, created.id, legacy, checked.inputs)).toEqual({
                changes: DIFF_SOME,
                replaces: [],
                deleteBeforeReplace: true,
            });
            const updated = await update(kind, name, created.id, legacy, checked.inputs);
            expect(updated.__provider).toBe(current);
            expect(updated.providerRevision).toBe(createHash("sha256").update(current).digest("hex").slice(0, 16));
            expect(await diff(kind, name, created.id, updated, checked.inputs)).toMatchObject({ changes: DIFF_NONE });
            states[kind] = { id: created.id, inputs: checked.inputs, stored: updated };
        }
        // Now delete runs the current code: everything goes, in the engine's order.
        for (const [kind, name] of [...kinds].reverse()) {
            await destroy(kind, name, states[kind].id, states[kind].stored);
        }
        expect(virshSync("domuuid", domainName).status).not.toBe(0);
        expect(fs.existsSync(lab.pool.path)).toBe(false);
    }, 120_000);

    test("a refusal inside the host surfaces as the gRPC error message", async () => {
        const name = lab.objectName("taken");
        const file = path.join(lab.folder, "taken.xml");
        fs.writeFileSync(
            file,
            `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory><os><type>hvm</type></os></domain>`,
        );
        virshOk("define", file);
        const inputs = { ...lab.domain(name), __provider: registered.get("domain")!.inputs.__provider };
        await expect(create("Domain", "taken", inputs)).rejects.toThrow(/refusing to touch libvirt domain/);
        expect(virshSync("dumpxml", name).stdout).not.toContain(OWNERSHIP_NAMESPACE);
        virshOk("undefine", name);
    });
});
