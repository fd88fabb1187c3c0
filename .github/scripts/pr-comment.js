/**
 * The pull request's one lab comment, kept up to date by every workflow run instead of adding a
 * comment per push. It has named sections ("object-diff" from `npm run diff`, "preview" from the
 * self-hosted `pulumi preview`); each job replaces only its own. Called from actions/github-script:
 *
 *   const { upsertComment } = require(`${process.env.GITHUB_WORKSPACE}/.github/scripts/pr-comment.js`);
 *   await upsertComment({ github, context }, { "object-diff": markdown });
 */

/** Finds the comment among the pull request's comments; never shown to a reader. */
const MARKER = "<!-- capt-playground:lab-changes -->";
const HEADER = `${MARKER}\n## Lab changes\n`;
/** Sections in the order they appear in the comment. */
const SECTIONS = ["object-diff", "preview"];
/** GitHub refuses comments longer than 65,536 characters. */
const MAX_COMMENT_CHARS = 65_000;

function start(name) {
    return `<!-- section:${name} -->`;
}

function end(name) {
    return `<!-- /section:${name} -->`;
}

/** The text of section `name` in `body`, or undefined. */
function readSection(body, name) {
    const from = body.indexOf(start(name));
    const to = body.indexOf(end(name));
    if (from < 0 || to < from) return undefined;
    return body
        .slice(from + start(name).length, to)
        .replace(/^\n/, "")
        .replace(/\n$/, "");
}

function fit(text, chars) {
    if (text.length <= chars) return text;
    const note = "\n\n_… cut to fit the comment; the full text is in the workflow run's summary._";
    for (let keep = chars - note.length; keep > 0; keep -= 100) {
        const cut = text.slice(0, keep);
        // Close any code block or collapsible section the cut left open.
        const fences = (cut.match(/^```/gm) || []).length;
        const open = (cut.match(/<details>/g) || []).length - (cut.match(/<\/details>/g) || []).length;
        const fitted = `${cut}${fences % 2 ? "\n```" : ""}${"\n</details>".repeat(Math.max(0, open))}${note}`;
        if (fitted.length <= chars) return fitted;
    }
    return note.trim().slice(0, chars);
}

/**
 * The comment body with `updates` (section name -> markdown, or null to drop a section) applied
 * to `body` (an existing comment's, or undefined for a new one). Sections not named stay as they
 * were; the result always fits in one comment.
 */
function mergeSections(body, updates) {
    const sections = {};
    for (const name of SECTIONS) {
        const current = body === undefined ? undefined : readSection(body, name);
        const next = Object.prototype.hasOwnProperty.call(updates, name) ? updates[name] : current;
        if (next !== undefined && next !== null) sections[name] = next.trim();
    }
    for (const name of Object.keys(updates)) {
        if (!SECTIONS.includes(name)) throw new Error(`unknown comment section ${JSON.stringify(name)}`);
    }
    let budget = MAX_COMMENT_CHARS - HEADER.length - 2;
    const parts = [];
    for (const name of SECTIONS) {
        if (sections[name] === undefined) continue;
        const room = budget - start(name).length - end(name).length - 4;
        const text = fit(sections[name], Math.max(0, room));
        parts.push(`${start(name)}\n${text}\n${end(name)}`);
        budget -= text.length + start(name).length + end(name).length + 4;
    }
    return `${HEADER}\n${parts.join("\n\n")}\n`;
}

/** The bot's lab comment on this pull request, if there is one. */
async function findComment(github, context) {
    const comments = await github.paginate(github.rest.issues.listComments, {
        owner: context.repo.owner,
        repo: context.repo.repo,
        issue_number: context.issue.number,
        per_page: 100,
    });
    return comments.find(
        (comment) => comment.user && comment.user.type === "Bot" && (comment.body || "").includes(MARKER),
    );
}

/** Updates the one lab comment (creating it the first time); returns what it did. */
async function upsertComment({ github, context }, updates) {
    const existing = await findComment(github, context);
    const body = mergeSections(existing ? existing.body : undefined, updates);
    if (existing) {
        await github.rest.issues.updateComment({
            owner: context.repo.owner,
            repo: context.repo.repo,
            comment_id: existing.id,
            body,
        });
        return { action: "updated", id: existing.id };
    }
    const created = await github.rest.issues.createComment({
        owner: context.repo.owner,
        repo: context.repo.repo,
        issue_number: context.issue.number,
        body,
    });
    return { action: "created", id: created.data.id };
}

module.exports = { MARKER, MAX_COMMENT_CHARS, mergeSections, readSection, upsertComment };
