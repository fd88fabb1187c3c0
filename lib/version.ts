/** Version numbers as tools print them, and their order. Pure. */

export type Version = [number, number, number];

/** The first `[v]X.Y[.Z]` in a tool's output; pre-release and build suffixes are ignored. */
export function parseVersion(text: string): Version | undefined {
    const match = /v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
    return match ? [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)] : undefined;
}

export function compareVersions(a: Version, b: Version): number {
    return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export function versionText(version: Version): string {
    return version.join(".");
}
