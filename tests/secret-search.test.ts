/** The whole-program suite's secret search (tests/e2e/secret-search.ts), checked without the e2e toolchain. */
import { findSecrets, pemLines, productProcessesMissing, secretForms } from "./e2e/secret-search";

const PASSWORD = "Bmc-Passw0rd-4711";

test("a secret inside a longer base64 text is found at every alignment, plain and URL-safe", () => {
    for (const before of ["", "a", "ab", "abc", '{"password":"']) {
        const blob = Buffer.from(`${before}${PASSWORD}","user":"admin"}`);
        for (const encoding of ["base64", "base64url"] as const) {
            const text = `data: ${blob.toString(encoding)}`;
            expect({ before, encoding, found: findSecrets({ password: PASSWORD }, [{ where: "x", text }]) }).toEqual({
                before,
                encoding,
                found: [{ secret: "password", form: "base64", where: "x" }],
            });
        }
    }
});

test("JSON-escaped and plain forms; an unrelated text finds nothing", () => {
    const quoted = 'pa"ss\\word-with-quotes';
    expect(findSecrets({ quoted }, [{ where: "state", text: JSON.stringify({ value: quoted }) }])).toEqual([
        { secret: "quoted", form: "JSON-escaped", where: "state" },
    ]);
    expect(findSecrets({ password: PASSWORD }, [{ where: "log", text: `got ${PASSWORD}` }])[0].form).toBe("plain");
    const unrelated = Buffer.from("something else entirely, of some length").toString("base64");
    expect(findSecrets({ password: PASSWORD }, [{ where: "log", text: unrelated }])).toEqual([]);
    // Every form is long enough not to match by chance.
    expect(secretForms(PASSWORD).every((form) => form.length >= 8)).toBe(true);
});

test("a PEM block is searched line by line, without its armour", () => {
    const pem = [
        "-----BEGIN PRIVATE KEY-----",
        "MC4CAQAwBQYDK2VwBCIEIO1uJ5nG3X8aVtZ5b1lY9v3Xa0a9sX5z2YdK8V6qJ2nH",
        "short",
        "-----END PRIVATE KEY-----",
    ].join("\n");
    expect(pemLines(pem)).toEqual(["MC4CAQAwBQYDK2VwBCIEIO1uJ5nG3X8aVtZ5b1lY9v3Xa0a9sX5z2YdK8V6qJ2nH"]);
    // OpenSSH's first line is the same header in every ed25519 key: not searched for.
    const openssh = [
        "-----BEGIN OPENSSH PRIVATE KEY-----",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW",
        "QyNTUxOQAAACBxV8n2k5o0dM7k2XgN3vJ1y7pQ8mZc4bT6hFq0rL9sWAAAAJgAAAAAAAAA",
        "-----END OPENSSH PRIVATE KEY-----",
    ].join("\n");
    expect(pemLines(openssh)).toEqual(["QyNTUxOQAAACBxV8n2k5o0dM7k2XgN3vJ1y7pQ8mZc4bT6hFq0rL9sWAAAAJgAAAAAAAAA"]);
});

test("the sanity check wants the product's own processes, not just many command lines", () => {
    const unrelated = Array.from({ length: 500 }, (_, i) => `/usr/sbin/sshd -D ${i}`);
    expect(productProcessesMissing(unrelated)).toHaveLength(8);
    const product = [
        "pulumi up --yes --skip-preview --stack e2e1 --non-interactive --color never",
        "/root/.cache/capt-playground-e2e/pulumi/bin/pulumi-language-nodejs 127.0.0.1:40000",
        ...["command", "docker", "kubernetes", "random", "tls"].map(
            (p) => `/root/.pulumi/plugins/resource-${p}-v1.0.0/pulumi-resource-${p} 127.0.0.1:40001`,
        ),
        "/bin/bash components/scripts/clusterctl-init.sh",
    ];
    expect(productProcessesMissing([...unrelated, ...product])).toEqual([]);
    expect(productProcessesMissing(product.slice(1))).toEqual(["the Pulumi CLI"]);
});
