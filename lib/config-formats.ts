/**
 * Formats of the user strings that reach a tool: addresses, libvirt URIs, directories, stack names,
 * object keys. Each is an allow-list (what is accepted is spelled out), never a deny-list, because
 * these strings end up in a shell environment, a path, a URI, YAML, XML or an object key. Pure.
 */

/** Dotted-quad IPv4 with decimal octets 0-255 and no leading zeros (`010` would mean 8 to some tools). */
const IPV4_OCTET = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)";
const IPV4_PATTERN = new RegExp(`^${IPV4_OCTET}(\\.${IPV4_OCTET}){3}$`);

export function isIPv4(value: string): boolean {
    return IPV4_PATTERN.test(value);
}

/** `a.b.c.d/n` with a strict address and a prefix from 0 to 32. */
export function isIPv4Cidr(value: string): boolean {
    const slash = value.indexOf("/");
    if (slash < 0) return false;
    return isIPv4(value.slice(0, slash)) && /^(3[0-2]|[12]?\d)$/.test(value.slice(slash + 1));
}

/** The address as a 32-bit number (call only with isIPv4 values). */
export function ipv4ToNumber(value: string): number {
    return value.split(".").reduce((n, octet) => n * 256 + Number(octet), 0);
}

/**
 * Object keys a user string may never become: assigning them on a plain object reaches
 * Object.prototype (or a constructor) instead of creating a key.
 */
export const FORBIDDEN_OBJECT_KEYS: readonly string[] = ["__proto__", "constructor", "prototype"];

export function isForbiddenObjectKey(key: string): boolean {
    return FORBIDDEN_OBJECT_KEYS.includes(key);
}

/** Set an own property, even for a name Object.prototype also has; refuses the forbidden keys. */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
    if (isForbiddenObjectKey(key)) {
        throw new Error(`refused object key ${JSON.stringify(key)}`);
    }
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

// ---------------------------------------------------------------------------------------------
// libvirt connection URIs

/**
 * Transports the lab supports. `qemu`/`qemu+unix` talk to the local libvirtd's socket; `qemu+ssh`,
 * `qemu+libssh` and `qemu+libssh2` tunnel to a remote one over SSH; `qemu+tls` is libvirt's own
 * encrypted transport. Refused: `ext` (libvirt runs the program named by `command=`), `tcp`
 * (unencrypted, unauthenticated by default) and every other driver (the lab defines QEMU domains).
 */
export const LIBVIRT_TRANSPORTS = ["qemu", "qemu+unix", "qemu+ssh", "qemu+libssh", "qemu+libssh2", "qemu+tls"] as const;

/**
 * Query parameters that only choose between fixed behaviours or name a key file. Refused among others:
 * `command` (the program libvirt runs for ssh/ext), `netcat` (a program run on the remote host),
 * `socket` (a path libvirt opens), `proxy`, `pkipath`, `mode`, `name`.
 */
const LIBVIRT_QUERY: Readonly<Record<string, RegExp>> = {
    no_verify: /^[01]$/,
    no_tty: /^[01]$/,
    keyfile: /^\/[A-Za-z0-9._/-]+$/,
    known_hosts: /^\/[A-Za-z0-9._/-]+$/,
    sshauth: /^(agent|privkey|password|keyboard-interactive)(,(agent|privkey|password|keyboard-interactive))*$/,
};

export const LIBVIRT_URI_ALLOWED =
    "qemu:///system (this host), or qemu+ssh://[user@]host[:port]/system (also qemu+libssh, qemu+libssh2, qemu+tls; " +
    `query parameters ${Object.keys(LIBVIRT_QUERY).join(", ")} only); ext, tcp, command=, socket= and netcat= are refused because they make libvirt run a program or open a path`;

const LIBVIRT_URI =
    /^(?<transport>[a-z0-9+]+):\/\/(?:(?<user>[A-Za-z0-9._-]{1,32})@)?(?<host>[A-Za-z0-9.-]{0,253})(?::(?<port>\d{1,5}))?\/system(?:\?(?<query>[A-Za-z0-9_=&.,/-]*))?$/;
