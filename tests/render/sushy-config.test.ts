/**
 * The Redfish emulator's config: virtual media goes into the stack's own libvirt pool, never the
 * host-wide `default` pool sushy-tools falls back to (libvirtdriver.py STORAGE_POOL).
 */
import { bmcUploads } from "../../components/virtual-bmc";
import { SUSHY_CONFIG_PATH, sushyConfig } from "../../lib/render/virtual-bmc";
import { labPlan } from "../fixtures";

test("sushy-tools uploads virtual media into the stack's pool", () => {
    const { plan } = labPlan();
    const config = sushyConfig(plan);
    expect(config).toContain(`SUSHY_EMULATOR_STORAGE_POOL = u'${plan.libvirt.poolName}'\n`);
    expect(config).not.toMatch(/'default'/);
    const upload = bmcUploads(plan, { htpasswd: "h", tlsKeyPem: "k", tlsCertPem: "c" })[0];
    expect(upload).toEqual({ file: SUSHY_CONFIG_PATH, content: config });
});

test("each stack's BMC names its own pool", () => {
    const pools = ["dev", "k8s-1-35-3"].map((stack) => labPlan({}, stack).plan.libvirt.poolName);
    expect(new Set(pools).size).toBe(2);
    for (const stack of ["dev", "k8s-1-35-3"]) {
        expect(sushyConfig(labPlan({}, stack).plan)).toContain(`u'${labPlan({}, stack).plan.libvirt.poolName}'`);
    }
});
