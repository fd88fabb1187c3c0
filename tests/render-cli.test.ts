/** `npm run render` as a user runs it: a separate process, exit codes, files written or not. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_DIR } from "./fixtures";

const RENDER = path.join(PROJECT_DIR, "scripts", "render.ts");
const TS_NODE = require.resolve("ts-node/dist/bin.js");

function render(args: string[]) {
    const result = spawnSync(process.execPath, [TS_NODE, "--transpile-only", RENDER, ...args], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        timeout: 60_000,
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

let workDir: string;
beforeEach(() => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "render-cli-"));
});
afterEach(() => {
    fs.rmSync(workDir, { recursive: true, force: true });
});

test("renders the dev stack: exit 0 and a plan.json of the documented shape", () => {
    const out = path.join(workDir, "out");
    const result = render(["--stack", "dev", "--out", out]);
    expect(result.stderr).not.toMatch(/invalid|failed/);
    expect(result.status).toBe(0);
    const plan = JSON.parse(fs.readFileSync(path.join(out, "plan.json"), "utf8"));
    expect(plan.kubernetesVersion).toBe("v1.35.2");
    expect(plan.nodes).toHaveLength(3);
    expect(Object.keys(plan.nodes[0]).sort()).toEqual(["bmcPort", "ip", "mac", "name", "role"]);
    expect(plan.nodes.map((n: { role: string }) => n.role)).toEqual(["control-plane", "worker", "spare"]);
    expect(Object.keys(plan.network).sort()).toEqual(["bridge", "dockerRange", "gateway", "subnet"]);
    expect(Object.keys(plan.vips).sort()).toEqual(["artifacts", "controlPlane", "tinkerbell"]);
    expect(Object.keys(plan.cidrs).sort()).toEqual(["pods", "services"]);
});

test("--set overrides the stack file with the same keys as pulumi config set", () => {
    const out = path.join(workDir, "out");
    const result = render(["--stack", "dev", "--out", out, "--set", "hardwareCount=5", "--set", "workers=3"]);
    expect(result.status).toBe(0);
    const plan = JSON.parse(fs.readFileSync(path.join(out, "plan.json"), "utf8"));
    expect(plan.nodes.map((n: { role: string }) => n.role)).toEqual([
        "control-plane",
        "worker",
        "worker",
        "worker",
        "spare",
    ]);
});

test("invalid config: exit 1, every problem on stderr, nothing written", () => {
    const out = path.join(workDir, "out");
    const result = render(["--out", out, "--set", "hardwareCount=0", "--set", "bootMode=pxe"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/capt-playground:hardwareCount: got "0"/);
    expect(result.stderr).toMatch(/capt-playground:bootMode: got "pxe"; allowed values: netboot, isoboot/);
    expect(fs.existsSync(out)).toBe(false);
});

test("invalid config leaves an earlier render untouched", () => {
    const out = path.join(workDir, "out");
    expect(render(["--out", out]).status).toBe(0);
    const before = fs.readFileSync(path.join(out, "plan.json"), "utf8");
    expect(render(["--out", out, "--set", "vmCpus=1"]).status).toBe(1);
    expect(fs.readFileSync(path.join(out, "plan.json"), "utf8")).toBe(before);
});

test("usage errors exit 2 without writing", () => {
    expect(render([]).status).toBe(2);
    expect(render(["--out"]).status).toBe(2);
    const bogus = render(["--out", path.join(workDir, "x"), "--frobnicate"]);
    expect(bogus.status).toBe(2);
    expect(bogus.stderr).toMatch(/unknown argument "--frobnicate"/);
    expect(fs.existsSync(path.join(workDir, "x"))).toBe(false);
});

test("a stack without a file renders the defaults and says so", () => {
    const out = path.join(workDir, "out");
    const result = render(["--stack", "scratch", "--out", out]);
    expect(result.status).toBe(0);
    expect(result.stderr).toMatch(/no Pulumi.scratch.yaml/);
    const plan = JSON.parse(fs.readFileSync(path.join(out, "plan.json"), "utf8"));
    expect(plan.nodes[0].name).toBe("capt-scratch-node1");
});

test("a mode renders its own files: mirror, operator, pivot and arm64 in one run", () => {
    const out = path.join(workDir, "out");
    const result = render([
        "--stack",
        "dev",
        "--out",
        out,
        "--set",
        "registryMirror=true",
        "--set",
        "clusterApiInstaller=operator",
        "--set",
        "pivot=true",
        "--set",
        "machineArch=aarch64",
        "--set",
        "domainType=qemu",
    ]);
    expect(result.stderr).not.toMatch(/invalid|failed/);
    expect(result.status).toBe(0);
    for (const file of [
        "registry-mirror/ghcr/config.yml",
        "registry-mirror/certs.d/ghcr.io/hosts.toml",
        "cluster-api-operator-values.yaml",
        "manifests/cluster-api-operator.yaml",
        "pivot/tinkerbell-values.yaml",
    ]) {
        expect({ file, exists: fs.existsSync(path.join(out, file)) }).toEqual({ file, exists: true });
    }
    const plan = JSON.parse(fs.readFileSync(path.join(out, "plan.json"), "utf8"));
    expect(plan.modes).toMatchObject({
        arch: "aarch64",
        clusterApiInstaller: "operator",
        registryMirror: true,
        pivot: true,
    });
    expect(fs.readFileSync(path.join(out, "domains", "capt-dev-node1.xml"), "utf8")).toMatch(/arch=.aarch64./);
});

test("a kubeconfig given on the command line is refused as plaintext, with nothing written", () => {
    const out = path.join(workDir, "out");
    const result = render(["--out", out, "--set", "managementKubeconfig=kind: Config"]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/managementKubeconfig: is stored in plaintext/);
    expect(result.stderr).not.toContain("kind: Config");
    expect(fs.existsSync(out)).toBe(false);
});

test("--help prints the usage and what render reads and writes, exit 0", () => {
    const result = render(["--help"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run --silent render -- \[--stack <name>\] --out <dir>/);
    expect(result.stdout.replace(/\s+/g, " ")).toContain(
        "only the files the earlier render recorded are replaced, and never through a symbolic link",
    );
});

test("--out / , a system directory or /proc is refused at once (exit 2), --stack outside Pulumi's rule too", () => {
    for (const out of ["/", "/proc/x"]) {
        const result = render(["--out", out]);
        expect(result.status).toBe(2);
        expect(result.stderr).toContain("never / or a system directory");
    }
    for (const stack of ["x/../../elsewhere", "two\nlines"]) {
        const result = render(["--stack", stack, "--out", path.join(workDir, "out")]);
        expect(result.status).toBe(2);
        expect(result.stderr).toContain("Pulumi's stack-name rule");
    }
    expect(fs.existsSync(path.join(workDir, "out"))).toBe(false);
});

test("a re-render into its own folder keeps a user's files planted beside and inside the rendered folders", () => {
    const out = path.join(workDir, "out");
    expect(render(["--out", out, "--set", "hardwareCount=3"]).status).toBe(0);
    const domains = fs.readdirSync(path.join(out, "domains"));
    fs.writeFileSync(path.join(out, "notes.txt"), "beside");
    fs.writeFileSync(path.join(out, "domains", "my-vm.txt"), "inside");
    expect(render(["--out", out, "--set", "hardwareCount=2"]).status).toBe(0);
    expect(fs.readFileSync(path.join(out, "notes.txt"), "utf8")).toBe("beside");
    expect(fs.readFileSync(path.join(out, "domains", "my-vm.txt"), "utf8")).toBe("inside");
    // The third machine's domain went with the render that wrote it.
    expect(fs.readdirSync(path.join(out, "domains")).length).toBe(domains.length);
    const foreign = path.join(workDir, "foreign");
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, "plan.json"), "mine");
    const refused = render(["--out", foreign]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("not empty and holds no earlier render");
    expect(fs.readFileSync(path.join(foreign, "plan.json"), "utf8")).toBe("mine");
});