const HOST_NAME = /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** Whether a libvirt URI is one the lab accepts: transport, host, path and query all from LIBVIRT_URI_ALLOWED. */
export function isAllowedLibvirtUri(uri: string): boolean {
    const match = LIBVIRT_URI.exec(uri);
    if (!match?.groups) return false;
    const { transport, user, host, port, query } = match.groups;
    if (!(LIBVIRT_TRANSPORTS as readonly string[]).includes(transport)) return false;
    const local = transport === "qemu" || transport === "qemu+unix";
    if (local) {
        if (user !== undefined || host !== "" || port !== undefined) {
            // qemu://host/system would be TLS to a remote host: spell it qemu+tls.
            return false;
        }
    } else {
        if (!HOST_NAME.test(host)) return false;
        if (port !== undefined && !(Number(port) >= 1 && Number(port) <= 65535)) return false;
    }
    if (query === undefined) return true;
    if (local || query === "") return false;
    const seen = new Set<string>();
    for (const pair of query.split("&")) {
        const eq = pair.indexOf("=");
        const name = eq < 0 ? pair : pair.slice(0, eq);
        const value = eq < 0 ? "" : pair.slice(eq + 1);
        const pattern = Object.hasOwn(LIBVIRT_QUERY, name) ? LIBVIRT_QUERY[name] : undefined;
        if (!pattern || seen.has(name) || !pattern.test(value) || value.split("/").includes("..")) return false;
        seen.add(name);
    }
    return true;
}

// ---------------------------------------------------------------------------------------------
// Directories the lab writes into (and removes its own files from)

/** Characters of a directory the lab accepts: no spaces, quotes, `$`, `;` or control characters. */
const PATH_CHARS = /^[A-Za-z0-9._/+@~-]+$/;

/**
 * Absolute locations a user would expect a lab's files under; each needs a folder of its own below
 * the root (`/srv/lab`, not `/srv`; `/home/ann/lab`, not a home directory itself). System directories
 * (/, /etc, /usr, /var, /boot, /proc, ...) are not in the list, so they are refused.
 */
export const USER_DIRECTORY_ROOTS: readonly string[] = [
    "/home/*",
    "/root",
    "/tmp",
    "/var/tmp",
    "/srv",
    "/opt",
    "/mnt",
    "/media",
    "/data",
];

/** libvirt's image directory: storageDir may be a folder of its own below it (the default is one). */
export const LIBVIRT_IMAGES_DIR = "/var/lib/libvirt/images";

function segments(value: string): string[] {
    return value.split("/").filter((s) => s !== "");
}

function isCleanPath(value: string): boolean {
    return PATH_CHARS.test(value) && !segments(value).some((s) => s === "." || s === "..") && !value.includes("//");
}

/** Below `root` by at least one folder. */
function isBelow(value: string, root: string): boolean {
    const v = segments(value);
    const r = segments(root);
    return v.length > r.length && r.every((s, i) => s === "*" || v[i] === s);
}

/** An absolute directory below one of the roots (or, for storage, below libvirt's image directory). */
export function isAllowedAbsoluteDir(value: string, roots: readonly string[] = USER_DIRECTORY_ROOTS): boolean {
    return value.startsWith("/") && isCleanPath(value) && roots.some((root) => isBelow(value, root));
}

/** outputDir: empty (.lab/<stack>), a folder inside the project (relative, no `..`), or an allowed absolute one. */
export function isAllowedOutputDir(value: string): boolean {
    if (value === "") return true;
    if (value.startsWith("/")) return isAllowedAbsoluteDir(value);
    return isCleanPath(value) && segments(value).length > 0 && !value.startsWith("~");
}

/** The roots as a user reads them: /home/<user>, not /home/*. */
const rootsText = (roots: readonly string[]) => roots.map((root) => root.replace("/*", "/<user>")).join(", ");

export const OUTPUT_DIR_ALLOWED =
    `empty (.lab/<stack> in the project), a folder inside the project (relative, without ..), or an absolute folder below ${rootsText(USER_DIRECTORY_ROOTS)}; ` +
    "letters, digits and . _ / + @ ~ - only";

