import { findChartInIndex, parseChartReference, parseOciChartReference } from "../../lib/bundler/chart-ref";

describe("chart references", () => {
    test("an OCI chart: registry, repository, and the version as Helm tags it (+ becomes _)", () => {
        expect(parseChartReference("oci://ghcr.io/tinkerbell/charts/tinkerbell", "v0.23.1-23da0880")).toEqual({
            kind: "oci",
            registry: "ghcr.io",
            repository: "tinkerbell/charts/tinkerbell",
            tag: "v0.23.1-23da0880",
        });
        expect(parseOciChartReference("oci://127.0.0.1:5000/c/x", "1.2.3+build.4").tag).toBe("1.2.3_build.4");
    });

    test.each([
        ["oci://ghcr.io", "1.0.0"],
        ["oci://ghcr.io/Upper/x", "1.0.0"],
        ["oci://ghcr.io/a//b", "1.0.0"],
        ["oci://bad_host/a", "1.0.0"],
        ["oci://ghcr.io/a", "-1.0"],
    ])("refuses %j at %j", (ref, version) => {
        expect(() => parseOciChartReference(ref, version)).toThrow();
    });

    test("a repository chart: the repository URL and its index.yaml", () => {
        expect(parseChartReference("https://helm.cilium.io/cilium", "1.17.3")).toEqual({
            kind: "repository",
            repositoryUrl: "https://helm.cilium.io",
            indexUrl: "https://helm.cilium.io/index.yaml",
            chartName: "cilium",
            version: "1.17.3",
        });
        expect(parseChartReference("https://example.com/charts/stable/x/", "1.0.0")).toMatchObject({
            repositoryUrl: "https://example.com/charts/stable",
            chartName: "x",
        });
        expect(() => parseChartReference("https://example.com", "1.0.0")).toThrow(/repository URL/);
        expect(() => parseChartReference("ftp://example.com/x", "1.0.0")).toThrow(/oci:\/\//);
        expect(() => parseChartReference("not a url", "1.0.0")).toThrow(/not a chart reference/);
    });
});

describe("a chart in a repository's index.yaml", () => {
    const chart = parseChartReference("https://charts.example/repo/cilium", "1.17.3");
    if (chart.kind !== "repository") throw new Error("expected a repository chart");
    const digest = "ab".repeat(32);
    const index = `apiVersion: v1
entries:
  cilium:
    - version: 1.17.4
      urls: [https://elsewhere.example/cilium-1.17.4.tgz]
    - version: v1.17.3
      digest: ${digest}
      urls:
        - cilium-1.17.3.tgz
        - https://backup.example/cilium-1.17.3.tgz
`;

    test("the version's first URL, resolved against the repository, and its digest", () => {
        expect(findChartInIndex(index, chart)).toEqual({
            url: "https://charts.example/repo/cilium-1.17.3.tgz",
            sha256: digest,
        });
    });

    test("an absolute URL stays; a digest that is no SHA-256 is not used", () => {
        const other = { ...chart, version: "1.17.4" };
        expect(findChartInIndex(index, other)).toEqual({ url: "https://elsewhere.example/cilium-1.17.4.tgz" });
    });

    test("a missing version or chart is named with what the index has", () => {
        expect(() => findChartInIndex(index, { ...chart, version: "9.9.9" })).toThrow(
            /has no cilium 9.9.9 \(it has 1.17.4, v1.17.3\)/,
        );
        expect(() => findChartInIndex(index, { ...chart, chartName: "other" })).toThrow(/has no chart named other/);
        expect(() => findChartInIndex("", chart)).toThrow(/has no chart named cilium/);
        expect(() => findChartInIndex("entries:\n  cilium:\n    - version: 1.17.3\n", chart)).toThrow(
            /lists no download URL/,
        );
    });
});
