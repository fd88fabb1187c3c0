/**
 * Container image references as the lab names them, and their normal form for matching. Pure.
 *
 * The normal form follows the rules of the reference grammar every puller here applies
 * (distribution/reference `ParseNormalizedNamed` + `TagNameOnly`, which docker and containerd's CRI
 * plugin both use): a first path component without a `.` or `:` that is not `localhost` is a Docker
 * Hub repository, so `docker.io/` is put in front; a Docker Hub name of one component lives under
 * `library/`; `index.docker.io` is `docker.io`; a reference with neither tag nor digest means
 * `:latest`. So `nginx:1.29.5`, `docker.io/nginx:1.29.5` and `docker.io/library/nginx:1.29.5` are one
 * image, and a bundle that records one of them satisfies a lab that names another.
 */

/** registry[:port]/path[:tag][@sha256:<64 hex>], lowercase repository (the config's IMAGE_REF). */
const REFERENCE =
    /^(?<name>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)(?::(?<tag>[\w][\w.-]{0,127}))?(?:@(?<digest>sha256:[a-f0-9]{64}))?$/;

export interface ImageReference {
    /** `docker.io/library/nginx`, `ghcr.io/tinkerbell/tinkerbell`. */
    repository: string;
    /** The tag; `latest` when the reference names neither tag nor digest. */
    tag?: string;
    /** `sha256:<hex>` when the reference pins a manifest digest. */
    digest?: string;
}

export function isImageReference(reference: string): boolean {
    return REFERENCE.test(reference);
}

function isRegistryComponent(component: string): boolean {
    return component.includes(".") || component.includes(":") || component === "localhost";
}

/** The parts of a reference in normal form; throws for text that is no image reference. */
export function parseImageReference(reference: string): ImageReference {
    const match = REFERENCE.exec(reference);
    if (!match?.groups) {
        throw new Error(`not an image reference: ${JSON.stringify(reference)}`);
    }
    const { name, tag, digest } = match.groups;
    const components = name.split("/");
    let repository: string;
    if (components.length > 1 && isRegistryComponent(components[0])) {
        const registry = components[0] === "index.docker.io" ? "docker.io" : components[0];
        const path = components.slice(1);
        repository = [registry, ...(registry === "docker.io" && path.length === 1 ? ["library"] : []), ...path].join(
            "/",
        );
    } else {
        repository = ["docker.io", ...(components.length === 1 ? ["library"] : []), ...components].join("/");
    }
    return {
        repository,
        ...(tag !== undefined ? { tag } : digest === undefined ? { tag: "latest" } : {}),
        ...(digest !== undefined ? { digest } : {}),
    };
}

export function formatImageReference(reference: ImageReference): string {
    return `${reference.repository}${reference.tag !== undefined ? `:${reference.tag}` : ""}${
        reference.digest !== undefined ? `@${reference.digest}` : ""
    }`;
}

/** The reference in normal form: `nginx:1.29.5` -> `docker.io/library/nginx:1.29.5`. */
export function normalizeImageReference(reference: string): string {
    return formatImageReference(parseImageReference(reference));
}

/** The reference without its digest: the name a loaded image is tagged with (a load restores no digest). */
export function withoutDigest(reference: string): string {
    const at = reference.indexOf("@");
    return at < 0 ? reference : reference.slice(0, at);
}

/** The registry a reference pulls from: `docker.io`, `ghcr.io`, `myreg.lan:5000`. */
export function imageRegistry(reference: string): string {
    return parseImageReference(reference).repository.split("/")[0];
}