export function isAllowedStorageDir(value: string): boolean {
    return value === "" || isAllowedAbsoluteDir(value, [LIBVIRT_IMAGES_DIR, ...USER_DIRECTORY_ROOTS]);
}

export const STORAGE_DIR_ALLOWED =
    `empty (${LIBVIRT_IMAGES_DIR}/<lab name>), or an absolute folder below ${rootsText([LIBVIRT_IMAGES_DIR, ...USER_DIRECTORY_ROOTS])}; ` +
    "letters, digits and . _ / + @ ~ - only";

/** offlineBundle: empty (the lab pulls from the internet) or an allowed absolute folder (read only). */
export function isAllowedBundleDir(value: string): boolean {
    return value === "" || isAllowedAbsoluteDir(value);
}

export const BUNDLE_DIR_ALLOWED =
    `empty (no bundle: images, charts and clusterctl's providers come from the internet), or an absolute folder below ${rootsText(USER_DIRECTORY_ROOTS)}; ` +
    "letters, digits and . _ / + @ ~ - only";

// ---------------------------------------------------------------------------------------------
// Stack names

/**
 * Pulumi's stack-name rule (tokens.ValidateStackName): 1 to 100 letters, digits, `-`, `_` or `.`;
 * and, narrower than Pulumi's, never `.` or `..` (the name becomes the output folder .lab/<stack>,
 * and `..` would make that the project itself) and never a leading `-` (the name is passed to the
 * Pulumi CLI, where `-C..` would read as a flag). The name is part of a file name
 * (Pulumi.<stack>.yaml), never a path of its own.
 */
export const STACK_NAME = /^[A-Za-z0-9_.-]{1,100}$/;
export const STACK_NAME_ALLOWED =
    "1 to 100 letters, digits, '-', '_' or '.' (Pulumi's stack-name rule), not starting with '-' and not . or ..";

export function isStackName(value: string): boolean {
    return STACK_NAME.test(value) && value !== "." && value !== ".." && !value.startsWith("-");
}

// ---------------------------------------------------------------------------------------------
// How a value is shown in an error

/**
 * A value Pulumi holds encrypted, exactly as a stack file stores one: a mapping with the single key
 * `secure` and the ciphertext as a non-empty string. A plaintext shaped like it (`{value: ...}`, a
 * one-element list, `!!binary`, a mapping with more keys) is not one.
 */
export function isEncryptedValue(value: unknown): value is { secure: string } {
    return (
        typeof value === "object" &&
        value !== null &&
        Object.getPrototypeOf(value) === Object.prototype &&
        Object.keys(value).length === 1 &&
        Object.hasOwn(value, "secure") &&
        typeof (value as { secure: unknown }).secure === "string" &&
        (value as { secure: string }).secure !== ""
    );
}

/** True for a value Pulumi holds encrypted (`{secure: ...}`) or anything that contains one. */
export function containsEncrypted(value: unknown): boolean {
    if (typeof value !== "object" || value === null) return false;
    if (!Array.isArray(value) && Object.hasOwn(value, "secure")) return true;
    return Object.values(value).some(containsEncrypted);
}

/**
 * Whether a character steers a terminal or hides text rather than shows it: C0 and C1 control
 * characters (NUL, ESC and CSI among them), DEL, Unicode's format characters (bidirectional
 * overrides, zero-width characters) and the line and paragraph separators.
 */
function isTerminalUnsafe(char: string): boolean {
    const code = char.codePointAt(0) ?? 0;
    return code < 0x20 || (code >= 0x7f && code <= 0x9f) || code === 0x2028 || code === 0x2029 || /\p{Cf}/u.test(char);
}

