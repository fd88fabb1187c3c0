/**
 * The whole-program suite's search for leaked secrets: the forms a secret takes on its way out, where
 * any of them occurs, and whether the samples of command lines saw the product's own processes at
 * all. Pure, so `npm test` checks it (tests/secret-search.test.ts) without the e2e toolchain.
 */

/** base64 at one alignment: the characters fully determined by `secret` after `pad` leading bytes. */
function base64Core(secret: Buffer, pad: number, url: boolean): string {
    const encoded = Buffer.concat([Buffer.alloc(pad), secret]).toString(url ? "base64url" : "base64");
    const first = Math.ceil((pad * 8) / 6);
    const last = Math.floor(((pad + secret.length) * 8) / 6);
    return encoded.slice(first, last);
}

/**
 * The forms `secret` can take in what the suite reads: as it is, JSON-escaped (a state file, a CLI's
 * JSON output), and base64 (plain and URL-safe) at each of the three alignments it can have inside a
 * longer base64 text: a Kubernetes Secret's `data`, a docker upload's `content_base64`, a kubeconfig's
 * `*-data`. A base64 core of fewer than 12 characters would match by chance, so it is left out.
 */
export function secretForms(secret: string): string[] {
    return labelledForms(secret).map(([form]) => form);
}

/** secretForms with the kind of each form, for a finding to say how the secret was spelled. */
function labelledForms(secret: string): [string, Finding["form"]][] {
    const bytes = Buffer.from(secret);
    const forms = new Map<string, Finding["form"]>([[secret, "plain"]]);
    const escaped = JSON.stringify(secret).slice(1, -1);
    if (!forms.has(escaped)) forms.set(escaped, "JSON-escaped");
    for (const url of [false, true]) {
        for (const pad of [0, 1, 2]) {
            const core = base64Core(bytes, pad, url);
            if (core.length >= 12 && !forms.has(core)) forms.set(core, "base64");
        }
    }
    return [...forms].filter(([form]) => form.length >= 8);
}

/**
 * The lines of a PEM block (a private key, a kubeconfig's decoded key) long enough to be unique:
 * each is searched on its own, so a block re-wrapped, JSON-escaped or embedded elsewhere is still found.
 */
export function pemLines(pem: string): string[] {
    const lines = pem
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line.length >= 32 && !line.startsWith("-----"));
    // An OpenSSH key's first line is its header (format, cipher "none", key type): the same in every
    // ed25519 key, so it says nothing about this one.
    return pem.includes("-----BEGIN OPENSSH PRIVATE KEY-----") ? lines.slice(1) : lines;
}

export interface Observed {
    /** Where the text was read: a run's output, a file, `docker inspect`, an argv sample. */
    where: string;
    text: string;
}

export interface Finding {
    secret: string;
    form: "plain" | "JSON-escaped" | "base64";
    where: string;
}

/** Every place any form of any secret occurs; the form is shown only by its kind, never the secret. */
export function findSecrets(secrets: Readonly<Record<string, string>>, observed: readonly Observed[]): Finding[] {
    const findings: Finding[] = [];
    for (const [name, secret] of Object.entries(secrets)) {
        const forms = labelledForms(secret);
        for (const { where, text } of observed) {
            const found = forms.find(([form]) => text.includes(form));
            if (found) findings.push({ secret: name, form: found[1], where });
        }
    }
    return findings;
}

/**
 * The product's own processes, as their command lines show them: the Pulumi CLI running an
 * operation, its Node.js language host (the program), the five provider plugins, and the lab's
 * Command scripts. A sample of command lines that saw none of them says nothing about leaks.
 */
export const PRODUCT_PROCESSES: Readonly<Record<string, RegExp>> = {
    "the Pulumi CLI": /(^|\/)pulumi (up|preview|destroy|refresh) /,
    "the Node.js language host": /(^|\/)pulumi-language-nodejs( |$)/,
    "the command provider": /(^|\/)pulumi-resource-command( |$)/,
    "the docker provider": /(^|\/)pulumi-resource-docker( |$)/,
    "the kubernetes provider": /(^|\/)pulumi-resource-kubernetes( |$)/,
    "the random provider": /(^|\/)pulumi-resource-random( |$)/,
    "the tls provider": /(^|\/)pulumi-resource-tls( |$)/,
    "a lab script (components/scripts)": /\/bin\/bash \S*components\/scripts\/[a-z-]+\.sh/,
};

/** The product processes no sampled command line shows. */
export function productProcessesMissing(commandLines: Iterable<string>): string[] {
    const lines = [...commandLines];
    return Object.entries(PRODUCT_PROCESSES)
        .filter(([, pattern]) => !lines.some((line) => pattern.test(line)))
        .map(([name]) => name);
}
