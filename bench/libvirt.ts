/**
 * Benchmark: create and delete a 10-machine lab's libvirt objects (pool, volumes, domains)
 * through the providers, concurrently as Pulumi runs them, next to
 *   (a) the floor: the same objects with the fewest sequential bare `virsh` calls, and
 *   (b) the CAPT playground's way: a loop of `virt-install` with its flags (when installed).
 * Domains use type qemu and are not started by our providers or the floor.
 */
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { promisify } from "node:util";
import { buildDomainXml } from "../lib/libvirt/domain-xml";
import { OwnerTag, ownedUuid } from "../lib/libvirt/ownership";
import { domainProvider } from "../providers/libvirt/domain";
import { poolProvider } from "../providers/libvirt/pool";
import { volumeProvider } from "../providers/libvirt/volume";

const run = promisify(execFile);
const URI = process.env.LIBVIRT_BENCH_URI ?? "qemu:///system";
const MACHINES = 10;
const RUNS = 5;
const VIRT_INSTALL_RUNS = 3;
const DISK_GIB = 10;

interface BenchLab {
    owner: OwnerTag;
    dir: string;
    poolName: string;
    machines: { name: string; mac: string }[];
}

function newLab(tag: string, bridge: string): BenchLab & { bridge: string } {
    const token = `${tag}${process.pid}${Math.floor(Math.random() * 1e6)}`;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "capt-bench-"));
    fs.chmodSync(dir, 0o755);
    const machines = Array.from({ length: MACHINES }, (_, i) => ({
        name: `capt-bench-${token}-${i + 1}`,
        mac: `02:be:${(i + 1).toString(16).padStart(2, "0")}:${token.length.toString(16).padStart(2, "0")}:00:01`,
    }));
    return { owner: { project: "capt-bench", stack: token }, dir, poolName: `capt-bench-${token}`, machines, bridge };
}

function domainXml(
    lab: BenchLab & { bridge: string },
    machine: { name: string; mac: string },
    poolPath: string,
): string {
    return buildDomainXml({
        name: machine.name,
        uuid: ownedUuid("domain", lab.owner, machine.name),
        owner: lab.owner,
        type: "qemu",
        memoryMiB: 2048,
        vcpus: 2,
        network: { mac: machine.mac, bridge: lab.bridge },
        disk: { pool: lab.poolName, volume: `${machine.name}.qcow2`, cache: "unsafe" },
        consoleLogPath: path.join(poolPath, `${machine.name}.console.log`),
        graphics: "vnc",
    });
}

async function virsh(...args: string[]): Promise<string> {
    return (await run("virsh", ["--quiet", "-c", URI, ...args])).stdout;
}

async function timed(work: () => Promise<void>): Promise<number> {
    const start = process.hrtime.bigint();
    await work();
    return Number(process.hrtime.bigint() - start) / 1e6;
}

/** The providers, called as the engine calls them: per machine volume then domain, machines in parallel. */
async function providersRun(bridge: string): Promise<number> {
    const lab = newLab("p", bridge);
    const poolPath = path.join(lab.dir, "pool");
    const pool = { uri: URI, name: lab.poolName, path: poolPath, owner: lab.owner };
    try {
        return await timed(async () => {
            const poolOuts = (await poolProvider.create(pool)).outs!;
            const created = await Promise.all(
                lab.machines.map(async (m) => {
                    const volume = {
                        uri: URI,
                        pool: lab.poolName,
                        name: `${m.name}.qcow2`,
                        capacityGiB: DISK_GIB,
                        owner: lab.owner,
                    };
                    const volumeOuts = (await volumeProvider.create(volume)).outs!;
                    const domain = {
                        uri: URI,
                        name: m.name,
                        owner: lab.owner,
                        xml: domainXml(lab, m, poolPath),
                        running: false,
                    };
                    const domainOuts = (await domainProvider.create(domain)).outs!;
                    return { volumeOuts, domainOuts };
                }),
            );
            await Promise.all(
                created.map(async ({ volumeOuts, domainOuts }) => {
                    await domainProvider.delete!(domainOuts.name, domainOuts);
                    await volumeProvider.delete!(volumeOuts.name, volumeOuts);
                }),
            );
            await poolProvider.delete!(pool.name, poolOuts);
        });
    } finally {
        fs.rmSync(lab.dir, { recursive: true, force: true });
    }
}

/** The floor: the fewest bare virsh calls for the same objects, one after another. */
async function floorRun(bridge: string): Promise<number> {
    const lab = newLab("f", bridge);
    const poolPath = path.join(lab.dir, "pool");
    const xmls = lab.machines.map((m) => domainXml(lab, m, poolPath));
    try {
        return await timed(async () => {
            await virsh("pool-define-as", lab.poolName, "dir", "--target", poolPath);
            await virsh("pool-start", "--build", lab.poolName);
            for (const [i, m] of lab.machines.entries()) {
                await virsh("vol-create-as", lab.poolName, `${m.name}.qcow2`, `${DISK_GIB}GiB`, "--format", "qcow2");
                const file = path.join(lab.dir, `${m.name}.xml`);
                fs.writeFileSync(file, xmls[i]);
                await virsh("define", file);
            }
            for (const m of lab.machines) {
                await virsh("undefine", "--nvram", m.name);
                await virsh("vol-delete", "--pool", lab.poolName, `${m.name}.qcow2`);
            }
            await virsh("pool-destroy", lab.poolName);
            await virsh("pool-delete", lab.poolName);
            await virsh("pool-undefine", lab.poolName);
        });
    } finally {
        fs.rmSync(lab.dir, { recursive: true, force: true });
    }
}