/** `text` with every terminal-unsafe character as a visible `\uXXXX`, so an echoed line is just text. */
export function escapeControl(text: string): string {
    let escaped = "";
    for (const char of text) {
        if (!isTerminalUnsafe(char)) {
            escaped += char;
            continue;
        }
        const code = char.codePointAt(0) ?? 0;
        escaped += code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, "0")}`;
    }
    return escaped;
}

/** A message of several lines as a terminal should show it: each line escaped, the line breaks kept. */
export function escapeLines(text: string): string {
    return text.split("\n").map(escapeControl).join("\n");
}

/** A key (a config key, a stack file key, a machine field) as an error shows it: escaped, at most 80 characters. */
export function showKey(key: string): string {
    const escaped = escapeControl(key);
    const shown =
        escaped === key && /^[\x21-\x7e]*$/.test(key) && key !== ""
            ? key
            : JSON.stringify(escaped).replace(/\\\\u/g, "\\u");
    return shown.length > 80 ? `${shown.slice(0, 77)}...` : shown;
}

/** A value as an error shows it: never ciphertext, never more than 80 characters, never `null` for a number. */
export function showValue(value: unknown): string {
    if (containsEncrypted(value)) return "[secret]";
    if (typeof value === "number" && !Number.isFinite(value)) return String(value);
    let text: string;
    try {
        text = typeof value === "string" ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value));
    } catch {
        text = String(value);
    }
    text = escapeControl(text.length > 200 ? text.slice(0, 200) : text);
    return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

// ---------------------------------------------------------------------------------------------
// Versions the lab can work with

/** vX.Y.Z without leading zeros (`v01.035.002` is no release name). */
const RELEASE = /^v(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})$/;
/** X.Y.Z, the same without the `v` (Helm chart versions, kernel versions). */
const PLAIN_RELEASE = /^(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})\.(0|[1-9]\d{0,3})$/;

export interface VersionRange {
    /** The oldest release accepted, X.Y.0 (with a leading v when the key's versions have one). */
    readonly from: string;
    /** The first minor release refused, X.Y.0. */
    readonly before: string;
    /** Why the range is what it is, for the error and the config reference. */
    readonly why: string;
}

/**
 * Supported ranges, decided as: from = the oldest minor whose APIs the lab's rendered objects use;
 * before = one minor past the newest minor the lab is tested with, so a new patch or the next minor
 * can be tried but an untested major jump (or a typo such as v9.99.99) cannot.
 */
export const VERSION_RANGES = {
    kubernetesVersion: {
        from: "v1.28.0",
        before: "v1.37.0",
        why: "the workload Kubernetes versions Cluster API v1.12 and kubeadm's v1beta3/v1beta4 config cover, up to one minor past the tested v1.35",
    },
    captVersion: {
        from: "v0.6.0",
        before: "v0.9.0",
        why: "CAPT releases for the Tinkerbell chart v0.2x API (Hardware, Template, Workflow v1alpha1), up to one minor past the tested v0.7",
    },
    clusterctlVersion: {
        from: "v1.10.0",
        before: "v1.14.0",
        why: "Cluster API releases with the v1beta1 contract CAPT v0.7 implements and idempotent clusterctl init, up to one minor past the tested v1.12",
    },
    kubeVipVersion: {
        from: "v0.7.0",
        before: "v1.3.0",
        why: "kube-vip releases whose `manifest pod` takes --k8sConfigPath, which the lab passes for Kubernetes 1.29's super-admin.conf, up to one minor past the tested v1.1",
    },
    ciliumVersion: {
        from: "1.15.0",
        before: "1.19.0",
        why: "Cilium charts whose Kubernetes compatibility covers the workload versions from v1.28, up to one minor past the tested 1.17",
    },
    captainosKernelVersion: {
        from: "6.1.0",
        before: "6.20.0",
        why: "the kernel series CaptainOS builds (its kernel.configs: 6.18.y, 6.19.y) and the Debian kernels an artifacts image built offline carries (bookworm 6.1, trixie 6.12), up to one minor past the tested 6.18",
    },
    clusterApiOperatorVersion: {
        from: "0.25.0",
        before: "0.30.0",
        why: "cluster-api-operator charts built on Cluster API v1.12 (contract v1beta2, which CAPT v0.7 needs), up to one minor past the tested 0.28",
    },
} as const satisfies Record<string, VersionRange>;

function releaseNumbers(version: string): [number, number, number] | undefined {
    const match = RELEASE.exec(version) ?? PLAIN_RELEASE.exec(version);
    return match ? [Number(match[1]), Number(match[2]), Number(match[3])] : undefined;
}

function compareReleases(a: [number, number, number], b: [number, number, number]): number {
    return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export function isRelease(value: string): boolean {
    return RELEASE.test(value);
}

/** X.Y.Z without a `v` and without leading zeros. */
export function isPlainRelease(value: string): boolean {
    return PLAIN_RELEASE.test(value);
}

/** Whether `value` is inside `range`, spelled as the range is (with or without the leading v). */
export function isInRange(value: string, range: VersionRange): boolean {
    const version = (range.from.startsWith("v") ? RELEASE : PLAIN_RELEASE).test(value)
        ? releaseNumbers(value)
        : undefined;
    return (
        version !== undefined &&
        compareReleases(version, releaseNumbers(range.from)!) >= 0 &&
        compareReleases(version, releaseNumbers(range.before)!) < 0
    );
}

export function rangeText(range: VersionRange): string {
    return `a release from ${range.from} up to (not including) ${range.before}: ${range.why}`;
}

// ---------------------------------------------------------------------------------------------
// Registries, MACs, disks

/** A registry host as image references name it: lowercase DNS name with an optional port 1-65535. */
export function isRegistryHost(value: string): boolean {
    const match = /^([a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(?::(\d{1,5}))?$/.exec(value);
    if (!match || match[1].length > 253) return false;
    return match[5] === undefined || (Number(match[5]) >= 1 && Number(match[5]) <= 65535);
}

/** A NIC's own address: unicast (the first octet's low bit clear) and not all zeros. */
export function isUnicastMac(mac: string): boolean {
    const octets = mac.split(":").map((octet) => parseInt(octet, 16));
    return octets.length === 6 && (octets[0] & 1) === 0 && octets.some((octet) => octet !== 0);
}

/** A block device under /dev, without `.` or `..` segments. */
export function isDevicePath(value: string): boolean {
    return /^\/dev\/[A-Za-z0-9/_.-]+$/.test(value) && !value.split("/").some((s) => s === "." || s === "..");
}

/** A BMC address: a DNS name, or (when it is all digits and dots) a usable IPv4 unicast address. */
export function isBmcAddress(value: string): boolean {
    if (/^[\d.]+$/.test(value)) {
        return isIPv4(value) && value !== "0.0.0.0" && value !== "255.255.255.255";
    }
    return /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/.test(
        value,
    );
}

// ---------------------------------------------------------------------------------------------
// References handed to helm and the Kubernetes provider

const URL_PATH = /^[A-Za-z0-9._~/%+-]*$/;

/**
 * A Helm chart: `oci://registry[:port]/path` (a registry host as isRegistryHost allows), or a chart
 * directory by absolute or `./` path without `.`/`..` segments and with the directory characters only.
 */
