import fc from "fast-check";
import { parseImageReference } from "../../lib/bundle/image-ref";
import {
    MirrorError,
    isLoopbackHost,
    locateRepository,
    mirroredImageReference,
    mirroredUrl,
    parseMirror,
    parseMirrors,
    plainHttpAllowed,
} from "../../lib/bundler/mirror";

describe("--mirror FROM=TO", () => {
    test("a registry mirror: host, port, path prefix, scheme", () => {
        expect(parseMirror("ghcr.io=registry.example:5000")).toMatchObject({
            kind: "registry",
            from: "ghcr.io",
            scheme: "https",
            host: "registry.example:5000",
            prefix: "",
        });
        expect(parseMirror("docker.io=http://127.0.0.1:5000/hub/proxy/")).toMatchObject({
            from: "docker.io",
            scheme: "http",
            host: "127.0.0.1:5000",
            prefix: "hub/proxy",
        });
    });

    test("without a scheme: plain HTTP on loopback (as docker does), HTTPS elsewhere", () => {
        expect(parseMirror("ghcr.io=127.0.0.1:5000/ghcr.io")).toMatchObject({ scheme: "http" });
        expect(parseMirror("ghcr.io=https://localhost:5000")).toMatchObject({ scheme: "https" });
        expect(parseMirror("ghcr.io=mirror.example")).toMatchObject({ scheme: "https" });
    });

    test("Docker Hub's other names are docker.io", () => {
        expect(parseMirror("index.docker.io=m.example").from).toBe("docker.io");
        expect(parseMirror("registry-1.docker.io=m.example").from).toBe("docker.io");
    });

    test("a URL-prefix mirror, trailing slashes dropped", () => {
        expect(parseMirror("https://github.com/=http://localhost:8080/github/")).toEqual({
            kind: "url",
            from: "https://github.com",
            to: "http://localhost:8080/github",
            spec: "--mirror https://github.com/=http://localhost:8080/github/",
        });
    });

    test.each([
        ["ghcr.io", /expected FROM=TO/],
        ["=x", /expected FROM=TO/],
        ["ghcr.io=", /expected FROM=TO/],
        ["ghcr.io=http://10.1.2.3:5000", /plain http:\/\/ is accepted only/],
        ["https://github.com=http://mirror.example/gh", /plain http:\/\/ is accepted only/],
        ["https://github.com=https://user:secret@mirror.example/gh", /must not hold credentials/],
        ["https://github.com=https://mirror.example/gh?x=1", /no \?query/],
        ["https://github.com=ftp://mirror.example/gh", /http:\/\/ or https:\/\//],
        ["ghcr.io=mirror.example/UPPER", /not a repository path/],
        ["ghcr.io=mirror.example:99999", /out of range/],
        ["ghcr.io=ftp://mirror.example", /host\[:port\]\[\/path\]/],
        ["Not A Host=x", /no spaces/],
        ["ghcr.io=mirror.example/a\u0007", /no spaces or control/],
        ["bad_host!=m.example", /neither a registry host/],
    ])("refuses %j", (spec, message) => {
        expect(() => parseMirror(spec)).toThrow(MirrorError);
        expect(() => parseMirror(spec)).toThrow(message);
    });

    test("--insecure-mirror accepts plain HTTP elsewhere", () => {
        expect(parseMirror("ghcr.io=http://10.1.2.3:5000", true)).toMatchObject({
            scheme: "http",
            host: "10.1.2.3:5000",
        });
    });

    test("the same FROM twice is refused", () => {
        expect(() => parseMirrors(["ghcr.io=a.example", "ghcr.io=b.example"])).toThrow(/already has a mirror/);
        expect(() => parseMirrors(["docker.io=a.example"], ["index.docker.io=http://b.example"])).toThrow(
            /already has a mirror/,
        );
    });

    test("loopback hosts", () => {
        for (const host of ["localhost", "localhost:5000", "127.0.0.1", "127.1.2.3:80", "[::1]:5000", "[::1]"]) {
            expect(isLoopbackHost(host)).toBe(true);
        }
        for (const host of ["10.0.0.1", "127.example.com", "localhost.example", "[::2]:5000", "128.0.0.1"]) {
            expect(isLoopbackHost(host)).toBe(false);
        }
    });
});

describe("images through a registry mirror", () => {
    const mirrors = parseMirrors(["ghcr.io=127.0.0.1:5000/ghcr.io", "docker.io=hub.example"]);

    test("the mirror's name keeps the path, tag and digest", () => {
        expect(mirroredImageReference("ghcr.io/tinkerbell/tinkerbell:v0.25.0", mirrors)).toBe(
            "127.0.0.1:5000/ghcr.io/tinkerbell/tinkerbell:v0.25.0",
        );
        const digest = `sha256:${"ab".repeat(32)}`;
        expect(mirroredImageReference(`kindest/node:v1.35.0@${digest}`, mirrors)).toBe(
            `hub.example/kindest/node:v1.35.0@${digest}`,
        );
        expect(mirroredImageReference("nginx:1.29.5", mirrors)).toBe("hub.example/library/nginx:1.29.5");
        expect(mirroredImageReference("quay.io/tinkerbell/actions/kexec", mirrors)).toBe(
            "quay.io/tinkerbell/actions/kexec",
        );
        expect(mirroredImageReference("quay.io/x/y", [])).toBe("quay.io/x/y");
    });

    test("property: a mirrored reference is a valid reference naming the same path, tag and digest", () => {
        const component = fc.stringMatching(/^[a-z0-9]{1,8}$/);
        fc.assert(
            fc.property(
                fc.constantFrom("ghcr.io", "docker.io", "quay.io"),
                fc.array(component, { minLength: 1, maxLength: 3 }),
                fc.option(fc.stringMatching(/^[a-z0-9][a-z0-9.-]{0,10}$/), { nil: undefined }),
                fc.option(fc.stringMatching(/^[a-f0-9]{64}$/), { nil: undefined }),
                (registry, path, tag, hex) => {
                    const ref = `${registry}/${path.join("/")}${tag ? `:${tag}` : ""}${hex ? `@sha256:${hex}` : ""}`;
                    const original = parseImageReference(ref);
                    const mirrored = parseImageReference(mirroredImageReference(ref, mirrors));
                    const originalPath = original.repository.split("/").slice(1).join("/");
                    if (registry === "quay.io") expect(mirrored).toEqual(original);
                    else expect(mirrored.repository.endsWith(`/${originalPath}`)).toBe(true);
                    expect(mirrored.tag).toBe(original.tag);
                    expect(mirrored.digest).toBe(original.digest);
                },
            ),
        );
    });

    test("OCI charts: the mirror's host and path; Docker Hub's API host; loopback over HTTP", () => {
        expect(locateRepository("ghcr.io", "tinkerbell/charts/tinkerbell", mirrors)).toMatchObject({
            scheme: "http",
            host: "127.0.0.1:5000",
            repository: "ghcr.io/tinkerbell/charts/tinkerbell",
        });
        expect(locateRepository("docker.io", "x/y", mirrors)).toMatchObject({ scheme: "https", host: "hub.example" });
        expect(locateRepository("registry-1.docker.io", "bitnamicharts/x", [])).toEqual({
            scheme: "https",
            host: "registry-1.docker.io",
            repository: "bitnamicharts/x",
        });
        expect(locateRepository("localhost:5000", "charts/x", [])).toMatchObject({ scheme: "http" });
    });
});

describe("files through a URL-prefix mirror", () => {
    const mirrors = parseMirrors([
        "https://github.com=http://127.0.0.1:8080/github",
        "https://github.com/cert-manager=http://127.0.0.1:8080/cm",
    ]);

    test("the longest matching prefix wins, at a path boundary only", () => {
        expect(mirroredUrl("https://github.com/a/b/releases/download/v1/x.yaml", mirrors).url).toBe(
            "http://127.0.0.1:8080/github/a/b/releases/download/v1/x.yaml",
        );
        expect(mirroredUrl("https://github.com/cert-manager/cert-manager/x.yaml", mirrors).url).toBe(
            "http://127.0.0.1:8080/cm/cert-manager/x.yaml",
        );
        expect(mirroredUrl("https://github.company.example/x", mirrors)).toEqual({
            url: "https://github.company.example/x",
        });
        expect(mirroredUrl("https://helm.cilium.io/index.yaml", mirrors).mirror).toBeUndefined();
    });

    test("plain HTTP: loopback always, an --insecure-mirror host, nothing else", () => {
        const insecure = parseMirrors(
            [],
            ["https://github.com=http://mirror.example/gh", "quay.io=http://q.example:5000"],
        );
        expect(plainHttpAllowed(new URL("http://127.0.0.1:9/x"), [])).toBe(true);
        expect(plainHttpAllowed(new URL("https://anything.example/x"), [])).toBe(true);
        expect(plainHttpAllowed(new URL("http://mirror.example/gh/x"), insecure)).toBe(true);
        expect(plainHttpAllowed(new URL("http://q.example:5000/v2/"), insecure)).toBe(true);
        expect(plainHttpAllowed(new URL("http://mirror.example/gh/x"), mirrors)).toBe(false);
        expect(plainHttpAllowed(new URL("http://other.example/x"), insecure)).toBe(false);
    });
});