/** The CAPT playground's create_vms.sh loop (type qemu here) and its delete task. */
async function virtInstallRun(bridge: string): Promise<number> {
    const lab = newLab("v", bridge);
    try {
        return await timed(async () => {
            for (const m of lab.machines) {
                await run("virt-install", [
                    "--description",
                    "CAPT VM",
                    "--ram",
                    "2048",
                    "--vcpus",
                    "2",
                    "--os-variant",
                    "ubuntu20.04",
                    "--graphics",
                    "vnc",
                    "--boot",
                    "uefi,firmware.feature0.name=enrolled-keys,firmware.feature0.enabled=no,firmware.feature1.name=secure-boot,firmware.feature1.enabled=yes",
                    "--noautoconsole",
                    "--noreboot",
                    "--import",
                    "--connect",
                    URI,
                    "--virt-type",
                    "qemu",
                    "--name",
                    m.name,
                    "--disk",
                    `path=${lab.dir}/${m.name}-disk.img,bus=virtio,size=${DISK_GIB},sparse=yes`,
                    "--network",
                    `bridge:${bridge},mac=${m.mac}`,
                ]);
            }
            for (const m of lab.machines) {
                await virsh("destroy", m.name).catch(() => undefined);
                await virsh("undefine", "--nvram", "--remove-all-storage", m.name);
            }
        });
    } finally {
        // virt-install defines a pool for the disk folder by itself; remove it too.
        const pool = path.basename(lab.dir);
        await virsh("pool-destroy", pool).catch(() => undefined);
        await virsh("pool-undefine", pool).catch(() => undefined);
        fs.rmSync(lab.dir, { recursive: true, force: true });
    }
}

function median(values: number[]): number {
    const sorted = [...values].sort((a, b) => a - b);
    const mid = Math.floor(sorted.length / 2);
    return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function measure(label: string, runs: number, once: () => Promise<number>): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
        times.push(await once());
    }
    return report(label, times);
}

function report(label: string, times: number[]): number {
    const m = median(times);
    const runs = times.map((t) => t.toFixed(0)).join(", ");
    console.log(`  ${label.padEnd(44)} median ${m.toFixed(0).padStart(6)} ms  (${times.length} runs: ${runs})`);
    return m;
}

function commandWorks(command: string, ...args: string[]): boolean {
    return spawnSync(command, args, { stdio: "ignore" }).status === 0;
}

/** A throwaway Linux bridge for the NICs (virt-install checks that it exists); undefined if not root. */
function withBridge<T>(use: (bridge: string | undefined) => Promise<T>): Promise<T> {
    const bridge = `ctbbench${process.pid % 100000}`.slice(0, 15);
    const created = spawnSync("ip", ["link", "add", bridge, "type", "bridge"]).status === 0;
    if (created) {
        spawnSync("ip", ["link", "set", bridge, "up"]);
    }
    return use(created ? bridge : undefined).finally(() => {
        if (created) {
            spawnSync("ip", ["link", "del", bridge]);
        }
    });
}

export async function benchLibvirt(): Promise<void> {
    const cpus = os.cpus();
    console.log(`\n== libvirt: create + delete ${MACHINES} machines (pool, qcow2 volumes, domains) ==`);
    console.log(
        `  machine: ${cpus.length} CPUs (nproc ${os.availableParallelism()}), ${cpus[0]?.model ?? "unknown model"}, ${os.platform()} ${os.release()}`,
    );
    if (!commandWorks("virsh", "-c", URI, "version")) {
        console.log(`  skipped: virsh cannot reach libvirt at ${URI}`);
        return;
    }
    const version = (await virsh("version"))
        .split("\n")
        .filter((l) => /library|hypervisor/i.test(l))
        .map((l) => l.trim());
    console.log(`  ${version.join("; ")}; URI ${URI}`);
    await withBridge(async (maybeBridge) => {
        // Defining a domain does not need its bridge to exist; virt-install does.
        const bridge = maybeBridge ?? "capt-bench-none";
        // One warm-up of each (libvirt caches capabilities, the OS caches binaries), then the two
        // alternate so a slow phase of the machine hits both alike.
        await providersRun(bridge);
        await floorRun(bridge);
        const times = { providers: [] as number[], floor: [] as number[] };
        for (let i = 0; i < RUNS; i++) {
            times.providers.push(await providersRun(bridge));
            times.floor.push(await floorRun(bridge));
        }
        const providers = report(`providers, concurrent as Pulumi runs them`, times.providers);
        const floor = report(`bare virsh, sequential (the floor)`, times.floor);
        console.log(`  providers / floor: ${(providers / floor).toFixed(2)}x (target <= 2x)`);
        if (maybeBridge === undefined) {
            console.log("  virt-install loop: skipped, creating its bridge needs root (ip link add)");
            return;
        }
        if (!commandWorks("virt-install", "--version")) {
            console.log(
                "  virt-install loop: skipped, virt-install is not installed (apt-get install virtinst to compare)",
            );
            return;
        }
        const virtInstall = await measure("virt-install loop, playground flags", VIRT_INSTALL_RUNS, () =>
            virtInstallRun(bridge),
        );
        console.log(`  virt-install loop / providers: ${(virtInstall / providers).toFixed(1)}x faster (target >= 10x)`);
        console.log(`  virt-install loop / floor: ${(virtInstall / floor).toFixed(1)}x`);
    });
}