export function isChartReference(value: string): boolean {
    const oci = /^oci:\/\/([^/]+)(\/[a-z0-9._/-]+)$/.exec(value);
    if (oci) {
        return isRegistryHost(oci[1]) && !oci[2].split("/").some((s) => s === "." || s === "..");
    }
    const local = value.startsWith("./") ? value.slice(1) : value;
    return local.startsWith("/") && local.length > 1 && isCleanPath(local);
}

export const CHART_REFERENCE_ALLOWED =
    "an oci://registry/path chart URL, or a chart directory by absolute or ./ path (letters, digits, . _ / + @ ~ -; no ..)";

/** An https URL of a YAML manifest on a named host (no user info, no query). */
export function isManifestUrl(value: string): boolean {
    const match = /^https:\/\/([a-z0-9.-]+)(?::(\d{1,5}))?(\/.*\.ya?ml)$/.exec(value);
    return (
        match !== null &&
        isRegistryHost(match[1]) &&
        (match[2] === undefined || (Number(match[2]) >= 1 && Number(match[2]) <= 65535)) &&
        URL_PATH.test(match[3]) &&
        !match[3].split("/").some((s) => s === "." || s === "..")
    );
}

/** True when the text holds a control character (C0, DEL): none belongs in a config value. */
export function hasControlCharacters(text: string): boolean {
    return [...text].some((char) => {
        const code = char.charCodeAt(0);
        return code < 0x20 || code === 0x7f;
    });
}
