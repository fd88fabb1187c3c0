/**
 * Files the virtual BMC container needs: the Redfish emulator's config and its htpasswd.
 * Pure; the password arrives as a parameter and the component keeps the result secret.
 */
import { createHash } from "node:crypto";
import * as bcrypt from "bcryptjs";
import { LabConfig } from "../config";
import { LabPlan } from "../plan";

export const SUSHY_DIR = "/etc/sushy";
export const SUSHY_CONFIG_PATH = `${SUSHY_DIR}/sushy-emulator.conf`;
export const SUSHY_HTPASSWD_PATH = `${SUSHY_DIR}/htpasswd`;
export const SUSHY_KEY_PATH = `${SUSHY_DIR}/sushy.key`;
export const SUSHY_CERT_PATH = `${SUSHY_DIR}/sushy.cert`;
/** The host's libvirt socket directory, mounted so vbmc and sushy drive the host's libvirtd. */
export const LIBVIRT_SOCKET_DIR = "/var/run/libvirt";
/** Inside the container the socket is local, whatever URI the host side uses. */
export const CONTAINER_LIBVIRT_URI = "qemu:///system";
export const REDFISH_PORT = 443;

/**
 * sushy-tools reads a Python file. The 4M OVMF image is what current distributions ship.
 *
 * The loader map (keyed by boot mode, then by the domain's `<os><type arch>`) is only read when a
 * Redfish client sets BootSourceOverrideMode on a domain WITHOUT firmware auto-selection (sushy-tools
 * libvirtdriver.py, set_boot_mode -> _build_os_element_fw_manualselection, which rewrites `<loader>`
 * and `<nvram>`). The lab's domains use auto-selection (`<os firmware="efi">`): for them sushy-tools
 * >= 1.3.0 only sets `firmware` and the secure-boot `<feature>` (_build_os_element_fw_autoselection)
 * and never adds a `<loader>`, which libvirt 9.0 (Debian 12) would refuse next to auto-selection
 * (tests/e2e/daemons.test.ts step 5 checks this with the UEFI overrides bmclib sends).
 *
 * InsertMedia (Tinkerbell's isoboot BMC job) downloads the image and uploads it as a volume into the
 * libvirt pool SUSHY_EMULATOR_STORAGE_POOL names (libvirtdriver.py _upload_image). Its default,
 * `default`, is a host-wide pool the lab neither creates nor may use, so sushy gets the stack's own
 * pool; the volumes it leaves there (eject does not delete them) are removed with their domain
 * (providers/libvirt/bmc-media.ts). Pool names are libvirt object names ([A-Za-z0-9._+-]), safe in
 * a Python string literal.
 */
export function sushyConfig(plan: Pick<LabPlan, "libvirt">): string {
    return [
        "SUSHY_EMULATOR_LISTEN_IP = u'0.0.0.0'",
        `SUSHY_EMULATOR_LISTEN_PORT = ${REDFISH_PORT}`,
        "SUSHY_EMULATOR_OS_CLOUD = None",
        `SUSHY_EMULATOR_LIBVIRT_URI = u'${CONTAINER_LIBVIRT_URI}'`,
        "SUSHY_EMULATOR_IGNORE_BOOT_DEVICE = False",
        "SUSHY_EMULATOR_FEATURE_SET = u'full'",
        `SUSHY_EMULATOR_AUTH_FILE = u'${SUSHY_HTPASSWD_PATH}'`,
        `SUSHY_EMULATOR_SSL_CERT = u'${SUSHY_CERT_PATH}'`,
        `SUSHY_EMULATOR_SSL_KEY = u'${SUSHY_KEY_PATH}'`,
        "SUSHY_EMULATOR_BOOT_LOADER_MAP = {u'UEFI': {u'x86_64': u'/usr/share/OVMF/OVMF_CODE_4M.fd'}, u'Legacy': {u'x86_64': None}}",
        "SUSHY_EMULATOR_VMEDIA_DEVICES = {u'Cd': {u'Name': 'Virtual CD', u'MediaTypes': [u'CD', u'DVD']}}",
        `SUSHY_EMULATOR_STORAGE_POOL = u'${plan.libvirt.poolName}'`,
        "",
    ].join("\n");
}

/**
 * A bcrypt salt fixed per stack: the htpasswd line then only changes when the password does,
 * so `pulumi up` does not replace the BMC container on every run.
 */
export function htpasswdSalt(plan: Pick<LabPlan, "project" | "stack">): string {
    const seed = createHash("sha256").update(`${plan.project}/${plan.stack}/htpasswd`).digest();
    return `$2b$10$${bcrypt.encodeBase64(seed, 16)}`;
}

export function htpasswdLine(username: string, password: string, salt: string): string {
    return `${username}:${bcrypt.hashSync(password, salt)}\n`;
}

export function vbmcCertificateSubject(config: Pick<LabConfig, "namespace">, plan: LabPlan) {
    return { commonName: plan.vbmc.containerName, organization: `capt-playground ${plan.stack} (${config.namespace})` };
}
