# shellcheck shell=bash
# What clusterctl-init created in the stack's output directory, recorded so that the delete steps
# (clusterctl-clean, clusterctl-delete) remove exactly that and never a file a user put there, before
# or after, beside or inside the lab's folders.
#
# The record is $STATE_DIR/xdg/.capt-playground-owned, one path a line relative to $STATE_DIR:
# `xdg` when init created that directory, `clusterctl.yaml`, `clusterctl-init.log`, and each file
# clusterctl wrote below xdg during a run of init (the files there after the run that were not there
# before it). A run keeps its "before" listing in $STATE_DIR/xdg/.capt-playground-running until it
# has recorded what it wrote: a run killed before that (SIGKILL runs no trap) leaves the listing, and
# the next claim, init or clean records the killed run's files from it first. No link is followed: a
# symbolic link on the way to the output directory, to xdg, to the record or to any name it lists
# stops claim and remove before they write or remove anything (lib/safe-paths.sh, which the caller
# sources too). Sourced, never run; the caller defines `log`.

# The record's path for output directory $1.
owned_record() {
    printf '%s/xdg/.capt-playground-owned' "$1"
}

# The path of the "before" listing of a run that has not recorded its files yet, for output directory $1.
owned_run_listing() {
    printf '%s/xdg/.capt-playground-running' "$1"
}

# True when the record of $1 lists $2.
owned_lists() {
    [ -f "$(owned_record "$1")" ] && grep -qxF -- "$2" "$(owned_record "$1")"
}

# Appends $2 to the record of $1 once.
owned_add() {
    owned_lists "$1" "$2" || printf '%s\n' "$2" >>"$(owned_record "$1")"
}

# Makes output directory $1 ready for clusterctl-init: creates xdg and the record, or checks that an
# existing xdg, clusterctl.yaml and clusterctl-init.log are recorded as this stack's. $2 is the
# clusterctl.yaml about to be written: a lab made before the record existed left exactly that file and
# an xdg directory, which are adopted. Anything else there that the stack did not create stops init
# (exit 1) before it writes a byte.
owned_claim() {
    local dir="$1" config="$2" name
    for name in "" /xdg /xdg/.capt-playground-owned /clusterctl.yaml /clusterctl-init.log; do
        refuse_symlink_on_path "${dir}${name}" "to write clusterctl's files into ${dir}"
    done
    if [ -e "${dir}/xdg" ] && [ ! -d "${dir}/xdg" ]; then
        log "${dir}/xdg is not a directory and this stack did not create it; move it away or choose another outputDir"
        exit 1
    fi
    if [ ! -e "${dir}/xdg" ]; then
        mkdir -m 700 -- "${dir}/xdg"
        printf 'xdg\n' >"$(owned_record "$dir")"
    elif [ ! -f "$(owned_record "$dir")" ]; then
        if [ -f "${dir}/clusterctl.yaml" ] && cmp -s -- "${dir}/clusterctl.yaml" <(printf '%s' "$config"); then
            log "adopting ${dir}/xdg and clusterctl.yaml, written by an earlier version of the lab"
            printf 'xdg\nclusterctl.yaml\n' >"$(owned_record "$dir")"
            if [ -f "${dir}/clusterctl-init.log" ]; then
                owned_add "$dir" clusterctl-init.log
            fi
            owned_record_new "$dir" ""
        else
            log "${dir}/xdg exists but this stack did not create it; move it away or choose another outputDir" \
                "(the lab never writes into or removes what it did not create)"
            exit 1
        fi
    fi
    for name in clusterctl.yaml clusterctl-init.log; do
        if [ -e "${dir}/${name}" ] && ! owned_lists "$dir" "$name"; then
            log "${dir}/${name} exists but this stack did not create it; move it away or choose another outputDir"
            exit 1
        fi
        owned_add "$dir" "$name"
    done
    owned_finish_interrupted "$dir"
}

# The files and folders below $1/xdg, one path a line relative to $1, sorted (the bookkeeping excluded).
owned_xdg_files() {
    (cd -- "$1" && find xdg -mindepth 1 ! -name .capt-playground-owned ! -name .capt-playground-running \
        ! -name .capt-playground-providers-before | LC_ALL=C sort)
}

