/**
 * A throwaway libvirt "stack" for the provider tests: its own owner tag, bridge, folder and pool
 * name, unique per run, plus a cleanup that removes whatever a failed test may have left.
 */
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { DomainSpec, buildDomainXml } from "../../lib/libvirt/domain-xml";
import { OwnerTag, ownedUuid } from "../../lib/libvirt/ownership";
import { DomainInputs } from "../../providers/libvirt/domain";
import { PoolInputs } from "../../providers/libvirt/pool";
import { VolumeInputs } from "../../providers/libvirt/volume";
import { TEST_URI, createTestBridge, createTestFolder, uniqueToken, virshSync } from "./gate";

export interface TestLab {
    token: string;
    owner: OwnerTag;
    bridge: string;
    folder: string;
    pool: PoolInputs;
    /** Name of a test object: unique to this lab. */
    objectName(suffix: string): string;
    volume(name: string, capacityGiB?: number): VolumeInputs;
    spec(name: string, overrides?: Partial<DomainSpec>): DomainSpec;
    domain(name: string, overrides?: Partial<DomainSpec>, running?: boolean): DomainInputs;
    cleanup(): void;
}

export function randomMac(): string {
    return ["02", ...Array.from(randomBytes(5), (b) => b.toString(16).padStart(2, "0"))].join(":");
}

export function createTestLab(): TestLab {
    const token = uniqueToken(6);
    const owner = { project: "capt-playground-test", stack: `t-${token}` };
    const bridge = createTestBridge();
    const folder = createTestFolder();
    const prefix = `capt-t${token}`;
    const pool: PoolInputs = { uri: TEST_URI, name: `${prefix}-pool`, path: path.join(folder.dir, "pool"), owner };
    const lab: TestLab = {
        token,
        owner,
        bridge: bridge.name,
        folder: folder.dir,
        pool,
        objectName: (suffix) => `${prefix}-${suffix}`,
        volume: (name, capacityGiB = 1) => ({ uri: TEST_URI, pool: pool.name, name, capacityGiB, owner }),
        spec: (name, overrides = {}) => ({
            name,
            uuid: ownedUuid("domain", owner, name),
            owner,
            type: "qemu",
            memoryMiB: 512,
            vcpus: 1,
            network: { mac: randomMac(), bridge: bridge.name },
            disk: { pool: pool.name, volume: `${name}.qcow2`, cache: "unsafe" },
            consoleLogPath: path.join(pool.path, `${name}.console.log`),
            graphics: "none",
            ...overrides,
        }),
        domain: (name, overrides = {}, running = false) => {
            const spec = lab.spec(name, overrides);
            return { uri: TEST_URI, name, owner, xml: buildDomainXml(spec), domainType: spec.type, running };
        },
        cleanup: () => {
            const domains = virshSync("list", "--all", "--name").stdout.split("\n");
            for (const domain of domains.map((d) => d.trim()).filter((d) => d.startsWith(prefix))) {
                virshSync("destroy", domain);
                virshSync("undefine", "--nvram", domain);
            }
            const pools = virshSync("pool-list", "--all", "--name").stdout.split("\n");
            for (const name of pools.map((p) => p.trim()).filter((p) => p.startsWith(prefix))) {
                virshSync("pool-destroy", name);
                virshSync("pool-undefine", name);
            }
            bridge.remove();
            folder.remove();
        },
    };
    return lab;
}

export function pathExists(file: string): boolean {
    return fs.existsSync(file);
}
