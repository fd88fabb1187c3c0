/** The "next steps" lines: every path and URI in them is one shell word, whatever the folder holds. */
import { spawnSync } from "node:child_process";
import * as fc from "fast-check";
import { planLab } from "../../lib/plan";
import { nextSteps, shellWord } from "../../lib/render/next-steps";
import { labPlan } from "../fixtures";

/** What bash makes of `printf %s <word>`: the word's value after quote removal. */
function throughBash(word: string): string {
    const result = spawnSync("bash", ["-c", `printf %s ${word}`], { encoding: "utf8" });
    expect(result.status).toBe(0);
    return result.stdout;
}

describe("shellWord", () => {
    test("bash reads back exactly the text, with no expansion, for any text", () => {
        fc.assert(
            fc.property(
                fc.string({ unit: fc.constantFrom(..."ab /.;&|$`'\"\\*?~<>(){}!#-=%\t"), minLength: 1 }),
                (text) => {
                    expect(throughBash(shellWord(text))).toBe(text);
                },
            ),
            { numRuns: 60 },
        );
    });

    test("a plain path stays as it is", () => {
        expect(shellWord("/home/me/capt/.lab/dev/kind.kubeconfig")).toBe("/home/me/capt/.lab/dev/kind.kubeconfig");
        expect(shellWord("qemu+ssh://host/system")).toBe("qemu+ssh://host/system");
    });
});

test("next steps quote a project folder with spaces and shell characters", () => {
    const { config } = labPlan({});
    const projectDir = "/home/me/my labs; $(reboot)";
    const plan = planLab(config, { project: "capt-playground", stack: "dev", projectDir });
    const line = nextSteps(config, plan).find((l) => l.startsWith("Workload cluster:"))!;
    expect(line).toBe(
        `Workload cluster: KUBECONFIG='${projectDir}/.lab/dev/${plan.labName}.kubeconfig' kubectl get nodes -o wide`,
    );
});
