import fc from "fast-check";
import {
    formatImageReference,
    imageRegistry,
    isImageReference,
    normalizeImageReference,
    parseImageReference,
    withoutDigest,
} from "../../lib/bundle/image-ref";

const DIGEST = `sha256:${"ab".repeat(32)}`;

describe("image references in normal form", () => {
    test.each([
        ["nginx:1.29.5", "docker.io/library/nginx:1.29.5"],
        ["nginx", "docker.io/library/nginx:latest"],
        ["docker.io/nginx:1.29.5", "docker.io/library/nginx:1.29.5"],
        ["index.docker.io/library/nginx:1.29.5", "docker.io/library/nginx:1.29.5"],
        ["kindest/node:v1.35.0", "docker.io/kindest/node:v1.35.0"],
        ["ghcr.io/tinkerbell/tinkerbell:v0.25.0", "ghcr.io/tinkerbell/tinkerbell:v0.25.0"],
        ["localhost/lab/img:1", "localhost/lab/img:1"],
        ["myreg.lan:5000/img", "myreg.lan:5000/img:latest"],
        [`kindest/node:v1.35.0@${DIGEST}`, `docker.io/kindest/node:v1.35.0@${DIGEST}`],
        [`quay.io/a/b@${DIGEST}`, `quay.io/a/b@${DIGEST}`],
    ])("%s -> %s", (reference, normal) => {
        expect(normalizeImageReference(reference)).toBe(normal);
    });

    test("text that is no reference is refused", () => {
        for (const bad of ["", "Nginx:1", "a b", "ghcr.io/x:", "x@sha256:12", "/abs"]) {
            expect(isImageReference(bad)).toBe(false);
            expect(() => parseImageReference(bad)).toThrow(/not an image reference/);
        }
    });

    const component = fc.stringMatching(/^[a-z0-9]{1,6}([._-][a-z0-9]{1,4})?$/);
    const reference = fc
        .record({
            registry: fc.constantFrom("", "ghcr.io/", "docker.io/", "quay.io/", "myreg.lan:5000/", "localhost/"),
            path: fc.array(component, { minLength: 1, maxLength: 3 }),
            tag: fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,10}$/), { nil: undefined }),
            digest: fc.option(fc.constant(DIGEST), { nil: undefined }),
        })
        .map(
            ({ registry, path, tag, digest }) =>
                `${registry}${path.join("/")}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`,
        );

    test("normalising is idempotent, keeps tag and digest, and always names a registry", () => {
        fc.assert(
            fc.property(reference, (ref) => {
                const normal = normalizeImageReference(ref);
                expect(normalizeImageReference(normal)).toBe(normal);
                const parsed = parseImageReference(ref);
                expect(formatImageReference(parsed)).toBe(normal);
                expect(parsed.tag !== undefined || parsed.digest !== undefined).toBe(true);
                expect(imageRegistry(ref)).toMatch(/\.|:|^localhost$/);
                expect(withoutDigest(normal)).not.toContain("@");
            }),
        );
    });
});
