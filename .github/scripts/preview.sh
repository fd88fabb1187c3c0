#!/usr/bin/env bash
# The self-hosted preview job: `pulumi preview --diff` (through `npm run preview`) for each stack
# whose files or code changed since BASE_SHA, against the lab host's real state. Writes the results
# as markdown to OUT (the "preview" section of the pull request's comment).
#
# Environment: BASE_SHA, OUT; the state backend and passphrase from the runner's environment
# (PULUMI_BACKEND_URL, PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE) or, when the
# repository sets them as secrets, from CAPT_SECRET_BACKEND_URL / CAPT_SECRET_PASSPHRASE. Optional
# CAPT_LAB_STACKS: the stacks that are deployed on this host (space-separated); by default every
# stack that already had a stack file at BASE_SHA.
set -euo pipefail
: "${BASE_SHA:?BASE_SHA is required}" "${OUT:?OUT is required}"

# Repository secrets win over the runner's environment; an unset secret arrives empty and is ignored.
if [ -n "${CAPT_SECRET_BACKEND_URL:-}" ]; then export PULUMI_BACKEND_URL="$CAPT_SECRET_BACKEND_URL"; fi
if [ -n "${CAPT_SECRET_PASSPHRASE:-}" ]; then export PULUMI_CONFIG_PASSPHRASE="$CAPT_SECRET_PASSPHRASE"; fi
unset CAPT_SECRET_BACKEND_URL CAPT_SECRET_PASSPHRASE

max_log_chars=12000
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT

echo "### \`pulumi preview --diff\` on the lab host" >"$OUT"
echo >>"$OUT"

if [ -z "${PULUMI_BACKEND_URL:-}" ]; then
    # Without the lab's backend the project's own .pulumi-state in this checkout would be used: an
    # empty state, and a preview that creates everything. Refuse instead.
    echo "No state backend: set PULUMI_BACKEND_URL in the runner's environment or as a repository secret." >>"$OUT"
    echo "::error::no state backend (PULUMI_BACKEND_URL) on the runner or in the repository secrets"
    exit 1
fi

mapfile -t changed < <(npm run --silent diff -- --base "$BASE_SHA" --changed-stacks)
if [ "${#changed[@]}" -eq 0 ]; then
    echo "No stack's files or code changed; nothing to preview." >>"$OUT"
    exit 0
fi

deployed() {
    local stack="$1"
    if [ -n "${CAPT_LAB_STACKS:-}" ]; then
        [[ " $CAPT_LAB_STACKS " == *" $stack "* ]]
    else
        git cat-file -e "$BASE_SHA:./Pulumi.$stack.yaml" 2>/dev/null
    fi
}

status=0
for stack in "${changed[@]}"; do
    if ! deployed "$stack"; then
        echo "- \`$stack\`: not deployed on the lab host; the object diff above is what it would create." >>"$OUT"
        continue
    fi
    log="$logs/$stack.log"
    echo "::group::pulumi preview --diff --stack $stack"
    if npm run --silent preview -- --stack "$stack" --non-interactive --color never 2>&1 | tee "$log"; then
        outcome="ok"
    else
        outcome="failed"
        status=1
    fi
    echo "::endgroup::"
    {
        echo "<details><summary>$stack: preview $outcome</summary>"
        echo
        # A fence of tildes: preview output has no lines that start with five of them.
        echo "~~~~~"
        if [ "$(wc -c <"$log")" -gt "$max_log_chars" ]; then
            echo "… (the start is in the workflow log)"
            tail -c "$max_log_chars" "$log"
        else
            cat "$log"
        fi
        echo "~~~~~"
        echo
        echo "</details>"
        echo
    } >>"$OUT"
done
exit "$status"