# Starts a run that writes below $1/xdg: prints the listing of now and keeps it until owned_end_run.
owned_begin_run() {
    local listing
    owned_finish_interrupted "$1"
    listing="$(owned_xdg_files "$1")"
    printf '%s\n' "$listing" >"$(owned_run_listing "$1")"
    printf '%s\n' "$listing"
}

# Ends a run begun with owned_begin_run: records what it wrote ($2: the listing it printed).
owned_end_run() {
    owned_record_new "$1" "$2"
    rm -f -- "$(owned_run_listing "$1")"
}

# Records what a run killed before owned_end_run wrote below $1/xdg, from the listing it left. A
# file put there by hand between that run and this one counts as the run's: xdg is the lab's folder.
owned_finish_interrupted() {
    local listing
    listing="$(owned_run_listing "$1")"
    if [ -f "$listing" ] && [ ! -L "$listing" ] && [ -f "$(owned_record "$1")" ]; then
        log "recording what an interrupted clusterctl init wrote below ${1}/xdg"
        owned_record_new "$1" "$(cat -- "$listing")"
        rm -f -- "$listing"
    fi
}

# Records the files below $1/xdg that are not in the listing $2 (owned_xdg_files before the run).
owned_record_new() {
    local name
    while IFS= read -r name; do
        [ -n "$name" ] && owned_add "$1" "$name"
    done < <(LC_ALL=C comm -13 <(printf '%s\n' "$2" | sed '/^$/d') <(owned_xdg_files "$1"))
}

# Removes what the record of output directory $1 lists, then the folders below xdg left empty, xdg
# itself when the stack created it and it is empty, and $1 when it is empty. Without a record nothing
# is removed. Every name is checked before the first is removed: a symbolic link on the way to any of
# them (the lab never makes one) stops the whole clean-up (exit 1) with nothing removed, so a folder
# swapped for a link never gets a file outside it deleted. Tolerant: missing files are fine, so a
# second run succeeds.
owned_remove() {
    local dir="$1" record name link names=() unsafe=()
    record="$(owned_record "$dir")"
    refuse_symlink_on_path "$record" "to remove the lab's files from ${dir}"
    owned_finish_interrupted "$dir"
    if [ ! -f "$record" ]; then
        log "no record of files this stack created in ${dir}; removing nothing there"
    else
        while IFS= read -r name; do
            case "/${name}/" in */../*) continue ;; esac
            case "$name" in
            clusterctl.yaml | clusterctl-init.log | xdg/*) names+=("$name") ;;
            esac
        done <"$record"
        for name in "${names[@]}"; do
            if link="$(symlink_on_path "${dir}/${name}")"; then
                unsafe+=("$link")
            fi
        done
        if [ "${#unsafe[@]}" -gt 0 ]; then
            log "refusing to remove the lab's files from ${dir}: $(printf '%s\n' "${unsafe[@]}" | LC_ALL=C sort -u | paste -sd ' ' -)" \
                "is a symbolic link where the lab recorded its own file or folder, and the lab never deletes through" \
                "or in place of one; nothing was removed. Remove the link (or move it away) and destroy again"
            exit 1
        fi
        for name in "${names[@]}"; do
            if [ ! -d "${dir}/${name}" ]; then
                rm -f -- "${dir}/${name}"
            fi
        done
        # Recorded folders deepest first; one still holding a user's file stays.
        while IFS= read -r name; do
            if [ -n "$name" ] && [ -d "${dir}/${name}" ] && [ ! -L "${dir}/${name}" ]; then
                rmdir -- "${dir}/${name}" 2>/dev/null || true
            fi
        done < <(printf '%s\n' "${names[@]}" | grep '^xdg/' | LC_ALL=C sort -r)
        # The lab's own bookkeeping below xdg (clusterctl-init's inventory before an unfinished run).
        rm -f -- "${dir}/xdg/.capt-playground-providers-before"
        if grep -qxF xdg "$record"; then
            rm -f -- "$record"
            rmdir -- "${dir}/xdg" 2>/dev/null || log "${dir}/xdg holds files this stack did not create; leaving it"
        else
            rm -f -- "$record"
        fi
        log "removed clusterctl's files from ${dir}"
    fi
    if rmdir -- "$dir" 2>/dev/null; then
        log "removed the empty directory ${dir}"
    fi
}
