/** `npm run bench`: runs every benchmark section in turn (each prints its own section). */
import { benchEngine } from "./engine";
import { benchLibvirt } from "./libvirt";
import { benchProgramSection } from "./program";
import { benchRender } from "./render";

const SECTIONS: (() => Promise<void>)[] = [benchRender, benchLibvirt, benchEngine, benchProgramSection];

async function main(): Promise<void> {
    for (const section of SECTIONS) {
        await section();
    }
}

main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
});
